import { createHash } from 'node:crypto';

import type { Insertable, Transaction } from 'kysely';

import { addSeconds, type AppContext } from '../app/context.js';
import { constantTimeEqual, newId, randomToken, sha256Hex } from '../crypto/tokens.js';
import type { Database, OAuthTokenTable } from '../db/schema.js';
import { InvalidRequest } from '../http/errors.js';
import type { OAuthClient } from './clients.js';
import { InvalidGrant, InvalidScope, InvalidTarget, UnauthorizedClient } from './errors.js';
import { normalizeResource } from './resource.js';
import { ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_SECONDS } from './server-metadata.js';

/** Prefixes that tell access tokens, refresh tokens and API keys apart before any lookup. */
export const ACCESS_TOKEN_PREFIX = 'gho_';
export const REFRESH_TOKEN_PREFIX = 'ghr_';

/** RFC 6749 section 5.1 token response; optional members are left out, never null. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

/** Result of a token transaction; failures return instead of throwing so that a replay's revocation commits. */
type Outcome = { ok: true; response: TokenResponse } | { ok: false; detail: string } | { ok: false; error: Error };

/**
 * Redeems an authorization code (RFC 6749 section 4.1.3 with PKCE, RFC 7636 section 4.6). The code is
 * marked used by a conditional update, so of two concurrent redemptions exactly one wins. A code
 * presented again revokes the grant it produced (RFC 6749 section 4.1.2), and that revocation is
 * committed even though the request fails.
 */
