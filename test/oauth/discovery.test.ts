import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { databaseCases } from '../support/databases.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`OAuth discovery (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;

    before(async () => {
      gatehouse = await startGatehouse(database);
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('protected resource metadata at path and root', async () => {
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
        const response = await fetch(`${gatehouse.url}${path}`, { headers: { 'mcp-protocol-version': '2025-11-25' } });
        assert.equal(response.status, 200, path);
        assert.equal(response.headers.get('access-control-allow-origin'), '*');
        assert.deepEqual(await response.json(), {
          resource: `${gatehouse.url}/mcp`,
          authorization_servers: [gatehouse.url],
          scopes_supported: ['gatehouse:read', 'gatehouse:write'],
          bearer_methods_supported: ['header'],
          resource_name: 'Gatehouse MCP server',
        });
      }
    });

    it('authorization server metadata issuer equals resource metadata entry', async () => {
      const resource = (await (await fetch(`${gatehouse.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { authorization_servers: string[] };
      const issuer = resource.authorization_servers[0]!;
      assert.ok(!issuer.endsWith('/'), 'no trailing slash to mismatch on');

      const response = await fetch(`${new URL(issuer).origin}/.well-known/oauth-authorization-server`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      const metadata = (await response.json()) as Record<string, unknown>;
      assert.equal(metadata.issuer, issuer, 'byte-identical issuer');
      assert.deepEqual(metadata, {
        issuer,
        authorization_endpoint: `${issuer}/oauth/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        registration_endpoint: `${issuer}/oauth/register`,
        revocation_endpoint: `${issuer}/oauth/revoke`,
        scopes_supported: ['gatehouse:read', 'gatehouse:write'],
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
        revocation_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
        code_challenge_methods_supported: ['S256'],
        client_id_metadata_document_supported: true,
        authorization_response_iss_parameter_supported: true,
      });
    });

    it('metadata needs no credentials', async () => {
      const response = await fetch(`${gatehouse.url}/.well-known/oauth-protected-resource/mcp`, { headers: { authorization: 'Bearer gth_not-a-key' } });
      assert.equal(response.status, 200);
    });

    for (const [path, method] of [
      ['/.well-known/oauth-protected-resource/mcp', 'GET'],
      ['/.well-known/oauth-protected-resource', 'GET'],
      ['/.well-known/oauth-authorization-server', 'GET'],
      ['/oauth/register', 'POST'],
      ['/oauth/token', 'POST'],
      ['/oauth/revoke', 'POST'],
    ] as const) {
      it(`preflight on ${path}`, async () => {
        const response = await fetch(`${gatehouse.url}${path}`, {
          method: 'OPTIONS',
          headers: { origin: 'https://inspector.example', 'access-control-request-method': method, 'access-control-request-headers': 'content-type, mcp-protocol-version' },
        });
        assert.equal(response.status, 204);
        assert.equal(response.headers.get('access-control-allow-origin'), '*');
        assert.equal(response.headers.get('access-control-allow-methods'), `${method}, OPTIONS`);
        assert.equal(
          response.headers.get('access-control-allow-headers'),
          'Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Session-Id, Last-Event-ID',
        );
      });
    }

    it('token errors carry CORS headers', async () => {
      const response = await fetch(`${gatehouse.url}/oauth/token`, {
        method: 'POST',
        headers: { origin: 'https://inspector.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&client_id=ghc_unknown&code=x',
      });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      assert.equal(response.headers.get('access-control-expose-headers'), 'WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version');
      assert.deepEqual(await response.json(), { error: 'invalid_client', error_description: 'Client authentication failed.' });
    });
  });
}
