import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { createAPIKey } from '../../src/auth/api-keys.js';
import type { BuiltinRole } from '../../src/db/schema.js';
import { addMembership } from '../../src/model/memberships.js';
import { builtinGroupId, createOrganization } from '../../src/model/organizations.js';
import { createProject } from '../../src/model/projects.js';
import { createSession } from '../../src/auth/sessions.js';
import { createUser } from '../../src/model/users.js';
import { databaseCases } from '../support/databases.js';
import { startFakeProvider, type FakeProvider } from '../support/fakes/providers.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { chat } from '../support/providers.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`AI provider permissions and input (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let fake: FakeProvider;
    let organizationId: string;
    let otherOrganizationId: string;
    let projectId: string;
    const keys = {} as Record<BuiltinRole, string>;
    const userIds = {} as Record<BuiltinRole, string>;

    before(async () => {
      gatehouse = await startGatehouse(database);
      const { context } = gatehouse.app;
      const now = context.clock();
      organizationId = (await createOrganization(context.store.db, { name: 'Acme', plan: 'free', now })).organization.id;
      otherOrganizationId = (await createOrganization(context.store.db, { name: 'Other', plan: 'free', now })).organization.id;
      projectId = (await createProject(context.store.db, { organizationId, name: 'search', now })).id;
      for (const role of ['owners', 'engineers', 'viewers'] as const) {
        const user = await createUser(context.store.db, { email: `${role}@example.com`, name: null, now });
        await addMembership(context.store.db, { organizationId, userId: user.id, groupId: await builtinGroupId(context.store.db, organizationId, role), now });
        keys[role] = (await createAPIKey(context, { organizationId, userId: user.id, name: role })).key;
        userIds[role] = user.id;
      }
      fake = await startFakeProvider('openai', { issuer: `${gatehouse.url}/federation`, now: gatehouse.clock.now });
    });
    after(async () => {
      await fake?.close();
      await gatehouse?.close();
    });

    const call = async (role: BuiltinRole, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${gatehouse.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${keys[role]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      return { status: response.status, text, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
    };
    const providersPath = () => `/v1/organizations/${organizationId}/providers`;
    const openAI = (overrides: Record<string, unknown> = {}) => ({ kind: 'openai', name: 'OpenAI', base_url: fake.baseURL, models: ['gpt-*'], auth_method: 'api_key', api_key: fake.apiKey, ...overrides });

    it('lets owners add organization providers and nobody else', async () => {
      const viewer = await call('viewers', 'POST', providersPath(), openAI());
      assert.equal(viewer.status, 403);
      assert.deepEqual(viewer.body, { error: 'forbidden', error_description: 'Your permission group does not allow this action.' });
      const engineer = await call('engineers', 'POST', providersPath(), openAI());
      assert.equal(engineer.status, 403);

      const owner = await call('owners', 'POST', providersPath(), openAI());
      assert.equal(owner.status, 201, owner.text);
      assert.equal(owner.body.key_hint, `…${fake.apiKey.slice(-4)}`);
      assert.equal(owner.body.project_id, null);
      assert.ok(!owner.text.includes(fake.apiKey));
    });

    it('lets engineers add project providers', async () => {
      const created = await call('engineers', 'POST', providersPath(), openAI({ name: 'Search OpenAI', project_id: projectId, models: ['gpt-search'] }));
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.project_id, projectId);
      const viewer = await call('viewers', 'DELETE', `${providersPath()}/${String(created.body.id)}`);
      assert.equal(viewer.status, 403);
    });

    it('lets viewers read providers but not call models', async () => {
      const listed = await call('viewers', 'GET', providersPath());
      assert.equal(listed.status, 200);
      assert.deepEqual((listed.body.providers as Array<{ name: string }>).map((provider) => provider.name), ['OpenAI', 'Search OpenAI']);
      const answer = await chat(gatehouse, keys.viewers, 'gpt-4o');
      assert.equal(answer.status, 403);
      assert.equal(answer.json?.error, 'forbidden');
      const engineer = await chat(gatehouse, keys.engineers, 'gpt-4o');
      assert.equal(engineer.status, 200, engineer.text);
    });

    it('keeps the stored key when an update sends none', async () => {
      const listed = await call('owners', 'GET', providersPath());
      const id = (listed.body.providers as Array<{ id: string; name: string }>).find((provider) => provider.name === 'OpenAI')!.id;
      const { api_key: _ignored, ...withoutKey } = openAI({ name: 'OpenAI main' });
      const updated = await call('owners', 'PUT', `${providersPath()}/${id}`, withoutKey);
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.name, 'OpenAI main');
      assert.equal(updated.body.key_hint, `…${fake.apiKey.slice(-4)}`);
      const answer = await chat(gatehouse, keys.owners, 'gpt-4o');
      assert.equal(answer.status, 200, answer.text);
      assert.equal(fake.modelRequests().at(-1)!.headers.authorization, `Bearer ${fake.apiKey}`);

      const engineer = await call('engineers', 'PUT', `${providersPath()}/${id}`, withoutKey);
      assert.equal(engineer.status, 403);
    });

    it('rejects gateway calls it cannot route', async () => {
      const unknownProject = await chat(gatehouse, keys.owners, 'gpt-4o', { project: 'prj_missing' });
      assert.equal(unknownProject.status, 404);
      assert.deepEqual(unknownProject.json, { error: 'not_found', error_description: 'Project not found.' });

      const messages = await fetch(`${gatehouse.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.owners}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] }),
      });
      assert.equal(messages.status, 400);
      assert.deepEqual(await messages.json(), {
        error: 'invalid_request',
        error_description: 'The model "gpt-4o" is served by the provider "OpenAI main" (OpenAI). /v1/messages passes requests to Anthropic providers only, so use /v1/chat/completions.',
      });

      const noMessages = await fetch(`${gatehouse.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.owners}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
      });
      assert.equal(noMessages.status, 400);
      assert.equal(((await noMessages.json()) as { error: string }).error, 'invalid_request');
    });

    it('needs an organization header for multi-organization sessions', async () => {
      const { context } = gatehouse.app;
      await addMembership(context.store.db, { organizationId: otherOrganizationId, userId: userIds.owners, groupId: await builtinGroupId(context.store.db, otherOrganizationId, 'owners'), now: context.clock() });
      const { token } = await createSession(context, { userId: userIds.owners, method: 'sign_in_link', connectionId: null });
      const send = (headers: Record<string, string>) =>
        fetch(`${gatehouse.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { cookie: `gatehouse_session=${token}`, 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
        });

      const ambiguous = await send({ origin: gatehouse.url });
      assert.equal(ambiguous.status, 400);
      assert.deepEqual(await ambiguous.json(), { error: 'invalid_request', error_description: 'You belong to several organizations; name one in the X-Gatehouse-Organization header.' });

      const named = await send({ origin: gatehouse.url, 'x-gatehouse-organization': organizationId });
      assert.equal(named.status, 200, await named.text());

      const crossSite = await send({ origin: 'https://evil.example', 'x-gatehouse-organization': organizationId });
      assert.equal(crossSite.status, 403);
    });

    it('answers 404 with the gateway off', async () => {
      const config = gatehouse.app.context.config;
      const saved = config.gateway;
      config.gateway = { ...saved, enabled: false };
      try {
        const answer = await chat(gatehouse, keys.owners, 'gpt-4o');
        assert.equal(answer.status, 404);
        assert.deepEqual(answer.json, { error: 'not_found', error_description: 'The model gateway is turned off on this deployment (GATEHOUSE_GATEWAY=false).' });
      } finally {
        config.gateway = saved;
      }
    });

    it('hides other organizations behind 404', async () => {
      const answer = await call('owners', 'GET', `/v1/organizations/${otherOrganizationId}/providers`);
      assert.equal(answer.status, 404);
      assert.deepEqual(answer.body, { error: 'not_found', error_description: 'Organization not found.' });
    });

    it('rejects invalid provider input with the field named', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [openAI({ api_key: undefined, name: 'No key' }), 'Enter the provider API key.'],
        [openAI({ name: 'Plain http', base_url: 'http://api.example.com/v1' }), 'base_url must start with https://.'],
        [openAI({ name: 'With query', base_url: 'https://api.example.com/v1?key=1' }), 'base_url must not have a query or fragment.'],
        [openAI({ name: 'No models', kind: 'openai_compatible', models: [], base_url: 'https://llm.example.com/v1' }), 'List the models this provider serves, for example gpt-4o or my-deployment.'],
        [openAI({ name: 'Bad project', project_id: 'prj_missing' }), 'The project does not exist in this organization.'],
        [openAI({ name: 'Federation fields', federation: { audience: 'x' } }), 'Federation settings apply only when auth_method is "wif".'],
      ];
      for (const [body, description] of cases) {
        const answer = await call('owners', 'POST', providersPath(), body);
        assert.equal(answer.status, 400, `${String(body.name)}: ${answer.text}`);
        assert.deepEqual(answer.body, { error: 'invalid_request', error_description: description });
      }
      const duplicate = await call('owners', 'POST', providersPath(), openAI({ name: 'OpenAI main' }));
      assert.equal(duplicate.status, 409);
      const badKind = await call('owners', 'POST', providersPath(), openAI({ kind: 'bedrock' }));
      assert.equal(badKind.status, 400);
      assert.match(String(badKind.body.error_description), /^Invalid request: kind: /);
    });

    it('deletes a provider', async () => {
      const listed = await call('owners', 'GET', providersPath());
      const id = (listed.body.providers as Array<{ id: string; name: string }>).find((provider) => provider.name === 'OpenAI main')!.id;
      const deleted = await call('owners', 'DELETE', `${providersPath()}/${id}`);
      assert.equal(deleted.status, 204);
      const answer = await chat(gatehouse, keys.owners, 'gpt-4o');
      assert.equal(answer.status, 404);
      assert.equal(answer.json?.error, 'model_not_found');
    });
  });
}
