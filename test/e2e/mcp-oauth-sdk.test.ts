import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { consent, startDocumentServer } from '../support/oauth.js';
import { suite } from '../support/skip.js';

/** An OAuthClientProvider that keeps everything in memory and records each authorization URL it is sent to. */
class MemoryProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  storedTokens: OAuthTokens | undefined;
  verifier = '';
  authorizationURLs: URL[] = [];
  savedTokens: OAuthTokens[] = [];

  constructor(
    readonly redirectUrl: string,
    readonly clientMetadata: OAuthClientMetadata,
    information?: OAuthClientInformationMixed,
  ) {
    this.information = information;
  }

  state(): string {
    return `state-${this.authorizationURLs.length}`;
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information;
  }
  tokens(): OAuthTokens | undefined {
    return this.storedTokens;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.storedTokens = tokens;
    this.savedTokens.push(tokens);
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationURLs.push(url);
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    return this.verifier;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.storedTokens = undefined;
    if (scope === 'all' || scope === 'client') this.information = undefined;
  }
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  return (result.content as Array<{ text: string }>)[0]!.text;
}

for (const database of databaseCases) {
  suite(`official MCP client through OAuth (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    let documents: Awaited<ReturnType<typeof startDocumentServer>>;

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
      documents = await startDocumentServer();
    });
    after(async () => {
      await documents?.close();
      await gatehouse?.close();
    });

    /**
     * Runs the whole flow: discovery and registration on the first connect, consent in the signed-in
     * browser, a tool call, access-token expiry and refresh, then revocation cutting the client off.
     */
    async function runFlow(provider: MemoryProvider): Promise<void> {
      const mcpURL = new URL(`${gatehouse.url}/mcp`);
      const first = new Client({ name: 'oauth-test', version: '1.0.0' });
      await assert.rejects(first.connect(new StreamableHTTPClientTransport(mcpURL, { authProvider: provider })), UnauthorizedError);

      assert.equal(provider.authorizationURLs.length, 1);
      const authorizeURL = provider.authorizationURLs[0]!;
      assert.equal(authorizeURL.origin + authorizeURL.pathname, `${gatehouse.url}/oauth/authorize`);
      assert.equal(authorizeURL.searchParams.get('resource'), `${gatehouse.url}/mcp`);
      assert.equal(authorizeURL.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorizeURL.searchParams.get('scope'), 'gatehouse:read gatehouse:write');

      const callback = await consent(browser, authorizeURL.href, organizationId);
      assert.equal(callback.searchParams.get('iss'), gatehouse.url);
      assert.equal(callback.searchParams.get('state'), 'state-0');
      const code = callback.searchParams.get('code');
      assert.ok(code);

      const transport = new StreamableHTTPClientTransport(mcpURL, { authProvider: provider });
      await transport.finishAuth(code);
      assert.equal(provider.savedTokens.length, 1);
      const issued = provider.savedTokens[0]!;
      assert.equal(issued.token_type, 'Bearer');
      assert.equal(issued.expires_in, 600);
      assert.equal(issued.scope, 'gatehouse:read gatehouse:write');
      assert.match(issued.access_token, /^gho_/);
      assert.match(issued.refresh_token ?? '', /^ghr_/);

      const client = new Client({ name: 'oauth-test', version: '1.0.0' });
      await client.connect(transport);
      const whoami = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as Record<string, unknown>;
      assert.equal((whoami.user as { email: string }).email, 'alice@example.com');
      assert.deepEqual(whoami.organizations, [{ id: organizationId, name: 'Acme', role: 'owners' }]);
      assert.equal((whoami.authentication as { method: string }).method, 'oauth');

      gatehouse.clock.advance(601);
      const afterExpiry = await client.callTool({ name: 'list_organizations', arguments: {} });
      assert.equal(afterExpiry.isError, undefined);
      assert.equal(provider.savedTokens.length, 2, 'the client refreshed once after the 401');
      const refreshed = provider.savedTokens[1]!;
      assert.notEqual(refreshed.access_token, issued.access_token);
      assert.notEqual(refreshed.refresh_token, issued.refresh_token, 'the refresh token was rotated');
      assert.equal(provider.authorizationURLs.length, 1, 'no new browser trip');

      const information = provider.information!;
      const revoked = await fetch(`${gatehouse.url}/oauth/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(provider.clientMetadata.token_endpoint_auth_method === 'client_secret_basic'
            ? { authorization: `Basic ${Buffer.from(`${encodeURIComponent(information.client_id)}:${encodeURIComponent(information.client_secret!)}`).toString('base64')}` }
            : {}),
        },
        body: new URLSearchParams({
          token: refreshed.refresh_token!,
          token_type_hint: 'refresh_token',
          ...(provider.clientMetadata.token_endpoint_auth_method === 'client_secret_basic' ? {} : { client_id: information.client_id }),
          ...(provider.clientMetadata.token_endpoint_auth_method === 'client_secret_post' ? { client_secret: information.client_secret! } : {}),
        }).toString(),
      });
      assert.equal(revoked.status, 200, await revoked.text());

      await assert.rejects(client.callTool({ name: 'whoami', arguments: {} }), UnauthorizedError);
      assert.equal(provider.authorizationURLs.length, 2, 'revocation sends the user back to authorize');
      await client.close();
    }

    for (const method of ['none', 'client_secret_post', 'client_secret_basic'] as const) {
      it(`dynamic registration with ${method}`, async () => {
        const provider = new MemoryProvider('http://127.0.0.1:33418/callback', {
          client_name: `SDK client (${method})`,
          redirect_uris: ['http://127.0.0.1:33418/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: method,
        });
        await runFlow(provider);
        const information = provider.information as { client_id: string; client_secret?: string; token_endpoint_auth_method?: string };
        assert.match(information.client_id, /^ghc_/);
        assert.equal(information.token_endpoint_auth_method, method);
        assert.equal(information.client_secret === undefined, method === 'none');
      });
    }

    it('metadata document client with an ephemeral loopback port', async () => {
      const clientId = `${documents.origin}/sdk-client.json`;
      documents.serve('/sdk-client.json', {
        body: JSON.stringify({
          client_id: clientId,
          client_name: 'SDK metadata document client',
          redirect_uris: ['http://127.0.0.1/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        }),
      });
      // The SDK only takes an https clientMetadataUrl, so the test hands it the document URL as a
      // known client_id. On the wire this is the metadata document flow: no registration request,
      // and Gatehouse fetches the document named by client_id.
      const provider = new MemoryProvider(
        'http://127.0.0.1:49567/callback',
        { client_name: 'SDK metadata document client', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' },
        { client_id: clientId },
      );
      await runFlow(provider);
      assert.ok(documents.requests.includes('/sdk-client.json'), 'Gatehouse fetched the document');
    });
  });
}
