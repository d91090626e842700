import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';

import type { AppContext } from '../app/context.js';
import { decryptSecret, encryptSecret } from '../crypto/key-ring.js';
import { isUniqueViolation } from '../db/errors.js';
import type { IssuerSigningKeyTable } from '../db/schema.js';

/** Lifetime of the identity tokens Gatehouse signs, in seconds. */
export const IDENTITY_TOKEN_SECONDS = 300;

/**
 * How long a key is published before it signs. Anthropic requires at least 15 minutes and OpenAI
 * caches a JWKS for 10 minutes, so a day leaves room for slower caches and for clock skew.
 */
export const PREPUBLISH_SECONDS = 86_400;

/**
 * How long a key stays published after its successor takes over: every token it signed expires
 * within IDENTITY_TOKEN_SECONDS, and the hour covers provider clock leeway and caches.
 */
export const RETENTION_SECONDS = IDENTITY_TOKEN_SECONDS + 3600;

/** A signing key as the issuer uses it. */
export interface SigningKey {
  kid: string;
  publicJWK: JWK;
  activatesAt: Date;
  /** When the next key takes over, or undefined while none is scheduled. */
  retiresAt: Date | undefined;
}

/** Imported private keys per application context, by kid; importing PKCS #8 costs about a millisecond. */
const importedKeys = new WeakMap<AppContext, Map<string, Promise<CryptoKey>>>();

function associatedData(kid: string): string {
  return `issuer_signing_key:${kid}`;
}

async function createSigningKey(context: AppContext, activatesAt: Date): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJWK: JWK = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' };
  const encrypted = encryptSecret(context.keys.keyRing, await exportPKCS8(privateKey), associatedData(kid));
  const row: IssuerSigningKeyTable = {
    kid,
    public_jwk: JSON.stringify(publicJWK),
    private_key_sealed: encrypted.sealed,
    key_encryption_key_id: encrypted.keyId,
    created_at: context.clock().toISOString(),
    activates_at: activatesAt.toISOString(),
  };
  try {
    await context.store.db.insertInto('issuer_signing_keys').values(row).execute();
  } catch (error) {
    // Another node scheduled the same key first; its key is as good as this one.
    if (!isUniqueViolation(error)) throw error;
  }
}

async function loadKeys(context: AppContext): Promise<IssuerSigningKeyTable[]> {
  return context.store.db.selectFrom('issuer_signing_keys').selectAll().orderBy('activates_at').execute();
}

/**
 * Brings the key schedule up to date and returns the keys in activation order. The first key signs
 * at once, because no provider can trust the issuer before an admin has seen its URL. Each later
 * key is created PREPUBLISH_SECONDS before it takes over, and keys whose successor took over more
 * than RETENTION_SECONDS ago are deleted.
 */
export async function ensureSigningKeys(context: AppContext): Promise<IssuerSigningKeyTable[]> {
  const now = context.clock();
  let rows = await loadKeys(context);
  if (rows.length === 0) {
    await createSigningKey(context, now);
    rows = await loadKeys(context);
  }

  const active = rows.filter((row) => new Date(row.activates_at) <= now).at(-1) ?? rows[0]!;
  const hasSuccessor = rows.some((row) => row.activates_at > active.activates_at);
  const dueAt = new Date(active.activates_at).getTime() + context.config.issuerKeyRotationSeconds * 1000;
  if (!hasSuccessor && now.getTime() >= dueAt - PREPUBLISH_SECONDS * 1000) {
    // After downtime the scheduled time may have passed; the successor then waits the full
    // prepublication period, and the active key keeps signing meanwhile.
    // NOTE: in that case two nodes may compute different times and both create a key; the later
    // one simply takes over later.
    const activatesAt = new Date(Math.max(dueAt, now.getTime() + PREPUBLISH_SECONDS * 1000));
    await createSigningKey(context, activatesAt);
    rows = await loadKeys(context);
  }

  const expired = rows.filter((row, index) => {
    const successor = rows[index + 1];
    return successor !== undefined && new Date(successor.activates_at).getTime() + RETENTION_SECONDS * 1000 <= now.getTime() && new Date(successor.activates_at) <= now;
  });
  if (expired.length > 0) {
    await context.store.db.deleteFrom('issuer_signing_keys').where('kid', 'in', expired.map((row) => row.kid)).execute();
    rows = rows.filter((row) => !expired.includes(row));
  }
  return rows;
}

function toSigningKey(rows: IssuerSigningKeyTable[], index: number): SigningKey {
  const row = rows[index]!;
  const successor = rows[index + 1];
  return {
    kid: row.kid,
    publicJWK: JSON.parse(row.public_jwk) as JWK,
    activatesAt: new Date(row.activates_at),
    retiresAt: successor ? new Date(successor.activates_at) : undefined,
  };
}

/** Returns every published key: the active one, its scheduled successor and retired keys still kept. */
export async function publishedKeys(context: AppContext): Promise<SigningKey[]> {
  const rows = await ensureSigningKeys(context);
  return rows.map((_row, index) => toSigningKey(rows, index));
}

/** Returns the key that signs now, with its private key imported. */
export async function activeSigningKey(context: AppContext): Promise<{ kid: string; privateKey: CryptoKey }> {
  const rows = await ensureSigningKeys(context);
  const now = context.clock();
  const row = rows.filter((candidate) => new Date(candidate.activates_at) <= now).at(-1);
  if (!row) throw new Error('no issuer signing key is active');

  let cache = importedKeys.get(context);
  if (!cache) {
    cache = new Map();
    importedKeys.set(context, cache);
  }
  let imported = cache.get(row.kid);
  if (!imported) {
    const pkcs8 = decryptSecret(context.keys.keyRing, { keyId: row.key_encryption_key_id, sealed: row.private_key_sealed }, associatedData(row.kid));
    imported = importPKCS8(pkcs8, 'RS256');
    cache.set(row.kid, imported);
    const entries = cache;
    imported.catch(() => entries.delete(row.kid));
  }
  return { kid: row.kid, privateKey: await imported };
}

export { associatedData as signingKeyAssociatedData };
