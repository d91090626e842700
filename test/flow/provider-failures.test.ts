import assert from 'node:assert/strict';
import { after, before, beforeEach, it } from 'node:test';

import { createAPIKey } from '../../src/auth/api-keys.js';
import { addMembership } from '../../src/model/memberships.js';
import { builtinGroupId, createOrganization } from '../../src/model/organizations.js';
import { createUser } from '../../src/model/users.js';
import { createProvider } from '../../src/providers/providers.js';
import { databaseCases } from '../support/databases.js';
import { startFakeProvider, type FakeProvider } from '../support/fakes/providers.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { assertNoSecretsInLogs, chat, secretsSeenBy } from '../support/providers.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`gateway failures (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let anthropic: FakeProvider;
    let openai: FakeProvider;
    let gatehouseKey: string;

    before(async () => {
      gatehouse = await startGatehouse(database, { deployment: 'hosted', gateway: { enabled: true, timeoutSeconds: 1, exchangeTimeoutSeconds: 1 } });
      const { context } = gatehouse.app;
      const now = context.clock();
      const organizationId = (await createOrganization(context.store.db, { name: 'Acme', plan: 'free', now })).organization.id;
      const user = await createUser(context.store.db, { email: 'owner@example.com', name: null, now });
      await addMembership(context.store.db, { organizationId, userId: user.id, groupId: await builtinGroupId(context.store.db, organizationId, 'owners'), now });
      gatehouseKey = (await createAPIKey(context, { organizationId, userId: user.id, name: 'gateway' })).key;

      anthropic = await startFakeProvider('anthropic', { issuer: `${gatehouse.url}/federation`, now: gatehouse.clock.now });
      const federated = await createProvider(context, organizationId, {
        kind: 'anthropic',
        name: 'Anthropic WIF',
        base_url: anthropic.baseURL,
        models: ['claude-federated'],
        auth_method: 'wif',
        federation: anthropic.federation,
      });
      anthropic.expectedSubject = `org:${organizationId}:provider:${federated.id}`;

      openai = await startFakeProvider('openai', { issuer: `${gatehouse.url}/federation`, now: gatehouse.clock.now });
      await createProvider(context, organizationId, { kind: 'openai', name: 'OpenAI key', base_url: openai.baseURL, models: ['gpt-key'], auth_method: 'api_key', api_key: openai.apiKey });
    });
    beforeEach(() => {
      // Each case starts without a cached provider token, so that it exercises the exchange.
      gatehouse.clock.advance(3600);
      anthropic.tokenFaults.length = 0;
      anthropic.modelFaults.length = 0;
      anthropic.rejectIssuedTokens = false;
      openai.modelFaults.length = 0;
    });
    after(async () => {
      await anthropic?.close();
      await openai?.close();
      await gatehouse?.close();
    });

    it('retries a token endpoint 5xx once, then reports it', async () => {
      const before = anthropic.tokenRequests().length;
      anthropic.tokenFaults.push({ type: 'status', status: 503 }, { type: 'status', status: 500 });
      const answer = await chat(gatehouse, gatehouseKey, 'claude-federated');
      assert.equal(answer.status, 502);
      assert.deepEqual(answer.json, { error: 'provider_token_unavailable', error_description: 'The token endpoint of "Anthropic WIF" failed to issue a token. Try again later.' });
      assert.equal(anthropic.tokenRequests().length - before, 2);
    });

    it('recovers when the retried exchange succeeds', async () => {
      anthropic.tokenFaults.push({ type: 'status', status: 502 });
      const answer = await chat(gatehouse, gatehouseKey, 'claude-federated');
      assert.equal(answer.status, 200, answer.text);
    });

    it('times out a slow token endpoint', async () => {
      anthropic.tokenFaults.push({ type: 'slow', milliseconds: 1500 });
      const answer = await chat(gatehouse, gatehouseKey, 'claude-federated');
      assert.equal(answer.status, 504);
      assert.deepEqual(answer.json, { error: 'provider_token_timeout', error_description: 'The token endpoint of "Anthropic WIF" did not respond in time. Try again later.' });
    });

    it('rejects malformed JSON from the token endpoint', async () => {
      anthropic.tokenFaults.push({ type: 'malformed' }, { type: 'malformed' });
      const answer = await chat(gatehouse, gatehouseKey, 'claude-federated');
      assert.equal(answer.status, 502);
      assert.equal(answer.json?.error, 'provider_token_unavailable');
    });

    it('reports a rejected identity token with the provider code', async () => {
      const expected = anthropic.expectedSubject;
      anthropic.expectedSubject = 'org:someone-else';
      try {
        const answer = await chat(gatehouse, gatehouseKey, 'claude-federated');
        assert.equal(answer.status, 502);
        assert.deepEqual(answer.json, {
          error: 'provider_token_rejected',
          error_description: 'The token endpoint of "Anthropic WIF" rejected Gatehouse\'s identity token (invalid_grant). An admin should compare the issuer, subject, audience and ids shown on the provider page with the provider\'s settings.',
        });
      } finally {
        anthropic.expectedSubject = expected;
      }
    });

    it('exchanges again once when the provider rejects its token', async () => {
      anthropic.rejectIssuedTokens = true;
      const before = anthropic.tokenRequests().length;
      const modelBefore = anthropic.modelRequests().length;
      const answer = await chat(gatehouse, gatehouseKey, 'claude-federated');
      assert.equal(answer.status, 502);
      assert.deepEqual(answer.json, {
        error: 'upstream_credential_rejected',
        error_description: 'The provider "Anthropic WIF" rejected Gatehouse\'s credential. An admin should check the provider\'s key or federation settings.',
      });
      assert.equal(anthropic.tokenRequests().length - before, 2, 'one exchange, then one more after the rejection');
      assert.equal(anthropic.modelRequests().length - modelBefore, 2);
    });

    it('hides the provider message about a rejected stored key', async () => {
      const saved = openai.apiKey;
      openai.apiKey = 'sk-proj-another-key-entirely';
      try {
        const answer = await chat(gatehouse, gatehouseKey, 'gpt-key');
        assert.equal(answer.status, 502);
        assert.equal(answer.json?.error, 'upstream_credential_rejected');
        assert.ok(!answer.text.includes(saved.slice(-4)), 'no part of the key reaches the caller');
      } finally {
        openai.apiKey = saved;
      }
    });

    it('retries model API 5xx answers a bounded number of times', async () => {
      const before = openai.modelRequests().length;
      openai.modelFaults.push({ type: 'status', status: 503 }, { type: 'status', status: 500 }, { type: 'status', status: 502 }, { type: 'status', status: 500 });
      const answer = await chat(gatehouse, gatehouseKey, 'gpt-key');
      assert.equal(answer.status, 502);
      assert.deepEqual(answer.json, { error: 'upstream_unavailable', error_description: 'The provider "OpenAI key" returned errors or could not be reached. Try again later.' });
      assert.equal(openai.modelRequests().length - before, 3);
    });

    it('succeeds after one model API 5xx', async () => {
      openai.modelFaults.push({ type: 'status', status: 503 });
      const answer = await chat(gatehouse, gatehouseKey, 'gpt-key');
      assert.equal(answer.status, 200, answer.text);
    });

    it('times out a slow model API without retrying', async () => {
      const before = openai.modelRequests().length;
      openai.modelFaults.push({ type: 'slow', milliseconds: 1500 });
      const answer = await chat(gatehouse, gatehouseKey, 'gpt-key');
      assert.equal(answer.status, 504);
      assert.deepEqual(answer.json, { error: 'upstream_timeout', error_description: 'The provider "OpenAI key" did not respond within 1 s. Try again later.' });
      assert.equal(openai.modelRequests().length - before, 1);
    });

    it('passes on rate limiting with Retry-After', async () => {
      openai.modelFaults.push({ type: 'status', status: 429, headers: { 'retry-after': '7' }, body: JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }) });
      const answer = await chat(gatehouse, gatehouseKey, 'gpt-key');
      assert.equal(answer.status, 429);
      assert.equal(answer.headers.get('retry-after'), '7');
      assert.equal(answer.json?.error, 'rate_limited');
    });

    it('passes a provider 400 about the request through', async () => {
      openai.modelFaults.push({ type: 'status', status: 400, body: JSON.stringify({ error: { message: "'messages' must contain at least one message", type: 'invalid_request_error', param: 'messages', code: null } }) });
      const answer = await chat(gatehouse, gatehouseKey, 'gpt-key');
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.json, { error: { message: "'messages' must contain at least one message", type: 'invalid_request_error', param: 'messages', code: null } });
    });

    it('refuses a federation provider after a move to self-hosting', async () => {
      const config = gatehouse.app.context.config;
      config.deployment = 'self-hosted';
      try {
        const answer = await chat(gatehouse, gatehouseKey, 'claude-federated');
        assert.equal(answer.status, 409);
        assert.equal(answer.json?.error, 'federation_unavailable');
        assert.match(String(answer.json?.error_description), /^Workload identity federation is available only on a hosted deployment/);
      } finally {
        config.deployment = 'hosted';
      }
    });

    it('keeps every credential out of the logs', () => {
      assert.ok(gatehouse.logs.some((line) => line.includes('provider_token.failed')), 'the failures were logged');
      assertNoSecretsInLogs(gatehouse.logs, [gatehouseKey, ...secretsSeenBy(anthropic), ...secretsSeenBy(openai)]);
    });
  });

  suite(`federation availability (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let organizationId: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      const { context } = gatehouse.app;
      organizationId = (await createOrganization(context.store.db, { name: 'Acme', plan: 'free', now: context.clock() })).organization.id;
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('refuses federation on a self-hosted deployment', async () => {
      await assert.rejects(
        createProvider(gatehouse.app.context, organizationId, {
          kind: 'openai',
          name: 'OpenAI',
          auth_method: 'wif',
          federation: { identity_provider_id: 'wip_1', service_account_id: 'sa_1' },
        }),
        {
          name: 'InvalidRequest',
          field: 'auth_method',
          description:
            "Workload identity federation is available only on a hosted deployment, because providers must reach this deployment's public issuer URL; this one is self-hosted (GATEHOUSE_DEPLOYMENT), so use an API key.",
        },
      );
      const count = await gatehouse.app.context.store.db.selectFrom('ai_providers').select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
      assert.equal(Number(count.count), 0);
    });

    it('refuses federation with the gateway off', async () => {
      const config = gatehouse.app.context.config;
      const saved = config.gateway;
      config.deployment = 'hosted';
      config.gateway = { ...saved, enabled: false };
      try {
        await assert.rejects(
          createProvider(gatehouse.app.context, organizationId, { kind: 'azure', name: 'Azure', base_url: 'https://r.openai.azure.com/openai/v1', models: ['gpt-4o'], auth_method: 'wif', federation: { tenant_id: 't', client_id: 'c' } }),
          { description: 'Workload identity federation needs the model gateway, which is turned off on this deployment (GATEHOUSE_GATEWAY=false); use an API key.' },
        );
      } finally {
        config.deployment = 'self-hosted';
        config.gateway = saved;
      }
    });

    it('refuses federation for OpenAI-compatible endpoints', async () => {
      const config = gatehouse.app.context.config;
      config.deployment = 'hosted';
      try {
        await assert.rejects(
          createProvider(gatehouse.app.context, organizationId, { kind: 'openai_compatible', name: 'vLLM', base_url: 'https://llm.example.com/v1', models: ['llama-*'], auth_method: 'wif' }),
          { description: 'Workload identity federation is not available for OpenAI-compatible endpoint providers; use an API key.' },
        );
      } finally {
        config.deployment = 'self-hosted';
      }
    });
  });
}
