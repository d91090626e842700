import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { createOrganization } from '../../src/model/organizations.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { authorizationURL, callTool, consent, pkcePair, signInAsNewMember, tokenRequest } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`Settings → OAuth clients (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    let path: string;
    const redirectURI = 'https://tool.example/callback';

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
      path = `/orgs/${organizationId}/settings/oauth-clients`;
    });
    after(async () => {
      await gatehouse?.close();
    });

    /** Registers a client through the settings form and returns the id and secret shown once. */
    async function preregister(fields: Record<string, string>): Promise<{ clientId: string; secret: string | undefined }> {
      const page = await browser.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, path);
      const created = await browser.request(`${gatehouse.url}${path}`, { form: { ...form.fields, ...fields }, headers: { origin: gatehouse.url } });
      assert.equal(created.status, 303, await created.text());
      assert.equal(created.headers.get('location'), path);
      const shown = await browser.request(`${gatehouse.url}${path}`);
      const body = await shown.text();
      assert.equal(shown.status, 200, body);
      const clientId = /<code id="new-client-id">([^<]+)<\/code>/.exec(body)?.[1];
      assert.ok(clientId, 'the page shows the new client id');
      const secret = /<code class="secret" id="new-client-secret">([^<]+)<\/code>/.exec(body)?.[1];
      return { clientId, secret };
    }

    it('confidential client is shown once and completes the flow', async () => {
      const client = await preregister({ client_name: 'Internal tool', redirect_uris: `${redirectURI}\nhttp://127.0.0.1/cb`, token_endpoint_auth_method: 'client_secret_basic' });
      assert.match(client.clientId, /^ghc_/);
      assert.match(client.secret ?? '', /^ghs_/);

      const reload = await browser.follow(`${gatehouse.url}${path}`);
      assert.ok(!reload.body.includes(client.secret!), 'a reload does not show the secret again');
      assert.match(reload.body, new RegExp(`<tr data-client-id="${client.clientId}">`));
      assert.match(reload.body, /Confidential, secret in HTTP Basic/);

      const pkce = pkcePair();
      const authorizeURL = authorizationURL(gatehouse, { clientId: client.clientId, redirectURI, challenge: pkce.challenge });
      const consentPage = await browser.follow(authorizeURL);
      assert.match(consentPage.body, /An owner of your organization registered this application/);
      assert.doesNotMatch(consentPage.body, /id="consent-warnings"/);

      const callback = await consent(browser, authorizeURL, organizationId);
      const token = await tokenRequest(
        gatehouse,
        { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, code_verifier: pkce.verifier, redirect_uri: redirectURI },
        { authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret}`).toString('base64')}` },
      );
      assert.equal(token.status, 200, token.text);
      assert.equal((await callTool(gatehouse, String(token.body.access_token), 'whoami')).status, 200);

      const deleteForm = readForm(reload.body, `${client.clientId}/delete`);
      const deleted = await browser.request(`${gatehouse.url}${deleteForm.action}`, { form: deleteForm.fields, headers: { origin: gatehouse.url } });
      assert.equal(deleted.status, 303);
      assert.equal((await callTool(gatehouse, String(token.body.access_token), 'whoami')).status, 401, 'deleting the client ends its tokens');
      const after = await browser.follow(`${gatehouse.url}${path}`);
      assert.doesNotMatch(after.body, new RegExp(client.clientId));
    });

    it('invalid redirect URI is shown and nothing stored', async () => {
      const page = await browser.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, path);
      const answer = await browser.request(`${gatehouse.url}${path}`, {
        form: { ...form.fields, client_name: 'Bad tool', redirect_uris: 'javascript:alert(1)', token_endpoint_auth_method: 'none' },
        headers: { origin: gatehouse.url },
      });
      const body = await answer.text();
      assert.equal(answer.status, 400);
      assert.match(body, /uses the scheme javascript:, which is not allowed/);
      const rows = await gatehouse.app.context.store.db.selectFrom('oauth_clients').select('client_id').where('client_name', '=', 'Bad tool').execute();
      assert.equal(rows.length, 0);
    });

    it('engineers cannot manage clients', async () => {
      const member = await signInAsNewMember(gatehouse, organizationId, `hank-${database.name}@example.com`, 'engineers');
      const answer = await member.browser.request(`${gatehouse.url}${path}`);
      assert.equal(answer.status, 403);
    });

    it('members of other organizations cannot authorize it', async () => {
      const client = await preregister({ client_name: 'Acme only', redirect_uris: redirectURI, token_endpoint_auth_method: 'none' });
      const { db } = gatehouse.app.context.store;
      const { organization } = await createOrganization(db, { name: 'Other Org', plan: 'free', now: gatehouse.clock.now() });
      const outsider = await signInAsNewMember(gatehouse, organization.id, `ivy-${database.name}@example.com`, 'owners');

      const authorizeURL = authorizationURL(gatehouse, { clientId: client.clientId, redirectURI, challenge: pkcePair().challenge });
      const page = await outsider.browser.request(authorizeURL);
      const body = await page.text();
      assert.equal(page.status, 403);
      assert.match(body, /registered for an organization you are not a member of/);

      // The outsider's own CSRF token (from the sign-out form), so that only the organization check can reject the post.
      const outsiderToken = readForm(body, '/signout').fields.csrf_token!;
      const form = readForm((await browser.follow(authorizeURL)).body, '/oauth/authorize');
      const forged = await outsider.browser.request(`${gatehouse.url}/oauth/authorize`, {
        form: { ...form.fields, csrf_token: outsiderToken, organization_id: organization.id },
        headers: { origin: gatehouse.url },
      });
      assert.equal(forged.status, 403, 'the consent post is rejected too');
      assert.equal(forged.headers.get('location'), null);
      assert.ok(gatehouse.logs.some((line) => line.includes('consent for an organization the user is not in or the client is not registered for')));
    });
  });
}
