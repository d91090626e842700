import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { startFakeProvider, type FakeKind, type FakeProvider } from '../support/fakes/providers.js';
import { createKeyInUI, setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { addProviderInUI, assertNoSecretsInLogs, chat, providerIdByName, replyText, secretsSeenBy, subjectOnPage } from '../support/providers.js';
import { suite } from '../support/skip.js';

const kinds: FakeKind[] = ['openai', 'anthropic', 'google', 'azure'];
const keyModel = (kind: FakeKind) => `${kind === 'google' ? 'gemini' : kind}-stored-key`;
const federatedModel = (kind: FakeKind) => `${kind === 'google' ? 'gemini' : kind}-federated`;

/** The header that must carry the stored key, per provider. */
const keyHeader: Record<FakeKind, { name: string; prefix: string }> = {
  openai: { name: 'authorization', prefix: 'Bearer ' },
  anthropic: { name: 'x-api-key', prefix: '' },
  google: { name: 'x-goog-api-key', prefix: '' },
  azure: { name: 'api-key', prefix: '' },
};

for (const database of databaseCases) {
  suite(`AI providers and the gateway (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    let gatehouseKey: string;
    const fakes = {} as Record<FakeKind, FakeProvider>;

    before(async () => {
      gatehouse = await startGatehouse(database, { deployment: 'hosted' });
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
      gatehouseKey = await createKeyInUI(browser, gatehouse, organizationId, 'gateway');
      for (const kind of kinds) fakes[kind] = await startFakeProvider(kind, { issuer: `${gatehouse.url}/federation`, now: gatehouse.clock.now });
    });
    after(async () => {
      for (const fake of Object.values(fakes)) await fake.close();
      await gatehouse?.close();
    });

    it('routes each provider with its stored key', async () => {
      for (const kind of kinds) {
        const fake = fakes[kind];
        const added = await addProviderInUI(browser, gatehouse, organizationId, {
          kind,
          name: `${kind} key`,
          baseURL: fake.baseURL,
          models: keyModel(kind),
          authMethod: 'api_key',
          apiKey: fake.apiKey,
        });
        assert.equal(added.status, 201, `${kind}: ${added.body.slice(0, 2000)}`);
        assert.ok(!added.body.includes(fake.apiKey), `${kind}: the page does not show the key`);
        assert.ok(added.body.includes(`…${fake.apiKey.slice(-4)}`), `${kind}: the page shows the key hint`);

        const answer = await chat(gatehouse, gatehouseKey, keyModel(kind));
        assert.equal(answer.status, 200, `${kind}: ${answer.text}`);
        assert.equal(replyText(answer.json), `Hello from ${kind}`);

        const received = fake.modelRequests().at(-1)!;
        assert.equal(received.headers[keyHeader[kind].name], `${keyHeader[kind].prefix}${fake.apiKey}`, `${kind}: key header`);
        const sentModel = (JSON.parse(received.body) as { model: string }).model;
        assert.equal(sentModel, kind === 'google' ? `google/${keyModel(kind)}` : keyModel(kind));
        assert.ok(!JSON.stringify(received.headers).includes(gatehouseKey), `${kind}: the caller's key is not forwarded`);
        if (kind !== 'openai') assert.equal(received.headers.authorization, undefined, `${kind}: no Authorization header besides the key header`);
      }
      assertNoSecretsInLogs(gatehouse.logs, [gatehouseKey, ...kinds.map((kind) => fakes[kind].apiKey)]);
    });

    it('never returns a stored key from the API', async () => {
      const response = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/providers`, { headers: { authorization: `Bearer ${gatehouseKey}` } });
      const text = await response.text();
      assert.equal(response.status, 200);
      for (const kind of kinds) assert.ok(!text.includes(fakes[kind].apiKey), `${kind} key absent`);
      const openai = (JSON.parse(text) as { providers: Array<Record<string, unknown>> }).providers.find((provider) => provider.name === 'openai key')!;
      assert.equal(openai.key_hint, `…${fakes.openai.apiKey.slice(-4)}`);
      assert.equal(openai.auth_method, 'api_key');
      assert.equal('api_key' in openai, false);
      const row = await gatehouse.app.context.store.db.selectFrom('ai_providers').select(['key_sealed', 'key_encryption_key_id']).where('name', '=', 'openai key').executeTakeFirstOrThrow();
      assert.ok(!row.key_sealed!.includes(fakes.openai.apiKey.slice(8)), 'the database holds the key encrypted');
      assert.equal(row.key_encryption_key_id, 'derived');
    });

    it('routes each provider through workload identity federation', async () => {
      for (const kind of kinds) {
        const fake = fakes[kind];
        const added = await addProviderInUI(browser, gatehouse, organizationId, {
          kind,
          name: `${kind} wif`,
          baseURL: fake.baseURL,
          models: federatedModel(kind),
          authMethod: 'wif',
          federation: fake.federation,
        });
        assert.equal(added.status, 201, `${kind}: ${added.body.slice(0, 3000)}`);
        const providerId = await providerIdByName(gatehouse, organizationId, gatehouseKey, `${kind} wif`);
        const subject = subjectOnPage(added.body, providerId);
        assert.equal(subject, `org:${organizationId}:provider:${providerId}`);
        assert.ok(added.body.includes(`<dt>Issuer</dt><dd><code>${gatehouse.url}/federation</code>`), `${kind}: issuer shown`);
        fake.expectedSubject = subject;

        const tokenRequestsBefore = fake.tokenRequests().length;
        const first = await chat(gatehouse, gatehouseKey, federatedModel(kind));
        assert.equal(first.status, 200, `${kind}: ${first.text}`);
        assert.equal(replyText(first.json), `Hello from ${kind}`);
        const exchanges = kind === 'google' ? 2 : 1;
        assert.equal(fake.tokenRequests().length - tokenRequestsBefore, exchanges, `${kind}: one exchange`);

        const received = fake.modelRequests().at(-1)!;
        const token = /^Bearer (.+)$/.exec(String(received.headers.authorization))?.[1];
        assert.ok(token, `${kind}: the model API got a bearer token`);
        assert.ok(fake.issuedTokens.has(token), `${kind}: the bearer token is the exchanged one`);
        if (kind === 'anthropic') assert.equal(received.headers['anthropic-beta'], 'oauth-2025-04-20');

        const second = await chat(gatehouse, gatehouseKey, federatedModel(kind));
        assert.equal(second.status, 200, second.text);
        assert.equal(fake.tokenRequests().length - tokenRequestsBefore, exchanges, `${kind}: the cached token is reused`);
        assert.equal(fake.trust.rejections.length, 0, `${kind}: ${fake.trust.rejections.join('; ')}`);
      }
      for (const kind of kinds) assertNoSecretsInLogs(gatehouse.logs, secretsSeenBy(fakes[kind]));
    });

    it('sends the exchange fields each provider documents', async () => {
      const openai = JSON.parse(fakes.openai.tokenRequests()[0]!.body) as Record<string, string>;
      assert.deepEqual(Object.keys(openai).sort(), ['grant_type', 'identity_provider_id', 'service_account_id', 'subject_token', 'subject_token_type']);
      assert.equal(openai.subject_token_type, 'urn:ietf:params:oauth:token-type:jwt');

      const anthropic = fakes.anthropic.tokenRequests()[0]!;
      assert.equal(anthropic.headers['anthropic-beta'], 'oauth-2025-04-20,oidc-federation-2026-04-01');
      assert.equal((JSON.parse(anthropic.body) as Record<string, string>).grant_type, 'urn:ietf:params:oauth:grant-type:jwt-bearer');

      const [sts, impersonation] = fakes.google.tokenRequests();
      assert.equal(sts!.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.equal(sts!.headers.authorization, undefined);
      assert.equal(new URLSearchParams(sts!.body).get('audience'), '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/gatehouse-pool/providers/gatehouse-oidc');
      assert.match(impersonation!.path, /^\/v1\/projects\/-\/serviceAccounts\/vertex-caller%40example-project\.iam\.gserviceaccount\.com:generateAccessToken$/);

      const azure = new URLSearchParams(fakes.azure.tokenRequests()[0]!.body);
      assert.equal(azure.get('grant_type'), 'client_credentials');
      assert.equal(azure.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      assert.equal(azure.get('scope'), 'https://cognitiveservices.azure.com/.default');
    });

    it('shares one exchange among concurrent calls', async () => {
      // OpenAI tokens live no longer than the five-minute identity token, so they are all due now.
      gatehouse.clock.advance(300);
      const before = fakes.openai.tokenRequests().length;
      const answers = await Promise.all(Array.from({ length: 5 }, () => chat(gatehouse, gatehouseKey, federatedModel('openai'))));
      assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 200, 200, 200]);
      assert.equal(fakes.openai.tokenRequests().length - before, 1);
    });

    it('streams chat completions as server-sent events', async () => {
      const answer = await chat(gatehouse, gatehouseKey, keyModel('openai'), { stream: true });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const events = answer.text.split('\n\n').filter(Boolean);
      assert.equal(events.at(-1), 'data: [DONE]');
      const words = events.slice(0, -1).map((event) => (JSON.parse(event.slice('data: '.length)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta.content ?? '');
      assert.equal(words.join(''), 'Hello from openai');
    });

    it('passes Anthropic messages through', async () => {
      const response = await fetch(`${gatehouse.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': gatehouseKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: keyModel('anthropic'), max_tokens: 64, messages: [{ role: 'user', content: 'Say hello' }] }),
      });
      const body = (await response.json()) as { type: string; content: Array<{ text: string }> };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.type, 'message');
      assert.equal(body.content[0]!.text, 'Hello from anthropic');
      const received = fakes.anthropic.modelRequests().at(-1)!;
      assert.equal(received.path, '/v1/messages');
      assert.equal(received.headers['x-api-key'], fakes.anthropic.apiKey);
      assert.equal(received.headers['anthropic-version'], '2023-06-01');
    });

    it('streams Anthropic messages through', async () => {
      const response = await fetch(`${gatehouse.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': gatehouseKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: federatedModel('anthropic'), max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Say hello' }] }),
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const types = text.split('\n\n').filter(Boolean).map((event) => (JSON.parse(event.slice('data: '.length)) as { type: string }).type);
      assert.deepEqual(types, ['message_start', 'content_block_delta', 'message_stop']);
      const received = fakes.anthropic.modelRequests().at(-1)!;
      assert.match(String(received.headers.authorization), /^Bearer sk-ant-oat01-/);
      assert.equal(received.headers['x-api-key'], undefined);
    });

    it('lets a project provider override the organization', async () => {
      const project = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gatehouseKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'search' }),
      });
      const projectId = ((await project.json()) as { id: string }).id;
      const override = await startFakeProvider('openai', { issuer: `${gatehouse.url}/federation`, now: gatehouse.clock.now });
      try {
        const added = await addProviderInUI(browser, gatehouse, organizationId, {
          kind: 'openai_compatible',
          name: 'search models',
          baseURL: override.baseURL,
          models: keyModel('openai'),
          authMethod: 'api_key',
          apiKey: override.apiKey,
          projectId,
        });
        assert.equal(added.status, 201, added.body.slice(0, 2000));

        const inProject = await chat(gatehouse, gatehouseKey, keyModel('openai'), { project: projectId });
        assert.equal(inProject.status, 200, inProject.text);
        assert.equal(override.modelRequests().length, 1);

        const before = fakes.openai.modelRequests().length;
        const outside = await chat(gatehouse, gatehouseKey, keyModel('openai'));
        assert.equal(outside.status, 200);
        assert.equal(fakes.openai.modelRequests().length, before + 1);
        assert.equal(override.modelRequests().length, 1);

        const federated = await addProviderInUI(browser, gatehouse, organizationId, {
          kind: 'openai',
          name: 'search wif',
          baseURL: override.baseURL,
          models: 'gpt-search',
          authMethod: 'wif',
          federation: override.federation,
          projectId,
        });
        assert.equal(federated.status, 400);
        assert.ok(federated.body.includes('Workload identity federation is available only for organization-level providers; a project-level provider uses an API key.'));
      } finally {
        await override.close();
      }
    });

    it('answers an unknown model with model_not_found', async () => {
      const answer = await chat(gatehouse, gatehouseKey, 'no-such-model');
      assert.equal(answer.status, 404);
      assert.deepEqual(answer.json, {
        error: 'model_not_found',
        error_description: 'No AI provider of this organization or project serves the model "no-such-model". Add the model to a provider under Settings → AI providers.',
      });
    });
  });
}
