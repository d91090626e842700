import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { purgeExpired } from '../../src/app/purge.js';
import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization, tableCounts } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`purge of expired rows (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;

    before(async () => {
      gatehouse = await startGatehouse(database);
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('removes expired sessions and used links, and keeps live ones', async () => {
      await setupOrganization(new BrowserClient(), gatehouse);
      const { context } = gatehouse.app;
      assert.deepEqual(await purgeExpired(context), { sessions: 0, signInAttempts: 0, samlRequests: 0, samlUsedAssertions: 0, oneTimeLinks: 0, emailCodes: 0 });
      assert.equal((await tableCounts(gatehouse)).sessions, 1);

      gatehouse.clock.advance(86_400 + 3_600 + 86_400 + 1);
      const counts = await purgeExpired(context);
      assert.equal(counts.sessions, 1);
      assert.equal(counts.oneTimeLinks, 1);
      assert.equal((await tableCounts(gatehouse)).sessions, 0);
      assert.equal((await tableCounts(gatehouse)).organizations, 1, 'nothing else is touched');
    });
  });
}
