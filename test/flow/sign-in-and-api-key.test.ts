import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { addConnection, createKeyInUI, linkAccount, setupOrganization, signIn, whoami } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`sign-in and API keys over HTTP (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let idp: RunningIdP;

    before(async () => {
      gatehouse = await startGatehouse(database);
      idp = await startDevIdP([`${gatehouse.url}/signin/callback`]);
    });
    after(async () => {
      await idp?.stop();
      await gatehouse?.close();
    });

    it('owner flow from setup link to revoked key', async () => {
      const browser = new BrowserClient();
      const organizationId = await setupOrganization(browser, gatehouse);

      const added = await addConnection(browser, gatehouse, organizationId, {
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        domains: 'example.com',
      });
      assert.equal(added.status, 201, added.body);
      assert.match(added.body, /Connection &quot;Example IdP&quot; added/);

      const linked = await linkAccount(browser, gatehouse, idp, organizationId, 'alice@example.com');
      assert.equal(linked.response.status, 200);
      assert.match(linked.body, /Your account is linked/);

      const signOutForm = readForm(linked.body, '/signout');
      const signedOut = await browser.request(`${gatehouse.url}/signout`, { form: signOutForm.fields });
      assert.equal(signedOut.status, 303);
      assert.equal(signedOut.headers.get('location'), '/signin');
      const afterSignOut = await browser.request(`${gatehouse.url}/orgs/${organizationId}/settings`);
      assert.equal(afterSignOut.status, 303);
      assert.equal(afterSignOut.headers.get('location'), '/signin');

      const signedIn = await signIn(browser, gatehouse, idp, 'alice@example.com');
      assert.equal(signedIn.response.status, 200);
      assert.equal(signedIn.url, `${gatehouse.url}/orgs/${organizationId}/settings`);
      assert.match(signedIn.body, /<dt>Your group<\/dt><dd>Owners<\/dd>/);

      const key = await createKeyInUI(browser, gatehouse, organizationId, 'laptop');
      assert.match(key, /^gth_[0-9A-Za-z]{38}$/);

      const listed = await browser.follow(`${gatehouse.url}/orgs/${organizationId}/settings/api-keys`);
      assert.ok(!listed.body.includes(key), 'a reload does not show the key again');
      assert.equal((listed.body.match(/<tr data-key-id=/g) ?? []).length, 1, 'a reload does not create another key');
      assert.ok(listed.body.includes(`gth_…${key.slice(-4)}`), 'the list shows the hint');

      const answer = await whoami(gatehouse, key);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      const body = answer.body as { user: { email: string; id: string }; organizations: Array<Record<string, unknown>>; authentication: Record<string, unknown> };
      assert.equal(body.user.email, 'alice@example.com');
      assert.deepEqual(
        body.organizations.map((organization) => ({ id: organization.id, name: organization.name, plan: organization.plan, role: (organization.group as { role: string }).role })),
        [{ id: organizationId, name: 'Acme', plan: 'enterprise', role: 'owners' }],
      );
      assert.equal(body.authentication.method, 'api_key');
      assert.match(String(body.authentication.api_key_id), /^key_/);

      const afterUse = await browser.follow(`${gatehouse.url}/orgs/${organizationId}/settings/api-keys`);
      assert.doesNotMatch(afterUse.body, /<td>Never<\/td>/, 'the list shows a last-use time');

      const deactivateForm = readForm(afterUse.body, '/deactivate');
      const deactivated = await browser.request(`${gatehouse.url}${deactivateForm.action}`, { form: deactivateForm.fields });
      assert.equal(deactivated.status, 303);

      const rejected = await whoami(gatehouse, key);
      assert.equal(rejected.status, 401);
      assert.deepEqual(rejected.body, { error: 'invalid_token', error_description: 'The credential is invalid, expired or revoked.' });
      assert.equal(rejected.headers.get('www-authenticate'), `Bearer realm="gatehouse", error="invalid_token", resource_metadata="${gatehouse.url}/.well-known/oauth-protected-resource/v1"`);

      const logs = gatehouse.logs.join('\n');
      const session = browser.cookie(new URL(gatehouse.url).host, 'gatehouse_session')!;
      for (const [name, secret] of [['API key', key], ['client secret', idp.clientSecret], ['session cookie', session]] as const) {
        assert.ok(!logs.includes(secret), `the log does not contain the ${name}`);
      }
      assert.ok(!/token=|code=|state=/.test(logs), 'the log has no query strings of setup links or callbacks');
    });

    it('first sign-in creates an engineer', async () => {
      const browser = new BrowserClient();
      const signedIn = await signIn(browser, gatehouse, idp, 'bob@example.com');
      assert.equal(signedIn.response.status, 200);
      assert.match(signedIn.body, /<dt>Your group<\/dt><dd>Engineers<\/dd>/);

      const session = await browser.request(`${gatehouse.url}/v1/whoami`);
      assert.equal(session.status, 200);
      const sessionBody = (await session.json()) as { user: { email: string; name: string }; authentication: Record<string, unknown> };
      assert.equal(sessionBody.user.email, 'bob@example.com');
      assert.equal(sessionBody.user.name, 'Bob Example');
      assert.deepEqual(sessionBody.authentication, { method: 'session' });

      const organizationId = /\/orgs\/([^/]+)\/settings/.exec(signedIn.url)![1]!;
      const created = await browser.request(`${gatehouse.url}/v1/organizations/${organizationId}/api-keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: gatehouse.url },
        form: undefined,
      });
      assert.equal(created.status, 400, 'a body is required');

      const createdWithBody = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/api-keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: gatehouse.url, cookie: `gatehouse_session=${browser.cookie(new URL(gatehouse.url).host, 'gatehouse_session')}` },
        body: JSON.stringify({ name: 'ci' }),
      });
      assert.equal(createdWithBody.status, 201);
      const key = ((await createdWithBody.json()) as { key: string }).key;

      const duplicate = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/api-keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ name: 'ci' }),
      });
      assert.equal(duplicate.status, 409);
      assert.deepEqual(await duplicate.json(), { error: 'conflict', error_description: 'You already have an active key named "ci". Choose another name.' });
      const answer = await whoami(gatehouse, key);
      assert.equal(answer.status, 200);
      assert.equal((answer.body.user as { email: string }).email, 'bob@example.com');
    });
  });
}
