import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import type { Config } from '../config/config.js';
import { deriveKey } from '../config/keys.js';

/** Id of the key-encryption key that HKDF derives from GATEHOUSE_SECRET when none is configured. */
export const DERIVED_KEY_ID = 'derived';

/** Key-encryption keys by id; `current` encrypts, every key decrypts. */
export interface KeyRing {
  current: { id: string; key: Buffer };
  keys: ReadonlyMap<string, Buffer>;
}

/** A secret encrypted under one key of the ring, with that key's id. */
export interface EncryptedSecret {
  keyId: string;
  sealed: string;
}

const FORMAT = 'v1';

/**
 * Builds the key ring from configuration. The first configured key encrypts. The key derived from
 * GATEHOUSE_SECRET always stays in the ring for decryption, so records written before keys were
 * configured still open until the rotation command has re-encrypted them.
 */
export function keyRingFrom(config: Pick<Config, 'secret' | 'keyEncryptionKeys'>): KeyRing {
  const derived = { id: DERIVED_KEY_ID, key: deriveKey(config.secret, 'key-encryption') };
  const keys = new Map<string, Buffer>([[derived.id, derived.key]]);
  for (const entry of config.keyEncryptionKeys) keys.set(entry.id, entry.key);
  return { current: config.keyEncryptionKeys[0] ?? derived, keys };
}

/**
 * Encrypts a secret with AES-256-GCM under the ring's current key. The key id and `associatedData`
 * (the owning record) are authenticated, so a value copied to another record, or relabelled with
 * another key id, fails to decrypt.
 */
export function encryptSecret(ring: KeyRing, plaintext: string, associatedData: string): EncryptedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.current.key, iv);
  cipher.setAAD(Buffer.from(`${ring.current.id}\n${associatedData}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const sealed = [FORMAT, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  return { keyId: ring.current.id, sealed };
}

/** Decrypts a value from encryptSecret. Throws when the key id is unknown or the value was altered. */
export function decryptSecret(ring: KeyRing, secret: EncryptedSecret, associatedData: string): string {
  const key = ring.keys.get(secret.keyId);
  if (!key) throw new Error(`key-encryption key "${secret.keyId}" is not configured; add it to GATEHOUSE_KEY_ENCRYPTION_KEYS`);
  const [format, iv, ciphertext, tag] = secret.sealed.split('.');
  if (format !== FORMAT || !iv || ciphertext === undefined || !tag) throw new Error('encrypted secret has an unknown format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(`${secret.keyId}\n${associatedData}`, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
