import type { AppContext } from '../app/context.js';
import { decryptSecret, encryptSecret } from '../crypto/key-ring.js';
import { signingKeyAssociatedData } from '../issuer/signing-keys.js';
import { providerKeyAssociatedData } from './providers.js';

/** How many records the rotation re-encrypted, and how many already used the current key. */
export interface ReencryptionResult {
  currentKeyId: string;
  providerKeys: number;
  signingKeys: number;
  alreadyCurrent: number;
}

/**
 * Re-encrypts every stored provider key and issuer signing key under the current key-encryption
 * key, in one transaction: either every record moves or none does. Afterwards the old key can be
 * removed from GATEHOUSE_KEY_ENCRYPTION_KEYS. Throws when a record's key is missing from the ring.
 */
export async function reencryptSecrets(context: AppContext): Promise<ReencryptionResult> {
  const ring = context.keys.keyRing;
  const result: ReencryptionResult = { currentKeyId: ring.current.id, providerKeys: 0, signingKeys: 0, alreadyCurrent: 0 };

  await context.store.db.transaction().execute(async (transaction) => {
    const providers = await transaction
      .selectFrom('ai_providers')
      .select(['id', 'key_sealed', 'key_encryption_key_id'])
      .where('key_sealed', 'is not', null)
      .execute();
    for (const provider of providers) {
      if (provider.key_encryption_key_id === ring.current.id) {
        result.alreadyCurrent += 1;
        continue;
      }
      const aad = providerKeyAssociatedData(provider.id);
      const plaintext = decryptSecret(ring, { keyId: provider.key_encryption_key_id ?? '', sealed: provider.key_sealed ?? '' }, aad);
      const encrypted = encryptSecret(ring, plaintext, aad);
      await transaction.updateTable('ai_providers').set({ key_sealed: encrypted.sealed, key_encryption_key_id: encrypted.keyId }).where('id', '=', provider.id).execute();
      result.providerKeys += 1;
    }

    const signingKeys = await transaction.selectFrom('issuer_signing_keys').select(['kid', 'private_key_sealed', 'key_encryption_key_id']).execute();
    for (const key of signingKeys) {
      if (key.key_encryption_key_id === ring.current.id) {
        result.alreadyCurrent += 1;
        continue;
      }
      const aad = signingKeyAssociatedData(key.kid);
      const plaintext = decryptSecret(ring, { keyId: key.key_encryption_key_id, sealed: key.private_key_sealed }, aad);
      const encrypted = encryptSecret(ring, plaintext, aad);
      await transaction.updateTable('issuer_signing_keys').set({ private_key_sealed: encrypted.sealed, key_encryption_key_id: encrypted.keyId }).where('kid', '=', key.kid).execute();
      result.signingKeys += 1;
    }
  });
  return result;
}
