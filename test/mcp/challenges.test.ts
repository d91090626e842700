import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { createKeyInUI, setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { callTool, obtainTokens, signInAsNewMember } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`MCP endpoint challenges (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    let metadataURL: string;
    const invalidTokenChallenge = () => `Bearer error="invalid_token", resource_metadata="${metadataURL}"`;
    const invalidTokenBody = { error: 'invalid_token', error_description: 'The access token or API key is invalid, expired or revoked.' };

    before(async () => {
      gatehouse = await startGatehouse(database, { mcpAllowedOrigins: ['https://inspector.example'] });
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
      metadataURL = `${gatehouse.url}/.well-known/oauth-protected-resource/mcp`;
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('expired access token gets 401 invalid_token', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 200);

      gatehouse.clock.advance(600);
      const answer = await callTool(gatehouse, tokens.accessToken, 'whoami');
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), invalidTokenChallenge());
      assert.deepEqual(JSON.parse(answer.text), invalidTokenBody);
    });

    it('unknown access token gets 401 invalid_token', async () => {
      const answer = await callTool(gatehouse, `gho_${'x'.repeat(43)}`, 'whoami');
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), invalidTokenChallenge());
      assert.deepEqual(JSON.parse(answer.text), invalidTokenBody);
    });

    it('token for another resource gets 401 invalid_token', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      await gatehouse.app.context.store.db.updateTable('oauth_grants').set({ resource: 'https://other.example/mcp' }).where('client_id', '=', tokens.clientId).execute();

      const answer = await callTool(gatehouse, tokens.accessToken, 'whoami');
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), invalidTokenChallenge());
      assert.ok(gatehouse.logs.some((line) => line.includes('access token rejected: wrong_audience')));
    });

    it('access token is not accepted by the API', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const response = await fetch(`${gatehouse.url}/v1/whoami`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
      assert.equal(response.status, 401, 'its audience is /mcp only');
      assert.equal(response.headers.get('www-authenticate'), `Bearer realm="gatehouse", error="invalid_token", resource_metadata="${gatehouse.url}/.well-known/oauth-protected-resource/v1"`);
    });

    it('token in the query string is not accepted', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const response = await fetch(`${gatehouse.url}/mcp?access_token=${tokens.accessToken}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), `Bearer scope="gatehouse:read gatehouse:write", resource_metadata="${metadataURL}"`);
    });

    it('malformed Authorization header gets 400', async () => {
      const answer = await callTool(gatehouse, undefined, 'whoami', {}, { authorization: 'Token abc' });
      assert.equal(answer.status, 400);
      assert.equal(answer.headers.get('www-authenticate'), `Bearer error="invalid_request", resource_metadata="${metadataURL}"`);
      assert.equal(JSON.parse(answer.text).error, 'invalid_request');
    });

    it('read-only token gets 403 insufficient_scope for a write tool', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId, { scope: 'gatehouse:read' });
      const read = await callTool(gatehouse, tokens.accessToken, 'list_projects', { organization_id: organizationId });
      assert.equal(read.status, 200);

      const answer = await callTool(gatehouse, tokens.accessToken, 'create_project', { organization_id: organizationId, name: 'Nope' });
      assert.equal(answer.status, 403);
      assert.equal(
        answer.headers.get('www-authenticate'),
        `Bearer error="insufficient_scope", scope="gatehouse:read gatehouse:write", resource_metadata="${metadataURL}", error_description="This request needs the scope gatehouse:write."`,
      );
      assert.deepEqual(JSON.parse(answer.text), { error: 'insufficient_scope', error_description: 'The access token does not carry the scope this request needs.' });
      const projects = await gatehouse.app.context.store.db.selectFrom('projects').select('name').where('name', '=', 'Nope').execute();
      assert.equal(projects.length, 0, 'the tool did not run');
    });

    it('foreign Origin gets 403', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const answer = await callTool(gatehouse, tokens.accessToken, 'whoami', {}, { origin: 'https://evil.example' });
      assert.equal(answer.status, 403);
      assert.equal(JSON.parse(answer.text).error, 'forbidden');
      assert.equal(answer.headers.get('access-control-allow-origin'), null);
    });

    it('allowed Origin can read the 401 challenge', async () => {
      const answer = await callTool(gatehouse, undefined, 'whoami', {}, { origin: 'https://inspector.example' });
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('access-control-allow-origin'), 'https://inspector.example');
      assert.equal(answer.headers.get('access-control-expose-headers'), 'WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version');
      assert.equal(answer.headers.get('vary'), 'Origin');
      assert.ok(answer.headers.get('www-authenticate'));
    });

    it('MCP preflight from allowed and foreign origins', async () => {
      const allowed = await fetch(`${gatehouse.url}/mcp`, {
        method: 'OPTIONS',
        headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, mcp-protocol-version' },
      });
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://inspector.example');
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Method, Mcp-Name/);

      const foreign = await fetch(`${gatehouse.url}/mcp`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    });

    it('GET takes the same credentials and answers 405', async () => {
      const anonymous = await fetch(`${gatehouse.url}/mcp`, { headers: { accept: 'text/event-stream' } });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get('www-authenticate'), `Bearer scope="gatehouse:read gatehouse:write", resource_metadata="${metadataURL}"`);

      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const authenticated = await fetch(`${gatehouse.url}/mcp`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${tokens.accessToken}` } });
      assert.equal(authenticated.status, 405);
      assert.equal(authenticated.headers.get('allow'), 'POST');
    });

    it('token follows the member’s current group', async () => {
      const member = await signInAsNewMember(gatehouse, organizationId, `jo-${database.name}@example.com`, 'engineers');
      const tokens = await obtainTokens(gatehouse, member.browser, organizationId, { scope: 'gatehouse:read gatehouse:write' });
      const created = await callTool(gatehouse, tokens.accessToken, 'create_project', { organization_id: organizationId, name: `Jo ${database.name}` });
      assert.equal(created.status, 200);
      assert.doesNotMatch(created.text, /"isError":true/);

      const { db } = gatehouse.app.context.store;
      const viewers = await db.selectFrom('permission_groups').select('id').where('organization_id', '=', organizationId).where('role', '=', 'viewers').executeTakeFirstOrThrow();
      await db.updateTable('memberships').set({ group_id: viewers.id }).where('user_id', '=', member.userId).where('organization_id', '=', organizationId).execute();

      const denied = await callTool(gatehouse, tokens.accessToken, 'create_project', { organization_id: organizationId, name: `Jo again ${database.name}` });
      assert.equal(denied.status, 200, 'the scope still allows the call');
      assert.match(denied.text, /"isError":true/);
      assert.match(denied.text, /Your permission group does not allow projects.write in this organization/);
    });

    it('removing the member stops tokens and keys at once', async () => {
      const member = await signInAsNewMember(gatehouse, organizationId, 'erin@example.com', 'engineers');
      const tokens = await obtainTokens(gatehouse, member.browser, organizationId);
      const key = await createKeyInUI(member.browser, gatehouse, organizationId, 'erin-key');
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 200);
      assert.equal((await callTool(gatehouse, key, 'whoami')).status, 200);

      const removed = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/members/${member.userId}`, {
        method: 'DELETE',
        headers: { cookie: `gatehouse_session=${browser.cookie(new URL(gatehouse.url).host, 'gatehouse_session')}`, origin: gatehouse.url },
      });
      assert.equal(removed.status, 204);

      for (const credential of [tokens.accessToken, key]) {
        const answer = await callTool(gatehouse, credential, 'whoami');
        assert.equal(answer.status, 401);
        assert.equal(answer.headers.get('www-authenticate'), invalidTokenChallenge());
      }
    });
  });
}
