import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { purgeExpiredOAuth } from '../../src/oauth/purge.js';
import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { authorizationURL, consent, obtainTokens, pkcePair, registerClient, tokenRequest } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`OAuth purge (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('keeps live rows and removes dead ones', async () => {
      const { context } = gatehouse.app;
      const live = await obtainTokens(gatehouse, browser, organizationId);
      const rotated = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: live.refreshToken, client_id: live.clientId });
      assert.equal(rotated.status, 200);

      assert.deepEqual(await purgeExpiredOAuth(context), { oauthCodes: 0, oauthTokens: 0, oauthGrants: 0 }, 'nothing is removed while usable');

      const reuse = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: live.refreshToken, client_id: live.clientId });
      assert.equal(reuse.status, 400, 'the rotated refresh token was kept for reuse detection');
      assert.deepEqual(await purgeExpiredOAuth(context), { oauthCodes: 0, oauthTokens: 0, oauthGrants: 1 }, 'the revoked grant has no tokens left');

      const client = await registerClient(gatehouse, { redirect_uris: ['http://127.0.0.1:40000/callback'] });
      await consent(browser, authorizationURL(gatehouse, { clientId: client.client_id, redirectURI: 'http://127.0.0.1:40000/callback', challenge: pkcePair().challenge }), organizationId);
      const expiring = await obtainTokens(gatehouse, browser, organizationId);

      gatehouse.clock.advance(31 * 24 * 60 * 60);
      const counts = await purgeExpiredOAuth(context);
      assert.ok(counts.oauthCodes >= 2, `unredeemed and redeemed codes are removed (${counts.oauthCodes})`);
      assert.equal(counts.oauthTokens, 2, 'the expired access and refresh token are removed');
      assert.equal(counts.oauthGrants, 1, 'the grant without tokens is removed');

      const left = await context.store.db.selectFrom('oauth_grants').select('id').where('client_id', '=', expiring.clientId).execute();
      assert.equal(left.length, 0);
      const anyLeft = await context.store.db.selectFrom('oauth_grants').select('id').where('organization_id', '=', organizationId).execute();
      assert.equal(anyLeft.length, 0, 'Connected apps has nothing left to list');
    });
  });
}
