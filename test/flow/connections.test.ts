import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { setPlan } from '../../src/model/organizations.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { addConnection, setupOrganization, tableCounts } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';

function fieldError(body: string, field: string): string | undefined {
  return new RegExp(`<p class="error" id="field-${field}-error" role="alert">([^<]*)</p>`).exec(body)?.[1];
}

for (const database of databaseCases) {
  suite(`adding OIDC connections (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let idp: RunningIdP;
    let owner: BrowserClient;
    let organizationId: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      idp = await startDevIdP([`${gatehouse.url}/signin/callback`]);
      owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse);
    });
    after(async () => {
      await idp?.stop();
      await gatehouse?.close();
    });

    const valid = () => ({ issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, domains: 'example.com' });

    it('shows the redirect URI to register at the provider', async () => {
      const page = await owner.follow(`${gatehouse.url}/orgs/${organizationId}/settings/connections`);
      assert.match(page.body, new RegExp(`<code>${gatehouse.url}/signin/callback</code>`));
    });

    it('rejects an issuer whose discovery document cannot be read, next to the field', async () => {
      const before = await tableCounts(gatehouse);
      const answer = await addConnection(owner, gatehouse, organizationId, { ...valid(), issuer: `${idp.issuer}/wrong` });
      assert.equal(answer.status, 400);
      assert.equal(fieldError(answer.body, 'issuer'), `The discovery document at ${idp.issuer}/wrong/.well-known/openid-configuration returned HTTP 404. Check the issuer URL.`);
      assert.match(answer.body, /Enter the secret again: Gatehouse never sends it back to the browser\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('names the discovered issuer when the entered one differs', async () => {
      const before = await tableCounts(gatehouse);
      const typed = idp.issuer.replace('127.0.0.1', 'localhost');
      const answer = await addConnection(owner, gatehouse, organizationId, { ...valid(), issuer: typed });
      assert.equal(answer.status, 400);
      assert.equal(fieldError(answer.body, 'issuer'), `The discovery document at ${typed}/.well-known/openid-configuration names the issuer ${idp.issuer}. Enter exactly that issuer URL.`);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('reports an unreachable issuer', async () => {
      const answer = await addConnection(owner, gatehouse, organizationId, { ...valid(), issuer: 'http://127.0.0.1:9' });
      assert.equal(answer.status, 400);
      assert.equal(fieldError(answer.body, 'issuer'), 'Could not reach http://127.0.0.1:9/.well-known/openid-configuration (connection failed or timed out). Check the issuer URL and that Gatehouse can reach it.');
    });

    it('rejects a plain-http issuer that is not on loopback', async () => {
      const before = await tableCounts(gatehouse);
      const answer = await addConnection(owner, gatehouse, organizationId, { ...valid(), issuer: 'http://idp.example.com' });
      assert.equal(answer.status, 400);
      assert.equal(fieldError(answer.body, 'issuer'), 'The issuer URL must use https://.');
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('rejects invalid domains and scopes without openid', async () => {
      const before = await tableCounts(gatehouse);
      const badDomain = await addConnection(owner, gatehouse, organizationId, { ...valid(), domains: 'example.com, not a domain' });
      assert.equal(badDomain.status, 400);
      assert.equal(fieldError(badDomain.body, 'domains'), '&quot;not&quot; is not a valid domain name.');
      const noOpenID = await addConnection(owner, gatehouse, organizationId, { ...valid(), scopes: 'email profile' });
      assert.equal(noOpenID.status, 400);
      assert.equal(fieldError(noOpenID.body, 'scopes'), 'Scopes must be space-separated and include &quot;openid&quot;.');
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('never echoes the client secret back into the form', async () => {
      const answer = await addConnection(owner, gatehouse, organizationId, { ...valid(), domains: '' });
      assert.equal(answer.status, 400);
      assert.ok(!answer.body.includes(idp.clientSecret));
    });

    it('rejects a domain that another connection already serves', async () => {
      const first = await addConnection(owner, gatehouse, organizationId, valid());
      assert.equal(first.status, 201, first.body);
      const before = await tableCounts(gatehouse);
      const second = await addConnection(owner, gatehouse, organizationId, { ...valid(), name: 'Duplicate', domains: 'Example.COM.' });
      assert.equal(second.status, 409);
      assert.equal(fieldError(second.body, 'domains'), 'Another connection already serves example.com.');
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('refuses OIDC connections on a plan without SSO', async () => {
      await setPlan(gatehouse.app.context.store.db, organizationId, 'pro');
      try {
        const page = await owner.follow(`${gatehouse.url}/orgs/${organizationId}/settings/connections`);
        assert.match(page.body, /OIDC single sign-on needs the Enterprise plan/);
        const before = await tableCounts(gatehouse);
        const answer = await addConnection(owner, gatehouse, organizationId, { ...valid(), domains: 'pro.example' }).catch(async () => {
          // The form is not rendered on this plan, so post the fields directly with the page's CSRF token.
          const token = /name="csrf_token" value="([^"]+)"/.exec(page.body)![1]!;
          const response = await owner.request(`${gatehouse.url}/orgs/${organizationId}/settings/connections`, {
            form: { csrf_token: token, name: 'Pro', issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, scopes: 'openid', domains: 'pro.example' },
          });
          return { status: response.status, body: await response.text() };
        });
        assert.equal(answer.status, 403);
        assert.match(answer.body, /OIDC single sign-on needs the Enterprise plan/);
        assert.deepEqual(await tableCounts(gatehouse), before);
      } finally {
        await setPlan(gatehouse.app.context.store.db, organizationId, 'enterprise');
      }
    });

    it('stores the client secret encrypted', async () => {
      const rows = await gatehouse.app.context.store.db.selectFrom('oidc_connections').select('client_secret_sealed').execute();
      assert.ok(rows.length > 0);
      for (const row of rows) {
        assert.match(row.client_secret_sealed, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        assert.ok(!row.client_secret_sealed.includes(idp.clientSecret));
      }
    });

    it('keeps engineers out of connection settings', async () => {
      const engineer = new BrowserClient();
      const { signIn } = await import('../support/flows.js');
      const signedIn = await signIn(engineer, gatehouse, idp, 'bob@example.com');
      assert.match(signedIn.body, /<dd>Engineers<\/dd>/);
      assert.doesNotMatch(signedIn.body, /settings\/connections/, 'the navigation hides connections from engineers');
      const page = await engineer.request(`${gatehouse.url}/orgs/${organizationId}/settings/connections`);
      assert.equal(page.status, 403);
      assert.match(await page.text(), /Your permission group does not allow this action/);
    });

    it('refuses to link a provider identity with another email', async () => {
      const { linkAccount } = await import('../support/flows.js');
      // The owner's session in a browser without the provider's cookies, so the provider shows its login page.
      const host = new URL(gatehouse.url).host;
      const browser = new BrowserClient();
      browser.setCookie(host, 'gatehouse_session', owner.cookie(host, 'gatehouse_session')!);
      const before = await tableCounts(gatehouse);
      const answer = await linkAccount(browser, gatehouse, idp, organizationId, 'bob@example.com');
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /Your identity provider signed you in as bob@example\.com, but this account is alice@example\.com\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('shows linked connections and deletes one with its identities', async () => {
      const { linkAccount, startSignIn } = await import('../support/flows.js');
      const linked = await linkAccount(owner, gatehouse, idp, organizationId, 'alice@example.com');
      assert.match(linked.body, /<td>Linked<\/td>/);
      assert.ok((await tableCounts(gatehouse)).identities >= 1);

      const form = readForm(linked.body, '/delete');
      const deleted = await owner.request(`${gatehouse.url}${form.action}`, { form: form.fields });
      assert.equal(deleted.status, 200);
      assert.match(await deleted.text(), /Connection deleted\./);
      const counts = await tableCounts(gatehouse);
      assert.equal(counts.oidc_connections, 0);
      assert.equal(counts.sso_domains, 0);
      assert.equal(counts.identities, 0);
      assert.ok(counts.users >= 2, 'users stay');

      // Without SSO for the domain, an email code is the remaining way in.
      const answer = await startSignIn(new BrowserClient(), gatehouse, 'alice@example.com');
      assert.equal(answer.url, `${gatehouse.url}/signin/code`);
      assert.match(answer.body, /If alice@example\.com can sign in here, we sent it a 6-digit code\./);
    });
  });
}

suite('identity provider outage', databaseCases[0]!.skip, () => {
  it('shows a clear error when the provider is down at sign-in', async () => {
    const gatehouse = await startGatehouse(databaseCases[0]!);
    const idp = await startDevIdP([`${gatehouse.url}/signin/callback`]);
    try {
      const owner = new BrowserClient();
      const organizationId = await setupOrganization(owner, gatehouse);
      const added = await addConnection(owner, gatehouse, organizationId, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, domains: 'example.com' });
      assert.equal(added.status, 201);
      await idp.stop();

      const before = await tableCounts(gatehouse);
      const { startSignIn } = await import('../support/flows.js');
      const answer = await startSignIn(new BrowserClient(), gatehouse, 'alice@example.com');
      assert.equal(answer.response.status, 502);
      assert.match(answer.body, /Your identity provider could not be reached\. Try again in a few minutes\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
      assert.ok(gatehouse.logs.some((line) => line.includes('"event":"sign_in.provider_unavailable"')));
    } finally {
      await idp.stop();
      await gatehouse.close();
    }
  });
});
