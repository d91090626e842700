import { hkdfSync } from 'node:crypto';

/** Purposes for which keys are derived from the root secret; one key per purpose. */
export type KeyPurpose = 'api-key-hash' | 'csrf' | 'secret-encryption' | 'email-code-hash' | 'key-encryption';

/** Derives a 32-byte key for one purpose with HKDF-SHA-256, so one leaked use does not expose another. */
export function deriveKey(secret: Uint8Array, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `gatehouse:${purpose}`, 32));
}
