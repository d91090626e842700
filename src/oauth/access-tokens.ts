import { addSeconds, type AppContext } from '../app/context.js';
import type { Verification } from '../auth/principal.js';
import { sha256Hex } from '../crypto/tokens.js';
import { preparedQuery, type Store } from '../db/database.js';
import { ACCESS_TOKEN_PREFIX } from './tokens.js';

/** Seconds between two writes of a grant's last-use time. */
const LAST_USED_RESOLUTION_SECONDS = 60;

/**
 * Verifies an access token: its shape first, then one indexed lookup joined with its grant and the
 * user's current membership in the grant's organization. A token works only while it is unexpired,
 * its grant is not revoked, its audience is `resource`, and the user is still a member, so removing
 * a member or revoking a grant takes effect on the next request.
 */
export async function verifyAccessToken(context: AppContext, token: string, resource: string): Promise<Verification> {
  if (!token.startsWith(ACCESS_TOKEN_PREFIX) || !/^[A-Za-z0-9_-]{43}$/.test(token.slice(ACCESS_TOKEN_PREFIX.length))) {
    return { ok: false, reason: 'malformed' };
  }

  const [row] = await lookup(context.store)([sha256Hex(token), 'access']);
  if (!row) return { ok: false, reason: 'unknown' };

  const now = context.clock();
  if (row.expiresAt <= now.toISOString()) return { ok: false, reason: 'expired' };
  if (row.revokedAt !== null) return { ok: false, reason: 'revoked' };
  if (row.resource !== resource) return { ok: false, reason: 'wrong_audience' };
  if (!row.organizationId || !row.organizationName || !row.plan || !row.groupId || !row.groupName || !row.role) {
    return { ok: false, reason: 'not_member' };
  }

  if (!row.lastUsedAt || row.lastUsedAt < addSeconds(now, -LAST_USED_RESOLUTION_SECONDS)) {
    await context.store.db.updateTable('oauth_grants').set({ last_used_at: now.toISOString() }).where('id', '=', row.grantId).execute();
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
      credential: { method: 'oauth', grantId: row.grantId, clientId: row.clientId, scopes: row.scope.split(' ') },
    },
  };
}


/** Builds the token lookup once: the access token by hash, with its grant, user and current membership. */
function buildTokenLookup(store: Store) {
  return store.db
    .selectFrom('oauth_tokens')
    .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_tokens.grant_id')
    .innerJoin('users', 'users.id', 'oauth_grants.user_id')
    .leftJoin('memberships', (join) =>
      join.onRef('memberships.user_id', '=', 'oauth_grants.user_id').onRef('memberships.organization_id', '=', 'oauth_grants.organization_id'),
    )
    .leftJoin('organizations', 'organizations.id', 'memberships.organization_id')
    .leftJoin('permission_groups', 'permission_groups.id', 'memberships.group_id')
    .select([
      'oauth_tokens.expires_at as expiresAt',
      'oauth_tokens.scope as scope',
      'oauth_grants.id as grantId',
      'oauth_grants.client_id as clientId',
      'oauth_grants.resource as resource',
      'oauth_grants.revoked_at as revokedAt',
      'oauth_grants.last_used_at as lastUsedAt',
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
    .where('oauth_tokens.token_hash', '=', '')
    .where('oauth_tokens.kind', '=', 'access')
    .compile();
}

/** The lookup, prepared once per store. */
const lookup = preparedQuery('gatehouse_verify_access_token', buildTokenLookup);
