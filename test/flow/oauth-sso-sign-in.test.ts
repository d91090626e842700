import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { addConnection, loginAtIdP, setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { authorizationURL, pkcePair, registerClient, tokenRequest, callTool } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`OAuth authorization with SSO sign-in (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let idp: RunningIdP;
    let organizationId: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      idp = await startDevIdP([`${gatehouse.url}/signin/callback`]);
      const owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse);
      const added = await addConnection(owner, gatehouse, organizationId, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, domains: 'example.com' });
      assert.equal(added.status, 201, added.body);
    });
    after(async () => {
      await idp?.stop();
      await gatehouse?.close();
    });

    it('sign-in through OIDC returns to consent', async () => {
      const redirectURI = 'http://127.0.0.1:42000/callback';
      const client = await registerClient(gatehouse, { client_name: 'SSO tool', redirect_uris: [redirectURI] });
      const pkce = pkcePair();
      const authorizeURL = authorizationURL(gatehouse, { clientId: client.client_id, redirectURI, challenge: pkce.challenge, state: 'sso' });

      const browser = new BrowserClient();
      const signInPage = await browser.follow(authorizeURL);
      assert.equal(signInPage.url, `${gatehouse.url}/signin?return_to=${encodeURIComponent(authorizeURL.slice(gatehouse.url.length))}`);

      const form = readForm(signInPage.body, '/signin');
      const loginPage = await browser.follow(new URL(form.action, gatehouse.url).href, { form: { ...form.fields, email: 'bob@example.com' } });
      assert.equal(new URL(loginPage.url).origin, idp.issuer, 'the sign-in went to the identity provider');

      const back = await loginAtIdP(browser, loginPage, { email: 'bob@example.com', password: idp.password });
      assert.equal(back.response.status, 200, back.body);
      assert.equal(back.url, authorizeURL, 'the browser came back to the authorization request');
      assert.match(back.body, /<strong id="client-name">SSO tool<\/strong> wants to act as you/);

      const consentForm = readForm(back.body, '/oauth/authorize');
      const answered = await browser.request(`${gatehouse.url}/oauth/authorize`, { form: { ...consentForm.fields, organization_id: organizationId }, headers: { origin: gatehouse.url } });
      assert.equal(answered.status, 303);
      const callback = new URL(answered.headers.get('location')!);
      assert.equal(callback.searchParams.get('state'), 'sso');

      const token = await tokenRequest(gatehouse, {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        code_verifier: pkce.verifier,
        redirect_uri: redirectURI,
        client_id: client.client_id,
      });
      assert.equal(token.status, 200, token.text);
      const whoami = await callTool(gatehouse, String(token.body.access_token), 'whoami');
      assert.match(whoami.text, /bob@example\.com/);
      assert.match(whoami.text, /engineers/);
    });
  });
}
