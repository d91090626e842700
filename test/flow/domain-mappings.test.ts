import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { setDomainMapping } from '../../src/domains/mappings.js';
import { InvalidRequest, PlanRequired } from '../../src/http/errors.js';
import { setPlan } from '../../src/model/organizations.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { startDNSServer, type TestDNSServer } from '../support/dns-server.js';
import { addConnection, linkAccount, setupOrganization, signIn, tableCounts } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`domain mappings (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let idp: RunningIdP;
    let dns: TestDNSServer;
    let owner: BrowserClient;
    let organizationId: string;

    before(async () => {
      dns = await startDNSServer();
      gatehouse = await startGatehouse(database, { dnsServers: [dns.address] });
      idp = await startDevIdP([`${gatehouse.url}/signin/callback`]);
      owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse);
      const added = await addConnection(owner, gatehouse, organizationId, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, domains: 'example.com' });
      assert.equal(added.status, 201);
      await linkAccount(owner, gatehouse, idp, organizationId, 'alice@example.com');
    });
    after(async () => {
      await idp?.stop();
      await gatehouse?.close();
      await dns?.stop();
    });

    it('rejects a mapping for a domain that is not verified', async () => {
      await assert.rejects(
        setDomainMapping(gatehouse.app.context, organizationId, 'example.com', 'viewers'),
        (error: unknown) => error instanceof InvalidRequest && error.description === 'example.com is not verified for this organization. Verify it before mapping it.',
      );
    });

    it('mapped domain sets the new member group', async () => {
      const path = `/orgs/${organizationId}/settings/domains`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      const claimed = await owner.request(`${gatehouse.url}${path}`, { form: { ...readForm(page.body, path).fields, domain: 'example.com' } });
      const body = await claimed.text();
      dns.txt.set('_gatehouse-challenge.example.com', [/Value <code>(gatehouse-domain-verification=[^<]+)<\/code>/.exec(body)![1]!]);
      const verify = readForm(body, '/verify');
      assert.match(await (await owner.request(`${gatehouse.url}${verify.action}`, { form: verify.fields })).text(), /example\.com is verified/);

      const withMapping = await owner.follow(`${gatehouse.url}${path}`);
      const mappingForm = readForm(withMapping.body, '/mapping');
      const saved = await owner.request(`${gatehouse.url}${mappingForm.action}`, { form: { ...mappingForm.fields, role: 'viewers' } });
      assert.match(await saved.text(), /New members from example\.com join Viewers\./);

      const bob = new BrowserClient();
      const signedIn = await signIn(bob, gatehouse, idp, 'bob@example.com');
      assert.match(signedIn.body, /<dt>Your group<\/dt><dd>Viewers<\/dd>/);
      const joins = await gatehouse.app.context.store.db.selectFrom('membership_joins').innerJoin('users', 'users.id', 'membership_joins.user_id').select(['users.email', 'membership_joins.mapping_domain']).execute();
      assert.deepEqual(joins, [{ email: 'bob@example.com', mapping_domain: 'example.com' }]);

      const aliceAgain = await signIn(new BrowserClient(), gatehouse, idp, 'alice@example.com');
      assert.match(aliceAgain.body, /<dt>Your group<\/dt><dd>Owners<\/dd>/, 'existing members keep their group');
    });

    it('refuses mappings on a plan without them, and stops applying them', async () => {
      await setPlan(gatehouse.app.context.store.db, organizationId, 'pro');
      try {
        const before = await tableCounts(gatehouse);
        await assert.rejects(setDomainMapping(gatehouse.app.context, organizationId, 'example.com', 'owners'), PlanRequired);
        assert.deepEqual(await tableCounts(gatehouse), before);
        const page = await owner.follow(`${gatehouse.url}/orgs/${organizationId}/settings/domains`);
        assert.match(page.body, /Domain mappings need the Enterprise plan\./);
      } finally {
        await setPlan(gatehouse.app.context.store.db, organizationId, 'enterprise');
      }
    });
  });
}
