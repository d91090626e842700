import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';

import { launchChromium, chromiumSkip } from '../support/chromium.js';
import { databaseCases } from '../support/databases.js';
import { whoami } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`browser sign-in in Chromium (${database.name})`, chromiumSkip || database.skip, () => {
    let browser: Browser;
    let gatehouse: TestGatehouse;
    let idp: RunningIdP;
    const violations: string[] = [];

    before(async () => {
      browser = await launchChromium();
      gatehouse = await startGatehouse(database);
      idp = await startDevIdP([`${gatehouse.url}/signin/callback`]);
    });
    after(async () => {
      await browser?.close();
      await idp?.stop();
      await gatehouse?.close();
    });

    async function signInAtIdP(page: Page, email: string): Promise<void> {
      await page.waitForURL((url) => url.origin === idp.issuer);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(idp.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    it('setup, OIDC sign-in and API key', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });

      await page.goto(await gatehouse.setupLink());
      await page.getByLabel('Organization name').fill('Acme');
      await page.getByLabel('Your name').fill('Alice Example');
      await page.getByLabel('Your work email').fill('alice@example.com');
      await page.getByRole('button', { name: 'Create organization' }).click();
      await page.waitForURL(/\/orgs\/org_[^/]+\/settings\/connections$/);
      const organizationId = /\/orgs\/([^/]+)\//.exec(page.url())![1]!;

      const cookies = await context.cookies(gatehouse.url);
      const session = cookies.find((cookie) => cookie.name === 'gatehouse_session');
      assert.ok(session, 'Chromium stored the session cookie');
      assert.equal(session.httpOnly, true);
      assert.equal(session.secure, true);
      assert.equal(session.sameSite, 'Lax');

      await page.getByLabel('Name', { exact: true }).fill('Example IdP');
      await page.getByLabel('Issuer URL').fill(idp.issuer);
      await page.getByLabel('Client ID').fill(idp.clientId);
      await page.getByLabel('Client secret').fill(idp.clientSecret);
      await page.getByLabel('Email domains').fill('example.com');
      await page.getByRole('button', { name: 'Add connection' }).click();
      await page.getByText('Connection "Example IdP" added.').waitFor();

      await page.getByRole('button', { name: 'Link my account to Example IdP' }).click();
      await signInAtIdP(page, 'alice@example.com');
      await page.getByText('Your account is linked.').waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${gatehouse.url}/signin`);
      assert.equal((await context.cookies(gatehouse.url)).some((cookie) => cookie.name === 'gatehouse_session'), false);

      // A new browser context has no session at the provider either, so the provider's login page shows.
      await context.close();
      const fresh = await browser.newContext();
      const signInPage = await fresh.newPage();
      signInPage.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await signInPage.goto(`${gatehouse.url}/signin`);
      await signInPage.getByLabel('Work email').fill('alice@example.com');
      await signInPage.getByRole('button', { name: 'Continue' }).click();
      await signInAtIdP(signInPage, 'alice@example.com');
      await signInPage.waitForURL(`${gatehouse.url}/orgs/${organizationId}/settings`);
      await signInPage.getByText('Owners').waitFor();

      await signInPage.getByRole('link', { name: 'API keys' }).first().click();
      await signInPage.getByLabel('Key name').fill('laptop');
      await signInPage.getByRole('button', { name: 'Create API key' }).click();
      const key = (await signInPage.locator('#new-api-key').textContent())?.trim() ?? '';
      assert.match(key, /^gth_[0-9A-Za-z]{38}$/);

      const answer = await whoami(gatehouse, key);
      assert.equal(answer.status, 200);
      assert.equal((answer.body.user as { email: string }).email, 'alice@example.com');
      assert.deepEqual((answer.body.authentication as { method: string }).method, 'api_key');

      await signInPage.goto(`${gatehouse.url}/orgs/${organizationId}/settings/api-keys`);
      assert.equal(await signInPage.locator('#new-api-key').count(), 0, 'the key is not shown again');
      await signInPage.getByRole('button', { name: 'Deactivate laptop' }).click();
      await signInPage.getByRole('cell', { name: 'Deactivated' }).waitFor();

      const rejected = await whoami(gatehouse, key);
      assert.equal(rejected.status, 401);
      assert.equal(rejected.body.error, 'invalid_token');

      assert.deepEqual(violations, [], 'no Content-Security-Policy violations');
      await fresh.close();
    });
  });
}
