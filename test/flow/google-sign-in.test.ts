import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { setPlan } from '../../src/model/organizations.js';
import { createOneTimeLink } from '../../src/setup/one-time-links.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { startDNSServer, type TestDNSServer } from '../support/dns-server.js';
import { mapDomainInUI, setupOrganization, signInWithGoogle, tableCounts, useGoogleProvider, verifyDomainInUI } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`Google sign-in (${database.name})`, database.skip, () => {
    let dns: TestDNSServer;
    let gatehouse: TestGatehouse;
    let google: RunningIdP;
    let owner: BrowserClient;
    let organizationId: string;

    before(async () => {
      dns = await startDNSServer();
      gatehouse = await startGatehouse(database, { dnsServers: [dns.address] });
      google = await startDevIdP([`${gatehouse.url}/signin/google/callback`], { google: true });
      owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse);
    });
    after(async () => {
      await google?.stop();
      await gatehouse?.close();
      await dns?.stop();
    });

    it('Google button only when configured', async () => {
      const without = await new BrowserClient().follow(`${gatehouse.url}/signin`);
      assert.doesNotMatch(without.body, /Continue with Google/);
      useGoogleProvider(gatehouse, google);
      const withGoogle = await new BrowserClient().follow(`${gatehouse.url}/signin`);
      assert.match(withGoogle.body, /<form method="post" action="\/signin\/google">/);
    });

    it('Workspace member signs in, hd recorded', async () => {
      const browser = new BrowserClient();
      const page = await signInWithGoogle(browser, gatehouse, google, 'alice@example.com');
      assert.equal(page.response.status, 200, page.body);
      assert.equal(page.url, `${gatehouse.url}/orgs/${organizationId}/settings`);

      const db = gatehouse.app.context.store.db;
      const identities = await db.selectFrom('google_identities').select(['subject', 'email', 'hosted_domain']).execute();
      assert.deepEqual(identities, [{ subject: '108000000000000000001', email: 'alice@example.com', hosted_domain: 'example.com' }]);
      const sessions = await db.selectFrom('sessions').select('method').where('method', '=', 'google').execute();
      assert.equal(sessions.length, 1);
    });

    it('return_to local path only', async () => {
      const back = await signInWithGoogle(new BrowserClient(), gatehouse, google, 'alice@example.com', `/signin?return_to=${encodeURIComponent(`/orgs/${organizationId}/settings/api-keys`)}`);
      assert.equal(back.url, `${gatehouse.url}/orgs/${organizationId}/settings/api-keys`);

      const elsewhere = await signInWithGoogle(new BrowserClient(), gatehouse, google, 'alice@example.com', `/signin?return_to=${encodeURIComponent('//evil.test/steal')}`);
      assert.equal(new URL(elsewhere.url).origin, gatehouse.url);
      assert.equal(elsewhere.url, `${gatehouse.url}/orgs/${organizationId}/settings`);
    });

    it('sign-in link follows return_to', async () => {
      const alice = await gatehouse.app.context.store.db.selectFrom('users').select('id').where('email', '=', 'alice@example.com').executeTakeFirstOrThrow();
      const link = await createOneTimeLink(gatehouse.app.context, { purpose: 'sign_in', userId: alice.id });
      const browser = new BrowserClient();
      await browser.follow(`${gatehouse.url}/signin?return_to=${encodeURIComponent(`/orgs/${organizationId}/settings/api-keys`)}`);
      const page = await browser.follow(link.url.replace('http://localhost:0', gatehouse.url));
      const form = readForm(page.body, '/signin/link');
      const landed = await browser.follow(`${gatehouse.url}${form.action}`, { form: form.fields });
      assert.equal(landed.url, `${gatehouse.url}/orgs/${organizationId}/settings/api-keys`);
    });

    it('unverified Google email rejected', async () => {
      const before = await tableCounts(gatehouse);
      const page = await signInWithGoogle(new BrowserClient(), gatehouse, google, 'frank@example.com');
      assert.equal(page.response.status, 400);
      assert.match(page.body, /Google has not verified frank@example\.com\. Verify the address with Google, or sign in another way\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('consumer account with company address rejected', async () => {
      const before = await tableCounts(gatehouse);
      const page = await signInWithGoogle(new BrowserClient(), gatehouse, google, 'grace@example.com');
      assert.equal(page.response.status, 400);
      assert.match(page.body, /This Google account is not a Google Workspace account of example\.com, so Google cannot confirm that grace@example\.com is yours\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('account without organization rejected', async () => {
      const before = await tableCounts(gatehouse);
      const page = await signInWithGoogle(new BrowserClient(), gatehouse, google, 'erin@gmail.com');
      assert.equal(page.response.status, 400);
      assert.match(page.body, /No organization here has a member with erin@gmail\.com or admits new members from gmail\.com\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('replayed callback rejected', async () => {
      const browser = new BrowserClient();
      await signInWithGoogle(browser, gatehouse, google, 'alice@example.com');
      const before = await tableCounts(gatehouse);
      const replay = await browser.follow(`${gatehouse.url}/signin/google/callback?state=reused&code=reused`);
      assert.equal(replay.response.status, 400);
      assert.match(replay.body, /This sign-in response is unknown or was already used\. Start signing in again\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('domain mapping admits new colleague', async () => {
      await setPlan(gatehouse.app.context.store.db, organizationId, 'enterprise');
      await verifyDomainInUI(owner, gatehouse, dns, organizationId, 'example.com');
      await mapDomainInUI(owner, gatehouse, organizationId, 'example.com', 'engineers');

      const page = await signInWithGoogle(new BrowserClient(), gatehouse, google, 'dana@example.com');
      assert.equal(page.response.status, 200, page.body);
      const db = gatehouse.app.context.store.db;
      const joined = await db
        .selectFrom('membership_joins')
        .innerJoin('users', 'users.id', 'membership_joins.user_id')
        .innerJoin('permission_groups', 'permission_groups.id', 'membership_joins.group_id')
        .select(['users.email as email', 'permission_groups.role as role', 'membership_joins.method as method', 'membership_joins.mapping_domain as mappingDomain'])
        .where('users.email', '=', 'dana@example.com')
        .execute();
      assert.deepEqual(joined, [{ email: 'dana@example.com', role: 'engineers', method: 'google', mappingDomain: 'example.com' }]);
    });
  });
}
