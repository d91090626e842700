import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createAPIKey } from '../../src/auth/api-keys.js';
import { mintIdentityToken } from '../../src/issuer/identity-tokens.js';
import { addMembership } from '../../src/model/memberships.js';
import { builtinGroupId, createOrganization } from '../../src/model/organizations.js';
import { createUser } from '../../src/model/users.js';
import { createProvider } from '../../src/providers/providers.js';
import { reencryptSecrets } from '../../src/providers/reencrypt-secrets.js';
import { databaseCases } from '../support/databases.js';
import { startFakeProvider, type FakeProvider } from '../support/fakes/providers.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { chat, replyText } from '../support/providers.js';
import { suite } from '../support/skip.js';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

for (const database of databaseCases) {
  suite(`key-encryption key rotation (${database.name})`, database.skip, () => {
    const secret = randomBytes(32);
    const first = { id: 'kek-2026-01', key: randomBytes(32) };
    const second = { id: 'kek-2026-06', key: randomBytes(32) };
    let original: TestGatehouse;
    let fake: FakeProvider;
    let gatehouseKey: string;
    const started: TestGatehouse[] = [];

    const storedKeyIds = async (gatehouse: TestGatehouse) => {
      const db = gatehouse.app.context.store.db;
      const providers = await db.selectFrom('ai_providers').select('key_encryption_key_id').execute();
      const signing = await db.selectFrom('issuer_signing_keys').select('key_encryption_key_id').execute();
      return [...providers, ...signing].map((row) => row.key_encryption_key_id);
    };

    before(async () => {
      original = await startGatehouse(database, { secret, keyEncryptionKeys: [first], deployment: 'hosted' });
      const { context } = original.app;
      const now = context.clock();
      const organizationId = (await createOrganization(context.store.db, { name: 'Acme', plan: 'free', now })).organization.id;
      const user = await createUser(context.store.db, { email: 'owner@example.com', name: null, now });
      await addMembership(context.store.db, { organizationId, userId: user.id, groupId: await builtinGroupId(context.store.db, organizationId, 'owners'), now });
      gatehouseKey = (await createAPIKey(context, { organizationId, userId: user.id, name: 'gateway' })).key;
      fake = await startFakeProvider('openai', { issuer: `${original.url}/federation`, now: original.clock.now });
      await createProvider(context, organizationId, { kind: 'openai', name: 'OpenAI', base_url: fake.baseURL, models: ['gpt-*'], auth_method: 'api_key', api_key: fake.apiKey });
      await mintIdentityToken(context, { subject: 'org:x:provider:y', audience: 'test' });
    });
    after(async () => {
      for (const gatehouse of started.reverse()) await gatehouse.app.close();
      await fake?.close();
      await original?.close();
    });

    it('stores secrets under the first configured key', async () => {
      assert.deepEqual(await storedKeyIds(original), [first.id, first.id]);
    });

    it('re-encrypts every secret under the new key', async () => {
      const rotating = await startGatehouse(database, { secret, keyEncryptionKeys: [second, first] }, original);
      started.push(rotating);
      const result = await reencryptSecrets(rotating.app.context);
      assert.deepEqual(result, { currentKeyId: second.id, providerKeys: 1, signingKeys: 1, alreadyCurrent: 0 });
      assert.deepEqual(await storedKeyIds(rotating), [second.id, second.id]);

      const again = await reencryptSecrets(rotating.app.context);
      assert.deepEqual(again, { currentKeyId: second.id, providerKeys: 0, signingKeys: 0, alreadyCurrent: 2 });
    });

    it('works with only the new key afterwards', async () => {
      const rotated = await startGatehouse(database, { secret, keyEncryptionKeys: [second], deployment: 'hosted' }, original);
      started.push(rotated);
      const answer = await chat(rotated, gatehouseKey, 'gpt-4o');
      assert.equal(answer.status, 200, answer.text);
      assert.equal(replyText(answer.json), 'Hello from openai');
      assert.equal(fake.modelRequests().at(-1)!.headers.authorization, `Bearer ${fake.apiKey}`);
      await mintIdentityToken(rotated.app.context, { subject: 'org:x:provider:y', audience: 'test' });
    });

    it('changes nothing when a record\'s key is missing', async () => {
      const third = { id: 'kek-2027-01', key: randomBytes(32) };
      const missing = await startGatehouse(database, { secret, keyEncryptionKeys: [third] }, original);
      started.push(missing);
      await assert.rejects(reencryptSecrets(missing.app.context), { message: `key-encryption key "${second.id}" is not configured; add it to GATEHOUSE_KEY_ENCRYPTION_KEYS` });
      assert.deepEqual(await storedKeyIds(missing), [second.id, second.id]);
    });

    if (database.name === 'sqlite') {
      it('rotates from the gatehouse admin command', async () => {
        const target = original.target;
        assert.equal(target.kind, 'sqlite');
        const third = { id: 'kek-2027-01', key: randomBytes(32) };
        const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'admin', 'rotate-encryption-keys'], {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '/tmp',
            GATEHOUSE_DATA_DIR: dirname(target.kind === 'sqlite' ? target.file : ''),
            GATEHOUSE_SECRET: secret.toString('base64url'),
            GATEHOUSE_KEY_ENCRYPTION_KEYS: `${third.id}:${third.key.toString('base64url')},${second.id}:${second.key.toString('base64url')}`,
          },
          encoding: 'utf8',
        });
        assert.equal(result.status, 0, result.stderr);
        assert.equal(
          result.stdout,
          `Re-encrypted 1 provider keys and 1 issuer signing keys under key "${third.id}" (0 already used it). Keys other than "${third.id}" can now be removed from GATEHOUSE_KEY_ENCRYPTION_KEYS.\n`,
        );
        assert.deepEqual(await storedKeyIds(original), [third.id, third.id]);
      });
    }
  });
}
