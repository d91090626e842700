import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { callTool, obtainTokens, signInAsNewMember, tokenRequest } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`Settings → Connected apps (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    let path: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
      path = `/orgs/${organizationId}/settings/connected-apps`;
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('lists an authorized app with last use and revokes it', async () => {
      const empty = await browser.follow(`${gatehouse.url}${path}`);
      assert.equal(empty.response.status, 200);
      assert.match(empty.body, /You have not connected any applications to this organization/);
      assert.match(empty.body, /<a href="\/orgs\/[^"]+\/settings\/connected-apps">Connected apps<\/a>/);

      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const before = await browser.follow(`${gatehouse.url}${path}`);
      assert.match(before.body, new RegExp(`<tr data-client-id="${tokens.clientId}">`));
      assert.match(before.body, /<strong>Test tool<\/strong>/);
      assert.match(before.body, /Registered itself/);
      assert.match(before.body, /<td>Never<\/td>/);

      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 200);
      const used = await browser.follow(`${gatehouse.url}${path}`);
      assert.doesNotMatch(used.body, /<td>Never<\/td>/, 'the list shows a last-use time');

      const form = readForm(used.body, '/connected-apps/revoke');
      assert.equal(form.fields.client_id, tokens.clientId);
      const revoked = await browser.request(`${gatehouse.url}${form.action}`, { form: form.fields, headers: { origin: gatehouse.url } });
      assert.equal(revoked.status, 303);
      assert.equal(revoked.headers.get('location'), path);

      const answer = await callTool(gatehouse, tokens.accessToken, 'whoami');
      assert.equal(answer.status, 401, 'the access token stopped at once');
      const refresh = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
      assert.equal(refresh.status, 400);
      assert.equal(refresh.body.error, 'invalid_grant');

      const after = await browser.follow(`${gatehouse.url}${path}`);
      assert.match(after.body, /You have not connected any applications to this organization/);
    });

    it('shows only the signed-in user’s apps', async () => {
      const member = await signInAsNewMember(gatehouse, organizationId, `grace-${database.name}@example.com`, 'engineers');
      const tokens = await obtainTokens(gatehouse, member.browser, organizationId);

      const ownerView = await browser.follow(`${gatehouse.url}${path}`);
      assert.doesNotMatch(ownerView.body, new RegExp(tokens.clientId));

      const form = readForm((await browser.follow(`${gatehouse.url}/orgs/${organizationId}/settings/api-keys`)).body, '/settings/api-keys');
      const foreign = await browser.request(`${gatehouse.url}${path}/revoke`, { form: { csrf_token: form.fields.csrf_token!, client_id: tokens.clientId }, headers: { origin: gatehouse.url } });
      assert.equal(foreign.status, 404);
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 200, 'another user cannot revoke it');
    });

    it('revocation without CSRF token is rejected', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const answer = await browser.request(`${gatehouse.url}${path}/revoke`, { form: { csrf_token: '0'.repeat(64), client_id: tokens.clientId }, headers: { origin: gatehouse.url } });
      assert.equal(answer.status, 403);
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 200);
    });
  });
}
