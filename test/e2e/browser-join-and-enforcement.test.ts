import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';

import { setPlan } from '../../src/model/organizations.js';
import { launchChromium, chromiumSkip } from '../support/chromium.js';
import { databaseCases } from '../support/databases.js';
import { startDNSServer, type TestDNSServer } from '../support/dns-server.js';
import { useGoogleProvider } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';
import { codeIn, startSMTP, type RunningSMTP } from '../support/smtp.js';

for (const database of databaseCases) {
  suite(`joining and SSO enforcement in Chromium (${database.name})`, chromiumSkip || database.skip, () => {
    let browser: Browser;
    let dns: TestDNSServer;
    let smtp: RunningSMTP;
    let gatehouse: TestGatehouse;
    let google: RunningIdP;
    let sso: RunningIdP;
    const violations: string[] = [];

    before(async () => {
      browser = await launchChromium();
      dns = await startDNSServer();
      smtp = await startSMTP();
      gatehouse = await startGatehouse(database, { dnsServers: [dns.address], mail: { smtpUrl: smtp.url, from: 'gatehouse@localhost.test' } });
      google = await startDevIdP([`${gatehouse.url}/signin/google/callback`], { google: true });
      sso = await startDevIdP([`${gatehouse.url}/signin/callback`]);
      useGoogleProvider(gatehouse, google);
    });
    after(async () => {
      await browser?.close();
      await sso?.stop();
      await google?.stop();
      await gatehouse?.close();
      await smtp?.stop();
      await dns?.stop();
    });

    async function newPage(): Promise<Page> {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      return page;
    }

    async function signInAt(idp: RunningIdP, page: Page, email: string): Promise<void> {
      await page.waitForURL((url) => url.origin === idp.issuer);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(idp.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    it('domain join, code sign-in, required SSO', async () => {
      // The admin creates the organization and verifies example.com from the settings pages.
      const admin = await newPage();
      await admin.goto(await gatehouse.setupLink());
      await admin.getByLabel('Organization name').fill('Acme');
      await admin.getByLabel('Your name').fill('Alice Example');
      await admin.getByLabel('Your work email').fill('alice@example.com');
      await admin.getByRole('button', { name: 'Create organization' }).click();
      await admin.waitForURL(/\/orgs\/org_[^/]+\/settings\/connections$/);
      const organizationId = /\/orgs\/([^/]+)\//.exec(admin.url())![1]!;
      await setPlan(gatehouse.app.context.store.db, organizationId, 'enterprise');

      await admin.goto(`${gatehouse.url}/orgs/${organizationId}/settings/domains`);
      await admin.getByLabel('Email domain').fill('example.com');
      await admin.getByRole('button', { name: 'Claim domain' }).click();
      const record = (await admin.locator('code').nth(1).textContent()) ?? '';
      assert.match(record, /^gatehouse-domain-verification=/);
      dns.txt.set('_gatehouse-challenge.example.com', [record]);
      await admin.getByRole('button', { name: 'Check example.com now' }).click();
      await admin.getByText('example.com is verified.').waitFor();
      await admin.getByLabel('Group for example.com').selectOption('engineers');
      await admin.getByRole('button', { name: 'Save' }).click();
      await admin.getByText('New members from example.com join Engineers.').waitFor();

      // A new colleague signs in with Google for the first time and lands in Engineers.
      const dana = await newPage();
      await dana.goto(`${gatehouse.url}/signin`);
      await dana.getByRole('button', { name: 'Continue with Google' }).click();
      await signInAt(google, dana, 'dana@example.com');
      await dana.waitForURL(`${gatehouse.url}/orgs/${organizationId}/settings`);
      await dana.getByText('Engineers').first().waitFor();
      const danaGroup = await gatehouse.app.context.store.db
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .innerJoin('permission_groups', 'permission_groups.id', 'memberships.group_id')
        .select('permission_groups.role as role')
        .where('users.email', '=', 'dana@example.com')
        .execute();
      assert.deepEqual(danaGroup, [{ role: 'engineers' }]);

      // With no SSO for the domain yet, a member signs in with a code sent over SMTP.
      const byCode = await newPage();
      const sent = smtp.mails.length;
      await byCode.goto(`${gatehouse.url}/signin`);
      await byCode.getByLabel('Work email').fill('alice@example.com');
      await byCode.getByRole('button', { name: 'Continue', exact: true }).click();
      await byCode.getByText('If alice@example.com can sign in here, we sent it a 6-digit code.').waitFor();
      const code = codeIn(await smtp.waitForMail('alice@example.com', sent));
      await byCode.getByLabel('Code').fill(code);
      await byCode.getByRole('button', { name: 'Sign in' }).click();
      await byCode.waitForURL(`${gatehouse.url}/orgs/${organizationId}/settings`);

      // The admin adds SSO for example.com, signs in through it and requires it.
      await admin.goto(`${gatehouse.url}/orgs/${organizationId}/settings/connections`);
      await admin.getByLabel('Name', { exact: true }).fill('Example IdP');
      await admin.getByLabel('Issuer URL').fill(sso.issuer);
      await admin.getByLabel('Client ID').fill(sso.clientId);
      await admin.getByLabel('Client secret').fill(sso.clientSecret);
      await admin.getByLabel('Email domains').fill('example.com');
      await admin.getByRole('button', { name: 'Add connection' }).click();
      await admin.getByRole('button', { name: 'Link my account to Example IdP' }).click();
      await signInAt(sso, admin, 'alice@example.com');
      await admin.getByText('Your account is linked.').waitFor();
      await admin.getByRole('button', { name: 'Sign out' }).click();
      await admin.getByLabel('Work email').fill('alice@example.com');
      await admin.getByRole('button', { name: 'Continue', exact: true }).click();
      await admin.waitForURL(`${gatehouse.url}/orgs/${organizationId}/settings`);
      await admin.goto(`${gatehouse.url}/orgs/${organizationId}/settings/domains`);
      await admin.getByRole('button', { name: 'Require SSO' }).click();
      // Dana's Google session and Alice's code session end.
      await admin.getByText('SSO is now required. 2 sessions that did not come through SSO ended.').waitFor();

      // The code-based session has ended, and choosing Google now leads to the organization's SSO.
      await byCode.goto(`${gatehouse.url}/orgs/${organizationId}/settings`);
      await byCode.waitForURL(`${gatehouse.url}/signin`);
      const member = await newPage();
      await member.goto(`${gatehouse.url}/signin`);
      await member.getByRole('button', { name: 'Continue with Google' }).click();
      await signInAt(google, member, 'alice@example.com');
      await signInAt(sso, member, 'alice@example.com');
      await member.waitForURL(`${gatehouse.url}/orgs/${organizationId}/settings`);
      const methods = await gatehouse.app.context.store.db.selectFrom('sessions').select('method').orderBy('created_at').execute();
      assert.deepEqual(methods.map((row) => row.method), ['oidc', 'oidc']);

      assert.deepEqual(violations, [], 'no Content-Security-Policy violations');
    });
  });
}
