import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { decryptSecret, DERIVED_KEY_ID, encryptSecret, keyRingFrom } from '../../src/crypto/key-ring.js';

describe('key ring', () => {
  const secret = randomBytes(32);
  const configured = { id: 'kek-1', key: randomBytes(32) };

  it('encrypts under the first configured key', () => {
    const ring = keyRingFrom({ secret, keyEncryptionKeys: [configured] });
    const encrypted = encryptSecret(ring, 'sk-test-secret-value', 'ai_provider:prv_1');
    assert.equal(encrypted.keyId, 'kek-1');
    assert.ok(!encrypted.sealed.includes('sk-test'));
    assert.equal(decryptSecret(ring, encrypted, 'ai_provider:prv_1'), 'sk-test-secret-value');
  });

  it('falls back to the key derived from the secret', () => {
    const ring = keyRingFrom({ secret, keyEncryptionKeys: [] });
    const encrypted = encryptSecret(ring, 'value', 'row');
    assert.equal(encrypted.keyId, DERIVED_KEY_ID);
    const later = keyRingFrom({ secret, keyEncryptionKeys: [configured] });
    assert.equal(decryptSecret(later, encrypted, 'row'), 'value', 'records from before keys were configured still open');
  });

  it('rejects a value moved to another record', () => {
    const ring = keyRingFrom({ secret, keyEncryptionKeys: [configured] });
    const encrypted = encryptSecret(ring, 'value', 'ai_provider:prv_1');
    assert.throws(() => decryptSecret(ring, encrypted, 'ai_provider:prv_2'), { message: 'Unsupported state or unable to authenticate data' });
  });

  it('rejects a value relabelled with another key id', () => {
    const other = { id: 'kek-2', key: configured.key };
    const ring = keyRingFrom({ secret, keyEncryptionKeys: [configured, other] });
    const encrypted = encryptSecret(ring, 'value', 'row');
    assert.throws(() => decryptSecret(ring, { ...encrypted, keyId: 'kek-2' }, 'row'), { message: 'Unsupported state or unable to authenticate data' });
  });

  it('names a missing key id', () => {
    const ring = keyRingFrom({ secret, keyEncryptionKeys: [configured] });
    assert.throws(() => decryptSecret(ring, { keyId: 'kek-9', sealed: 'v1.a.b.c' }, 'row'), {
      message: 'key-encryption key "kek-9" is not configured; add it to GATEHOUSE_KEY_ENCRYPTION_KEYS',
    });
  });
});