export async function exchangeAuthorizationCode(
  context: AppContext,
  client: OAuthClient,
  input: { code: string; codeVerifier: string | undefined; redirectURI: string | undefined; resource: string | undefined },
): Promise<TokenResponse> {
  if (!input.codeVerifier) throw new InvalidRequest('code_verifier is required: this server requires PKCE.');
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(input.codeVerifier)) {
    throw new InvalidRequest('code_verifier must be 43 to 128 characters of letters, digits and - . _ ~ (RFC 7636 section 4.1).');
  }
  const resource = input.resource === undefined ? undefined : normalizeResource(input.resource);

  const outcome = await context.store.db.transaction().execute(async (transaction): Promise<Outcome> => {
    const now = context.clock();
    const nowISO = now.toISOString();
    const code = await transaction.selectFrom('oauth_codes').selectAll().where('code_hash', '=', sha256Hex(input.code)).executeTakeFirst();
    if (!code) return { ok: false, detail: 'unknown code' };
    if (code.client_id !== client.clientId) return { ok: false, detail: 'code issued to another client' };
    if (code.used_at !== null) return replay(transaction, code.grant_id, nowISO);
    if (code.expires_at <= nowISO) return { ok: false, detail: 'code expired' };
    if (input.redirectURI !== code.redirect_uri) return { ok: false, detail: 'redirect_uri differs from the authorization request' };
    if (!constantTimeEqual(s256(input.codeVerifier!), code.code_challenge)) return { ok: false, detail: 'PKCE verifier mismatch' };
    if (resource !== undefined && resource !== code.resource) return { ok: false, error: new InvalidTarget('The resource differs from the one in the authorization request.') };

    const claimed = await transaction.updateTable('oauth_codes').set({ used_at: nowISO }).where('code_hash', '=', code.code_hash).where('used_at', 'is', null).executeTakeFirst();
    if (claimed.numUpdatedRows === 0n) {
      const current = await transaction.selectFrom('oauth_codes').select('grant_id').where('code_hash', '=', code.code_hash).executeTakeFirst();
      return replay(transaction, current?.grant_id ?? null, nowISO);
    }
    if (!(await isMember(transaction, code.user_id, code.organization_id))) return { ok: false, detail: 'user is no longer a member of the organization' };

    const grantId = newId('grant');
    await transaction
      .insertInto('oauth_grants')
      .values({
        id: grantId,
        client_id: client.clientId,
        user_id: code.user_id,
        organization_id: code.organization_id,
        scope: code.scope,
        resource: code.resource,
        created_at: nowISO,
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    await transaction.updateTable('oauth_codes').set({ grant_id: grantId }).where('code_hash', '=', code.code_hash).execute();
    return { ok: true, response: await issueTokens(transaction, now, grantId, code.scope, client.grantTypes.includes('refresh_token')) };
  });

  if (!outcome.ok) throw 'error' in outcome ? outcome.error : new InvalidGrant(outcome.detail);
  return outcome.response;
}

/**
 * Exchanges a refresh token for new tokens and rotates it (OAuth 2.1 section 4.3.1). Using a refresh
 * token that was already rotated revokes the whole grant, because either the client or an attacker
 * has a stolen copy, and the server cannot know which. Two concurrent uses of one token count as reuse.
 */
export async function refreshTokens(
  context: AppContext,
  client: OAuthClient,
  input: { refreshToken: string; scope: string | undefined; resource: string | undefined },
): Promise<TokenResponse> {
  if (!client.grantTypes.includes('refresh_token')) throw new UnauthorizedClient('The client is not registered for the refresh_token grant.');
  const resource = input.resource === undefined ? undefined : normalizeResource(input.resource);

  const outcome = await context.store.db.transaction().execute(async (transaction): Promise<Outcome> => {
    const now = context.clock();
    const nowISO = now.toISOString();
    const token = await transaction
      .selectFrom('oauth_tokens')
      .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_tokens.grant_id')
      // The membership is joined here rather than read later, which saves a statement per refresh.
      .leftJoin('memberships', (join) =>
        join.onRef('memberships.user_id', '=', 'oauth_grants.user_id').onRef('memberships.organization_id', '=', 'oauth_grants.organization_id'),
      )
      .select([
        'memberships.user_id as memberUserId',
        'oauth_tokens.token_hash as tokenHash',
        'oauth_tokens.expires_at as expiresAt',
        'oauth_tokens.used_at as usedAt',
        'oauth_grants.id as grantId',
        'oauth_grants.client_id as clientId',
        'oauth_grants.scope as scope',
        'oauth_grants.resource as resource',
        'oauth_grants.revoked_at as revokedAt',
      ])
      .where('oauth_tokens.token_hash', '=', sha256Hex(input.refreshToken))
      .where('oauth_tokens.kind', '=', 'refresh')
      .executeTakeFirst();
    if (!token) return { ok: false, detail: 'unknown refresh token' };
    if (token.clientId !== client.clientId) return { ok: false, detail: 'refresh token of another client' };
    if (token.revokedAt !== null) return { ok: false, detail: 'grant revoked' };
    if (token.usedAt !== null) return replay(transaction, token.grantId, nowISO);
    if (token.expiresAt <= nowISO) return { ok: false, detail: 'refresh token expired' };
    if (resource !== undefined && resource !== token.resource) return { ok: false, error: new InvalidTarget('The resource differs from the one this grant was issued for.') };

    const granted = token.scope.split(' ');
    let scope = token.scope;
    if (input.scope !== undefined && input.scope.trim() !== '') {
      const requested = [...new Set(input.scope.split(' ').filter(Boolean))];
      if (requested.some((entry) => !granted.includes(entry))) {
        return { ok: false, error: new InvalidScope('A refresh request may only ask for scopes of the original grant.') };
      }
      scope = granted.filter((entry) => requested.includes(entry)).join(' ');
    }

    const claimed = await transaction.updateTable('oauth_tokens').set({ used_at: nowISO }).where('token_hash', '=', token.tokenHash).where('used_at', 'is', null).executeTakeFirst();
    if (claimed.numUpdatedRows === 0n) return replay(transaction, token.grantId, nowISO);
    if (token.memberUserId === null) return { ok: false, detail: 'user is no longer a member of the organization' };

    return { ok: true, response: await issueTokens(transaction, now, token.grantId, scope, true) };
  });

  if (!outcome.ok) throw 'error' in outcome ? outcome.error : new InvalidGrant(outcome.detail);
  return outcome.response;
}

/**
 * Revokes a token (RFC 7009). Revoking a refresh token ends its whole grant; revoking an access token
 * ends that token only. An unknown token, or one of another client, changes nothing and still counts
 * as success (RFC 7009 section 2.2), so the response reveals nothing about other clients' tokens.
 */
export async function revokeToken(context: AppContext, client: OAuthClient, token: string): Promise<void> {
  const row = await context.store.db
    .selectFrom('oauth_tokens')
    .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_tokens.grant_id')
    .select(['oauth_tokens.token_hash as tokenHash', 'oauth_tokens.kind as kind', 'oauth_grants.id as grantId', 'oauth_grants.client_id as clientId'])
    .where('oauth_tokens.token_hash', '=', sha256Hex(token))
    .executeTakeFirst();
  if (!row || row.clientId !== client.clientId) return;

  const nowISO = context.clock().toISOString();
  if (row.kind === 'refresh') {
    await revokeGrant(context.store.db, row.grantId, nowISO);
    return;
  }
  await context.store.db.updateTable('oauth_tokens').set({ expires_at: nowISO }).where('token_hash', '=', row.tokenHash).execute();
}

/** Marks a grant revoked and deletes its tokens, so neither its access nor its refresh tokens work again. */
export async function revokeGrant(db: Transaction<Database> | AppContext['store']['db'], grantId: string, nowISO: string): Promise<void> {
  await db.updateTable('oauth_grants').set({ revoked_at: nowISO }).where('id', '=', grantId).where('revoked_at', 'is', null).execute();
  await db.deleteFrom('oauth_tokens').where('grant_id', '=', grantId).execute();
}

async function replay(transaction: Transaction<Database>, grantId: string | null, nowISO: string): Promise<{ ok: false; detail: string }> {
  if (grantId !== null) await revokeGrant(transaction, grantId, nowISO);
  return { ok: false, detail: grantId === null ? 'code or refresh token reused' : `code or refresh token reused; grant ${grantId} revoked` };
}

async function isMember(transaction: Transaction<Database>, userId: string, organizationId: string): Promise<boolean> {
  const row = await transaction.selectFrom('memberships').select('user_id').where('user_id', '=', userId).where('organization_id', '=', organizationId).executeTakeFirst();
  return row !== undefined;
}

async function issueTokens(transaction: Transaction<Database>, now: Date, grantId: string, scope: string, withRefresh: boolean): Promise<TokenResponse> {
  const nowISO = now.toISOString();
  const accessToken = `${ACCESS_TOKEN_PREFIX}${randomToken(32)}`;
  const rows: Insertable<OAuthTokenTable>[] = [{ token_hash: sha256Hex(accessToken), grant_id: grantId, kind: 'access', scope, created_at: nowISO, expires_at: addSeconds(now, ACCESS_TOKEN_SECONDS), used_at: null }];
  let refreshToken: string | undefined;
  if (withRefresh) {
    refreshToken = `${REFRESH_TOKEN_PREFIX}${randomToken(32)}`;
    rows.push({ token_hash: sha256Hex(refreshToken), grant_id: grantId, kind: 'refresh', scope, created_at: nowISO, expires_at: addSeconds(now, REFRESH_TOKEN_SECONDS), used_at: null });
  }
  await transaction.insertInto('oauth_tokens').values(rows).execute();
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_SECONDS,
    scope,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  };
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
