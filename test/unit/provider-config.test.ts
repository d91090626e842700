import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../../src/config/load.js';

const secret = Buffer.alloc(32, 7).toString('base64url');
const keyA = Buffer.alloc(32, 1).toString('base64url');
const keyB = Buffer.alloc(32, 2).toString('base64url');

function load(env: Record<string, string>) {
  return loadConfig({ env: { GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-config-')), GATEHOUSE_SECRET: secret, ...env }, warn: () => {} });
}

describe('provider configuration', () => {
  it('defaults to self-hosted with the gateway on', () => {
    const config = load({});
    assert.equal(config.deployment, 'self-hosted');
    assert.deepEqual(config.gateway, { enabled: true, timeoutSeconds: 120, exchangeTimeoutSeconds: 10 });
    assert.deepEqual(config.keyEncryptionKeys, []);
    assert.equal(config.issuerKeyRotationSeconds, 30 * 86_400);
  });

  it('reads key-encryption keys in order', () => {
    const config = load({ GATEHOUSE_KEY_ENCRYPTION_KEYS: `new-key:${keyB},old-key:${keyA}`, GATEHOUSE_DEPLOYMENT: 'hosted', GATEHOUSE_GATEWAY: 'false' });
    assert.deepEqual(
      config.keyEncryptionKeys.map((entry) => [entry.id, entry.key.toString('base64url')]),
      [
        ['new-key', keyB],
        ['old-key', keyA],
      ],
    );
    assert.equal(config.deployment, 'hosted');
    assert.equal(config.gateway.enabled, false);
  });

  it('rejects malformed key-encryption keys', () => {
    const cases: Array<[string, RegExp]> = [
      [`only-id`, /GATEHOUSE_KEY_ENCRYPTION_KEYS: must be ID:KEY pairs/],
      [`short:${keyA.slice(0, 20)}`, /GATEHOUSE_KEY_ENCRYPTION_KEYS: must be ID:KEY pairs/],
      [`same:${keyA},same:${keyB}`, /GATEHOUSE_KEY_ENCRYPTION_KEYS: must not repeat a key id/],
      [`derived:${keyA}`, /GATEHOUSE_KEY_ENCRYPTION_KEYS: must not use the id "derived"/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => load({ GATEHOUSE_KEY_ENCRYPTION_KEYS: value }), (error: unknown) => error instanceof ConfigError && message.test(error.message), value);
    }
  });

  it('rejects an unknown deployment mode', () => {
    assert.throws(
      () => load({ GATEHOUSE_DEPLOYMENT: 'hybrid' }),
      (error: unknown) => error instanceof ConfigError && /GATEHOUSE_DEPLOYMENT: .*Expected: hosted or self-hosted/.test(error.message),
    );
  });

  it('rejects a rotation period under two days', () => {
    assert.throws(() => load({ GATEHOUSE_ISSUER_KEY_ROTATION_DAYS: '1' }), (error: unknown) => error instanceof ConfigError && /GATEHOUSE_ISSUER_KEY_ROTATION_DAYS/.test(error.message));
  });
});
