import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { Client, IssuerMismatchError, StreamableHTTPClientTransport, UnauthorizedError, type OAuthClientProvider, type OAuthDiscoveryState } from '@modelcontextprotocol/client';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { consent } from '../support/oauth.js';
import { suite } from '../support/skip.js';

type Stored<Method extends keyof OAuthClientProvider> = OAuthClientProvider[Method] extends ((...args: never[]) => infer Result) | undefined ? Awaited<Result> : never;

/**
 * An in-memory provider for version 2 of the MCP client (`@modelcontextprotocol/client`), which is
 * stricter than version 1: it requires the metadata issuer to equal the resource metadata's entry
 * and validates `iss` on the authorization response (RFC 9207).
 */
class MemoryProvider implements OAuthClientProvider {
  information: Stored<'clientInformation'>;
  storedTokens: Stored<'tokens'>;
  discovery: OAuthDiscoveryState | undefined;
  verifier = '';
  authorizationURLs: URL[] = [];
  saved = 0;

  constructor(
    readonly redirectUrl: string,
    readonly clientMetadata: OAuthClientProvider['clientMetadata'],
  ) {}

  state(): string {
    return `v2-state-${this.authorizationURLs.length}`;
  }
  clientInformation(): Stored<'clientInformation'> {
    return this.information;
  }
  saveClientInformation(information: NonNullable<Stored<'clientInformation'>>): void {
    this.information = information;
  }
  tokens(): Stored<'tokens'> {
    return this.storedTokens;
  }
  saveTokens(tokens: NonNullable<Stored<'tokens'>>): void {
    this.storedTokens = tokens;
    this.saved++;
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
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.storedTokens = undefined;
    if (scope === 'all' || scope === 'client') this.information = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
}

for (const database of databaseCases) {
  suite(`MCP client version 2 through OAuth (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('strict issuer checks, tool call and refresh', async () => {
      const redirectURL = 'http://127.0.0.1:33419/callback';
      const provider = new MemoryProvider(redirectURL, {
        client_name: 'SDK v2 client',
        redirect_uris: [redirectURL],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
      const mcpURL = new URL(`${gatehouse.url}/mcp`);

      await assert.rejects(new Client({ name: 'v2', version: '1.0.0' }).connect(new StreamableHTTPClientTransport(mcpURL, { authProvider: provider })), UnauthorizedError);
      assert.equal(provider.authorizationURLs.length, 1);
      assert.equal(provider.discovery?.authorizationServerUrl, gatehouse.url);

      const callback = await consent(browser, provider.authorizationURLs[0]!.href, organizationId);
      assert.equal(callback.searchParams.get('iss'), gatehouse.url);

      // Passing the whole callback lets the client check iss and state itself.
      const transport = new StreamableHTTPClientTransport(mcpURL, { authProvider: provider });
      await transport.finishAuth(callback.searchParams);
      assert.equal(provider.saved, 1);

      const client = new Client({ name: 'v2', version: '1.0.0' });
      await client.connect(transport);
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      assert.match((result.content as Array<{ text: string }>)[0]!.text, /"email":"alice@example.com"/);

      gatehouse.clock.advance(601);
      const afterExpiry = await client.callTool({ name: 'list_organizations', arguments: {} });
      assert.equal(afterExpiry.isError, undefined);
      assert.equal(provider.saved, 2, 'the client refreshed after the 401');
      assert.equal(provider.authorizationURLs.length, 1, 'no new browser trip');
      await client.close();
    });

    it('forged iss on the callback is rejected by the client', async () => {
      const redirectURL = 'http://127.0.0.1:33420/callback';
      const provider = new MemoryProvider(redirectURL, { client_name: 'SDK v2 client', redirect_uris: [redirectURL], token_endpoint_auth_method: 'none' });
      const mcpURL = new URL(`${gatehouse.url}/mcp`);
      await assert.rejects(new Client({ name: 'v2', version: '1.0.0' }).connect(new StreamableHTTPClientTransport(mcpURL, { authProvider: provider })), UnauthorizedError);

      const callback = await consent(browser, provider.authorizationURLs[0]!.href, organizationId);
      callback.searchParams.set('iss', 'https://attacker.example');
      const transport = new StreamableHTTPClientTransport(mcpURL, { authProvider: provider });
      await assert.rejects(transport.finishAuth(callback.searchParams), (error: unknown) => {
        assert.ok(error instanceof IssuerMismatchError, String(error));
        return true;
      });
      assert.equal(provider.saved, 0);
    });
  });
}
