import { addSeconds, type AppContext } from '../app/context.js';
import { preparedQuery, type Store } from '../db/database.js';
import { hmacHex, newId } from '../crypto/tokens.js';
import { apiKeyHint, checkAPIKeyFormat, generateAPIKey } from './api-key-format.js';
import type { Verification } from './principal.js';

/** An API key as lists show it: never the key, only a hint. */
export interface APIKeySummary {
  id: string;
  organizationId: string;
  name: string;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  deactivatedAt: string | null;
}

/** Seconds between two writes of an API key's last-use time, so that busy keys do not write on every request. */
const LAST_USED_RESOLUTION_SECONDS = 60;

/** Returns the keyed hash stored for an API key. HMAC with a server key, so a leaked table cannot be brute-forced offline. */
export function hashAPIKey(context: AppContext, key: string): string {
  return hmacHex(context.keys.apiKeyHash, key);
}

/** Creates an API key for a member of an organization. The returned `key` is the only copy that will ever exist. */
export async function createAPIKey(
  context: AppContext,
  input: { organizationId: string; userId: string; name: string },
): Promise<APIKeySummary & { key: string }> {
  const key = generateAPIKey();
  const row = {
    id: newId('key'),
    organization_id: input.organizationId,
    user_id: input.userId,
    name: input.name,
    key_hash: hashAPIKey(context, key),
    hint: apiKeyHint(key),
    created_at: context.clock().toISOString(),
    last_used_at: null,
    deactivated_at: null,
  };
  await context.store.db.insertInto('api_keys').values(row).execute();
  return { ...toSummary(row), key };
}

/** Lists a user's API keys in one organization, newest first. */
export async function listAPIKeys(context: AppContext, organizationId: string, userId: string): Promise<APIKeySummary[]> {
  const rows = await context.store.db
    .selectFrom('api_keys')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
  return rows.map(toSummary);
}

/** Deactivates one of the user's keys. Returns false when no active key with that id belongs to the user. */
export async function deactivateAPIKey(
  context: AppContext,
  input: { id: string; organizationId: string; userId: string },
): Promise<boolean> {
  const result = await context.store.db
    .updateTable('api_keys')
    .set({ deactivated_at: context.clock().toISOString() })
    .where('id', '=', input.id)
    .where('organization_id', '=', input.organizationId)
    .where('user_id', '=', input.userId)
    .where('deactivated_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Verifies a presented API key: format and checksum first (no storage work for garbage), then one
 * indexed lookup that also requires the owner to still be a member of the key's organization.
 *
 * NOTE: results are not cached, so a deactivation or removal takes effect on the next request on
 * every node. The lookup caps whoami at about a third of an unauthenticated route's throughput
 * (docs/benchmarks.md); a cache would trade that guarantee for speed.
 */
export async function verifyAPIKey(context: AppContext, key: string): Promise<Verification> {
  const problem = checkAPIKeyFormat(key);
  if (problem) return { ok: false, reason: problem };

  const [row] = await lookup(context.store)([hashAPIKey(context, key)]);

  if (!row) return { ok: false, reason: 'unknown' };
  if (row.deactivatedAt) return { ok: false, reason: 'deactivated' };
  if (!row.organizationId || !row.organizationName || !row.plan || !row.groupId || !row.groupName || !row.role) {
    return { ok: false, reason: 'not_member' };
  }

  const now = context.clock();
  if (!row.lastUsedAt || row.lastUsedAt < addSeconds(now, -LAST_USED_RESOLUTION_SECONDS)) {
    await context.store.db.updateTable('api_keys').set({ last_used_at: now.toISOString() }).where('id', '=', row.keyId).execute();
  }

  return {
    ok: true,
    principal: {
      user: { id: row.userId, email: row.email, name: row.userName },
      organizations: [
        {
          organizationId: row.organizationId,
          organizationName: row.organizationName,
          plan: row.plan,
          groupId: row.groupId,
          groupName: row.groupName,
          role: row.role,
        },
      ],
      credential: { method: 'api_key', apiKeyId: row.keyId },
    },
  };
}

const KEY_HASH_PLACEHOLDER = '';

/** Builds the key lookup, compiled once: the key by its hash with its user, membership, organization and group. */
function buildKeyLookup(store: Store) {
  return store.db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .leftJoin('memberships', (join) =>
      join.onRef('memberships.user_id', '=', 'api_keys.user_id').onRef('memberships.organization_id', '=', 'api_keys.organization_id'),
    )
    .leftJoin('organizations', 'organizations.id', 'memberships.organization_id')
    .leftJoin('permission_groups', 'permission_groups.id', 'memberships.group_id')
    .select([
      'api_keys.id as keyId',
      'api_keys.deactivated_at as deactivatedAt',
      'api_keys.last_used_at as lastUsedAt',
      'users.id as userId',
      'users.email as email',
      'users.name as userName',
      'organizations.id as organizationId',
      'organizations.name as organizationName',
      'organizations.plan as plan',
      'permission_groups.id as groupId',
      'permission_groups.name as groupName',
      'permission_groups.role as role',
    ])
    .where('api_keys.key_hash', '=', KEY_HASH_PLACEHOLDER)
    .compile();
}

/** The lookup, prepared once per store. */
const lookup = preparedQuery('gatehouse_verify_api_key', buildKeyLookup);

function toSummary(row: {
  id: string;
  organization_id: string;
  name: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
  deactivated_at: string | null;
}): APIKeySummary {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    hint: row.hint,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    deactivatedAt: row.deactivated_at,
  };
}
