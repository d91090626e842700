import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { addMembership } from '../../src/model/memberships.js';
import { builtinGroupId, setPlan } from '../../src/model/organizations.js';
import { createUser } from '../../src/model/users.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { startDNSServer, type TestDNSServer } from '../support/dns-server.js';
import { addConnection, linkAccount, setupOrganization, signIn, signInWithGoogle, tableCounts, useGoogleProvider, verifyDomainInUI } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`SSO enforcement (${database.name})`, database.skip, () => {
    let dns: TestDNSServer;
    let gatehouse: TestGatehouse;
    let sso: RunningIdP;
    let google: RunningIdP;
    let setupBrowser: BrowserClient;
    let organizationId: string;

    before(async () => {
      dns = await startDNSServer();
      gatehouse = await startGatehouse(database, { dnsServers: [dns.address] });
      sso = await startDevIdP([`${gatehouse.url}/signin/callback`]);
      google = await startDevIdP([`${gatehouse.url}/signin/google/callback`], { google: true });
      useGoogleProvider(gatehouse, google);
      setupBrowser = new BrowserClient();
      organizationId = await setupOrganization(setupBrowser, gatehouse);
      await setPlan(gatehouse.app.context.store.db, organizationId, 'enterprise');
      const added = await addConnection(setupBrowser, gatehouse, organizationId, { issuer: sso.issuer, clientId: sso.clientId, clientSecret: sso.clientSecret, domains: 'example.com' });
      assert.equal(added.status, 201);
      await linkAccount(setupBrowser, gatehouse, sso, organizationId, 'alice@example.com');
    });
    after(async () => {
      await google?.stop();
      await sso?.stop();
      await gatehouse?.close();
      await dns?.stop();
    });

    const path = () => `/orgs/${organizationId}/settings/domains`;
    const setRequireSSO = async (browser: BrowserClient, enabled: '0' | '1') => {
      const page = await browser.follow(`${gatehouse.url}${path()}`);
      const form = readForm(page.body, '/require-sso');
      return browser.follow(`${gatehouse.url}${form.action}`, { form: { ...form.fields, enabled } });
    };
    const requireSSOFlag = async () =>
      (await gatehouse.app.context.store.db.selectFrom('organizations').select('require_sso').where('id', '=', organizationId).executeTakeFirstOrThrow()).require_sso;

    it('requires a served verified domain', async () => {
      const answer = await setRequireSSO(setupBrowser, '1');
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /Before requiring SSO, verify a domain and add an SSO connection that serves it\./);
      assert.equal(await requireSSOFlag(), 0);
    });

    it('owner without SSO session rejected', async () => {
      await verifyDomainInUI(setupBrowser, gatehouse, dns, organizationId, 'example.com');
      const before = await tableCounts(gatehouse);
      const answer = await setRequireSSO(setupBrowser, '1');
      assert.equal(answer.response.status, 409);
      assert.match(answer.body, /Sign in through your organization’s SSO first\./);
      assert.equal(await requireSSOFlag(), 0);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('enabling ends non-SSO sessions', async () => {
      const viaGoogle = new BrowserClient();
      assert.equal((await signInWithGoogle(viaGoogle, gatehouse, google, 'alice@example.com')).response.status, 200);
      const viaSSO = new BrowserClient();
      assert.equal((await signIn(viaSSO, gatehouse, sso, 'alice@example.com')).response.status, 200);

      const answer = await setRequireSSO(viaSSO, '1');
      assert.equal(answer.response.status, 200);
      // The setup-link session and the Google session end; the SSO session stays.
      assert.match(answer.body, /SSO is now required\. 2 sessions that did not come through SSO ended\./);
      assert.equal(await requireSSOFlag(), 1);
      const methods = await gatehouse.app.context.store.db.selectFrom('sessions').select('method').execute();
      assert.deepEqual(methods.map((row) => row.method), ['oidc']);

      const ended = await viaGoogle.follow(`${gatehouse.url}${path()}`);
      assert.equal(ended.url, `${gatehouse.url}/signin`);
    });

    it('Google sign-in redirected to SSO', async () => {
      const before = await tableCounts(gatehouse);
      const browser = new BrowserClient();
      const page = await browser.follow(`${gatehouse.url}/signin`);
      const form = readForm(page.body, '/signin/google');
      const google1 = await browser.follow(`${gatehouse.url}${form.action}`, { form: form.fields });
      const login = readForm(google1.body, '/login');
      const landed = await browser.follow(new URL(login.action, google1.url).href, { form: { ...login.fields, email: 'alice@example.com', password: google.password } });
      assert.equal(new URL(landed.url).origin, sso.issuer, 'ends at the SSO provider’s login page');
      assert.match(landed.body, /Development identity provider/);
      assert.deepEqual(await tableCounts(gatehouse), before);
      assert.ok(gatehouse.logs.some((line) => line.includes('"event":"sign_in.sso_required"')));
    });

    it('SSO links member in verified domain', async () => {
      const db = gatehouse.app.context.store.db;
      const now = new Date();
      const bob = await createUser(db, { email: 'bob@example.com', name: 'Bob Example', now });
      await addMembership(db, { organizationId, userId: bob.id, groupId: await builtinGroupId(db, organizationId, 'engineers'), now });

      const page = await signIn(new BrowserClient(), gatehouse, sso, 'bob@example.com');
      assert.equal(page.url, `${gatehouse.url}/orgs/${organizationId}/settings`);
      const identities = await db.selectFrom('identities').select('user_id').where('user_id', '=', bob.id).execute();
      assert.deepEqual(identities, [{ user_id: bob.id }]);
      assert.ok(gatehouse.logs.some((line) => line.includes('"reason":"verified_domain"')));
    });

    it('turning off restores Google sign-in', async () => {
      const viaSSO = new BrowserClient();
      assert.equal((await signIn(viaSSO, gatehouse, sso, 'alice@example.com')).response.status, 200);
      const answer = await setRequireSSO(viaSSO, '0');
      assert.match(answer.body, /SSO is no longer required\./);
      assert.equal(await requireSSOFlag(), 0);
      const viaGoogle = await signInWithGoogle(new BrowserClient(), gatehouse, google, 'alice@example.com');
      assert.equal(viaGoogle.url, `${gatehouse.url}/orgs/${organizationId}/settings`);
    });
  });
}
