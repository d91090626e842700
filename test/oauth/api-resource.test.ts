import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { obtainTokens } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`OAuth tokens for the HTTP API (${database.name})`, database.skip, () => {
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

    const call = async (path: string, token: string, init: { method?: string; body?: unknown } = {}) => {
      const response = await fetch(`${gatehouse.url}${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
        ...(init.body ? { body: JSON.stringify(init.body) } : {}),
      });
      return { status: response.status, challenge: response.headers.get('www-authenticate'), body: (await response.json()) as Record<string, unknown> };
    };

    it('API token calls whoami', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId, { resource: `${gatehouse.url}/v1`, scope: 'gatehouse:read' });
      const answer = await call('/v1/whoami', tokens.accessToken);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.authentication, { method: 'oauth', client_id: tokens.clientId, scope: 'gatehouse:read' });
    });

    it('read-only token cannot write', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId, { resource: `${gatehouse.url}/v1`, scope: 'gatehouse:read' });
      const answer = await call(`/v1/organizations/${organizationId}/projects`, tokens.accessToken, { method: 'POST', body: { name: 'Blocked' } });
      assert.equal(answer.status, 403);
      assert.equal(answer.body.error, 'insufficient_scope');
      assert.equal(
        answer.challenge,
        `Bearer error="insufficient_scope", scope="gatehouse:read gatehouse:write", resource_metadata="${gatehouse.url}/.well-known/oauth-protected-resource/v1"`,
      );
      const projects = await gatehouse.app.context.store.db.selectFrom('projects').select('name').where('name', '=', 'Blocked').execute();
      assert.deepEqual(projects, []);
    });

    it('write token creates a project', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId, { resource: `${gatehouse.url}/v1`, scope: 'gatehouse:read gatehouse:write' });
      const answer = await call(`/v1/organizations/${organizationId}/projects`, tokens.accessToken, { method: 'POST', body: { name: 'Allowed' } });
      assert.equal(answer.status, 201);
    });

    it('MCP token rejected by the API', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const answer = await call('/v1/whoami', tokens.accessToken);
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error, 'invalid_token');
    });

    it('API token rejected by the MCP server', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId, { resource: `${gatehouse.url}/v1` });
      const response = await fetch(`${gatehouse.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token", resource_metadata="/);
    });

    it('API resource metadata is published', async () => {
      const response = await fetch(`${gatehouse.url}/.well-known/oauth-protected-resource/v1`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      assert.deepEqual(await response.json(), {
        resource: `${gatehouse.url}/v1`,
        authorization_servers: [gatehouse.url],
        scopes_supported: ['gatehouse:read', 'gatehouse:write'],
        bearer_methods_supported: ['header'],
        resource_name: 'Gatehouse API and model gateway',
      });
    });
  });
}
