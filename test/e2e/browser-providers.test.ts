import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { Browser, BrowserContext } from 'playwright-core';

import { chromiumSkip, launchChromium } from '../support/chromium.js';
import { databaseCases } from '../support/databases.js';
import { startFakeProvider, type FakeProvider } from '../support/fakes/providers.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

/**
 * Calls the gateway with the browser's session cookie and an Origin header, as a same-origin script
 * of Gatehouse would. Pages forbid scripts (CSP), so the test sends the request itself.
 */
async function chatWithSession(gatehouse: TestGatehouse, context: BrowserContext, model: string): Promise<{ status: number; body: string }> {
  const session = (await context.cookies(gatehouse.url)).find((cookie) => cookie.name === 'gatehouse_session');
  assert.ok(session, 'the browser holds a session');
  const response = await fetch(`${gatehouse.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { cookie: `gatehouse_session=${session.value}`, origin: gatehouse.url, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  return { status: response.status, body: await response.text() };
}

for (const database of databaseCases) {
  suite(`providers page in Chromium (${database.name})`, chromiumSkip || database.skip, () => {
    let browser: Browser;
    let gatehouse: TestGatehouse;
    let openai: FakeProvider;
    let anthropic: FakeProvider;
    const violations: string[] = [];

    before(async () => {
      browser = await launchChromium();
      gatehouse = await startGatehouse(database, { deployment: 'hosted' });
      openai = await startFakeProvider('openai', { issuer: `${gatehouse.url}/federation`, now: gatehouse.clock.now });
      anthropic = await startFakeProvider('anthropic', { issuer: `${gatehouse.url}/federation`, now: gatehouse.clock.now });
    });
    after(async () => {
      await browser?.close();
      await openai?.close();
      await anthropic?.close();
      await gatehouse?.close();
    });

    it('configures providers both ways and calls them', async () => {
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

      await page.goto(`${gatehouse.url}/orgs/${organizationId}/settings`);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'AI providers' }).click();
      await page.getByRole('link', { name: 'Anthropic', exact: true }).click();
      await page.getByLabel('Name', { exact: true }).fill('Claude');
      await page.getByLabel('Base URL').fill(anthropic.baseURL);
      await page.getByLabel('Models').fill('claude-*');
      await page.getByRole('radio', { name: 'API key' }).check();
      await page.locator('#field-api_key').fill(anthropic.apiKey);
      await page.getByRole('button', { name: 'Add provider' }).click();
      await page.getByText('Provider "Claude" added.').waitFor();
      assert.equal(await page.getByText(`…${anthropic.apiKey.slice(-4)}`).count(), 1);
      assert.ok(!(await page.content()).includes(anthropic.apiKey), 'the page never shows the stored key');

      await page.getByRole('link', { name: 'OpenAI', exact: true }).click();
      assert.equal(await page.getByText(`register the issuer ${gatehouse.url}/federation`).count(), 1);
      await page.getByLabel('Name', { exact: true }).fill('OpenAI federated');
      await page.getByLabel('Base URL').fill(openai.baseURL);
      await page.getByLabel('Models').fill('gpt-*');
      await page.getByRole('radio', { name: 'Workload identity federation (no stored key)' }).check();
      await page.getByLabel('Workload identity provider ID').fill(openai.federation.identity_provider_id!);
      await page.getByLabel('Service account ID').fill(openai.federation.service_account_id!);
      await page.getByLabel('Token endpoint').fill(openai.federation.token_url!);
      await page.getByRole('button', { name: 'Add provider' }).click();
      await page.getByText('Provider "OpenAI federated" added.').waitFor();

      const trust = page.locator('dl.trust');
      const subject = await trust.locator('dt:text-is("Subject") + dd code').textContent();
      assert.match(String(subject), new RegExp(`^org:${organizationId}:provider:prv_[A-Za-z0-9_-]{22}$`));
      assert.equal(await trust.locator('dt:text-is("Issuer") + dd code').textContent(), `${gatehouse.url}/federation`);
      assert.equal(await trust.locator('dt:text-is("Audience") + dd code').textContent(), 'https://api.openai.com/v1');
      openai.expectedSubject = subject!;

      const claude = await chatWithSession(gatehouse, context, 'claude-sonnet-4');
      assert.equal(claude.status, 200, claude.body);
      assert.equal(anthropic.modelRequests().at(-1)!.headers['x-api-key'], anthropic.apiKey);
      const gpt = await chatWithSession(gatehouse, context, 'gpt-4o');
      assert.equal(gpt.status, 200, gpt.body);
      assert.equal(openai.tokenRequests().length, 1);

      const newKey = 'sk-ant-api03-replacement-key-0123456789';
      await page.getByLabel('New API key for Claude').fill(newKey);
      await page.getByRole('button', { name: 'Replace the key of Claude' }).click();
      await page.getByText('The key of "Claude" was replaced.').waitFor();
      anthropic.apiKey = newKey;
      const replaced = await chatWithSession(gatehouse, context, 'claude-sonnet-4');
      assert.equal(replaced.status, 200, replaced.body);
      assert.equal(anthropic.modelRequests().at(-1)!.headers['x-api-key'], newKey);

      const config = gatehouse.app.context.config;
      config.deployment = 'self-hosted';
      try {
        await page.getByRole('link', { name: 'Azure AI Foundry' }).click();
        const reason = "Workload identity federation is available only on a hosted deployment, because providers must reach this deployment's public issuer URL; this one is self-hosted (GATEHOUSE_DEPLOYMENT), so use an API key.";
        await page.getByText(reason).waitFor();
        await page.getByLabel('Name', { exact: true }).fill('Azure');
        await page.getByLabel('Base URL').fill('https://example-resource.openai.azure.com/openai/v1');
        await page.getByLabel('Models').fill('gpt-4o-azure');
        await page.getByRole('radio', { name: 'Workload identity federation (no stored key)' }).check();
        await page.getByLabel('Directory (tenant) ID').fill('tenant');
        await page.getByLabel('Application (client) ID').fill('client');
        await page.getByRole('button', { name: 'Add provider' }).click();
        await page.getByRole('alert').getByText(reason).waitFor();
        assert.equal(await page.getByText('Provider "Azure" added.').count(), 0);
      } finally {
        config.deployment = 'hosted';
      }

      await page.getByRole('button', { name: 'Delete Claude' }).click();
      await page.getByText('Provider "Claude" deleted.').waitFor();
      const gone = await chatWithSession(gatehouse, context, 'claude-sonnet-4');
      assert.equal(gone.status, 404);
      assert.deepEqual(violations, []);
      await context.close();
    });

  });
}
