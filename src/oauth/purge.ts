import { sql } from 'kysely';

import { addSeconds, type AppContext } from '../app/context.js';

/** Rows removed by one OAuth purge, by table. */
export interface OAuthPurgeCounts {
  oauthCodes: number;
  oauthTokens: number;
  oauthGrants: number;
}

/** Seconds a code row outlives its expiry, so that a late replay is still recognised and revokes its grant. */
const CODE_RETENTION_SECONDS = 24 * 60 * 60;

/**
 * Deletes OAuth rows that can no longer be used: codes a day after they expired, expired access and
 * refresh tokens, and grants left without any token. A rotated refresh token stays until it expires,
 * because its reuse must still revoke the grant. A grant without tokens can never be used again,
 * and deleting it also takes it off the Connected apps page.
 */
export async function purgeExpiredOAuth(context: AppContext): Promise<OAuthPurgeCounts> {
  const now = context.clock();
  const nowISO = now.toISOString();
  const { db } = context.store;

  const codes = await db.deleteFrom('oauth_codes').where('expires_at', '<', addSeconds(now, -CODE_RETENTION_SECONDS)).executeTakeFirst();
  const tokens = await db.deleteFrom('oauth_tokens').where('expires_at', '<=', nowISO).executeTakeFirst();
  const grants = await db
    .deleteFrom('oauth_grants')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('oauth_tokens').select(sql`1`.as('one')).whereRef('oauth_tokens.grant_id', '=', 'oauth_grants.id'))))
    .executeTakeFirst();

  return {
    oauthCodes: Number(codes.numDeletedRows),
    oauthTokens: Number(tokens.numDeletedRows),
    oauthGrants: Number(grants.numDeletedRows),
  };
}
