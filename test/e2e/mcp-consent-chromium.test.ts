import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Browser } from 'playwright-core';

import { chromiumSkip, launchChromium } from '../support/chromium.js';
import { databaseCases } from '../support/databases.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDocumentServer } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`MCP consent in Chromium (${database.name})`, chromiumSkip || database.skip, () => {
    let browser: Browser;
    let gatehouse: TestGatehouse;
    let callbackServer: Awaited<ReturnType<typeof startDocumentServer>>;

    before(async () => {
      browser = await launchChromium();
      gatehouse = await startGatehouse(database);
      callbackServer = await startDocumentServer();
      callbackServer.serve('/callback', { body: '{"received":true}' });
    });
    after(async () => {
      await browser?.close();
      await callbackServer?.close();
      await gatehouse?.close();
    });

    it('official client authorized by a click in Chromium', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });

      await page.goto(await gatehouse.setupLink());
      await page.getByLabel('Organization name').fill('Acme');
      await page.getByLabel('Your name').fill('Alice Example');
      await page.getByLabel('Your work email').fill('alice@example.com');
      await page.getByRole('button', { name: 'Create organization' }).click();
      await page.waitForURL(/\/orgs\/org_[^/]+\/settings\/connections$/);

      const redirectURL = `${callbackServer.origin}/callback`;
      let information: OAuthClientInformationMixed | undefined;
      let tokens: OAuthTokens | undefined;
      let verifier = '';
      const authorizationURLs: URL[] = [];
      const provider: OAuthClientProvider = {
        redirectUrl: redirectURL,
        clientMetadata: { client_name: 'Chromium test tool', redirect_uris: [redirectURL], token_endpoint_auth_method: 'none' },
        clientInformation: () => information,
        saveClientInformation: (value) => {
          information = value;
        },
        tokens: () => tokens,
        saveTokens: (value) => {
          tokens = value;
        },
        redirectToAuthorization: (url) => {
          authorizationURLs.push(url);
        },
        saveCodeVerifier: (value) => {
          verifier = value;
        },
        codeVerifier: () => verifier,
      };

      const mcpURL = new URL(`${gatehouse.url}/mcp`);
      await assert.rejects(new Client({ name: 'chromium', version: '1.0.0' }).connect(new StreamableHTTPClientTransport(mcpURL, { authProvider: provider })), UnauthorizedError);

      await page.goto(authorizationURLs[0]!.href);
      assert.equal(await page.locator('#client-name').textContent(), 'Chromium test tool');
      assert.equal(await page.locator('#redirect-host').textContent(), new URL(callbackServer.origin).host);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((url) => url.origin === callbackServer.origin);

      const callback = new URL(page.url());
      assert.equal(callback.searchParams.get('iss'), gatehouse.url);
      const code = callback.searchParams.get('code');
      assert.ok(code);

      const transport = new StreamableHTTPClientTransport(mcpURL, { authProvider: provider });
      await transport.finishAuth(code);
      const client = new Client({ name: 'chromium', version: '1.0.0' });
      await client.connect(transport);
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      assert.match((result.content as Array<{ text: string }>)[0]!.text, /"email":"alice@example.com"/);
      await client.close();

      assert.deepEqual(violations, []);
      await context.close();
    });
  });
}
