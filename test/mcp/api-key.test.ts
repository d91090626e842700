import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { createKeyInUI, setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { callTool } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`MCP server with API keys (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let organizationId: string;
    let key: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      const browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
      key = await createKeyInUI(browser, gatehouse, organizationId, 'mcp');
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('official client calls tools with an API key', async () => {
      const client = new Client({ name: 'api-key-test', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(`${gatehouse.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      });
      await client.connect(transport);

      assert.deepEqual(client.getServerCapabilities()?.tools, { listChanged: false });
      const tools = await client.listTools();
      assert.deepEqual(tools.tools.map((tool) => tool.name).sort(), ['create_project', 'get_project', 'list_organizations', 'list_projects', 'whoami']);

      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(whoami.isError, undefined);
      const identity = JSON.parse((whoami.content as Array<{ text: string }>)[0]!.text) as Record<string, unknown>;
      assert.equal((identity.user as { email: string }).email, 'alice@example.com');
      assert.deepEqual(identity.organizations, [{ id: organizationId, name: 'Acme', role: 'owners' }]);
      assert.deepEqual(identity.authentication, { method: 'api_key' });

      const created = await client.callTool({ name: 'create_project', arguments: { organization_id: organizationId, name: 'Apollo' } });
      assert.equal(created.isError, undefined, JSON.stringify(created));
      const project = JSON.parse((created.content as Array<{ text: string }>)[0]!.text) as { id: string; name: string };
      assert.equal(project.name, 'Apollo');

      const listed = await client.callTool({ name: 'list_projects', arguments: { organization_id: organizationId } });
      assert.deepEqual(
        (JSON.parse((listed.content as Array<{ text: string }>)[0]!.text) as Array<{ name: string }>).map((entry) => entry.name),
        ['Apollo'],
      );

      const fetched = await client.callTool({ name: 'get_project', arguments: { organization_id: organizationId, project_id: project.id } });
      assert.equal((JSON.parse((fetched.content as Array<{ text: string }>)[0]!.text) as { id: string }).id, project.id);

      const foreign = await client.callTool({ name: 'list_projects', arguments: { organization_id: 'org_unknown' } });
      assert.equal(foreign.isError, true);
      assert.match((foreign.content as Array<{ text: string }>)[0]!.text, /was not found among the organizations/);

      await client.close();
    });

    it('tool call response headers', async () => {
      const answer = await callTool(gatehouse, key, 'whoami');
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'application/json');
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
      assert.match(answer.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(answer.headers.get('mcp-session-id'), null, 'the server is stateless');
    });

    it('missing credential gets the discovery challenge', async () => {
      const answer = await callTool(gatehouse, undefined, 'whoami');
      assert.equal(answer.status, 401);
      assert.equal(
        answer.headers.get('www-authenticate'),
        `Bearer scope="gatehouse:read gatehouse:write", resource_metadata="${gatehouse.url}/.well-known/oauth-protected-resource/mcp"`,
      );
      assert.equal(JSON.parse(answer.text).error, 'missing_credential');
    });

    it('invalid API key gets invalid_token', async () => {
      const answer = await callTool(gatehouse, `gth_${'A'.repeat(38)}`, 'whoami');
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), `Bearer error="invalid_token", resource_metadata="${gatehouse.url}/.well-known/oauth-protected-resource/mcp"`);
      assert.deepEqual(JSON.parse(answer.text), { error: 'invalid_token', error_description: 'The access token or API key is invalid, expired or revoked.' });
    });
  });
}
