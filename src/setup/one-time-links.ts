import type { Transaction } from 'kysely';

import { addSeconds, type AppContext } from '../app/context.js';
import { randomToken, sha256Hex } from '../crypto/tokens.js';
import type { Database, OneTimeLinkTable } from '../db/schema.js';

export type LinkPurpose = OneTimeLinkTable['purpose'];

/**
 * Creates a single-use, expiring link: `setup` creates the first organization, `sign_in` signs an
 * existing user in (operator recovery). Only the token's hash is stored.
 */
export async function createOneTimeLink(
  context: AppContext,
  input: { purpose: LinkPurpose; userId?: string },
): Promise<{ url: string; expiresAt: string }> {
  const token = randomToken(32);
  const now = context.clock();
  const expiresAt = addSeconds(now, context.config.oneTimeLinkSeconds);
  await context.store.db
    .insertInto('one_time_links')
    .values({
      token_hash: sha256Hex(token),
      purpose: input.purpose,
      user_id: input.userId ?? null,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      used_at: null,
    })
    .execute();
  const path = input.purpose === 'setup' ? '/setup' : '/signin/link';
  return { url: `${context.config.publicUrl}${path}?token=${token}`, expiresAt };
}

/** Reason a link cannot be used. */
export type LinkProblem = 'unknown' | 'used' | 'expired';

/** Checks a link without using it up, so the page behind it can show a form first. */
export async function inspectOneTimeLink(
  context: AppContext,
  token: string,
  purpose: LinkPurpose,
): Promise<{ ok: true; userId: string | null } | { ok: false; problem: LinkProblem }> {
  const row = await context.store.db
    .selectFrom('one_time_links')
    .selectAll()
    .where('token_hash', '=', sha256Hex(token))
    .where('purpose', '=', purpose)
    .executeTakeFirst();
  if (!row) return { ok: false, problem: 'unknown' };
  if (row.used_at) return { ok: false, problem: 'used' };
  if (row.expires_at <= context.clock().toISOString()) return { ok: false, problem: 'expired' };
  return { ok: true, userId: row.user_id };
}

/**
 * Marks a link used inside the caller's transaction. The conditional update is the single-use
 * guard: of two concurrent requests only one updates the row.
 */
export async function consumeOneTimeLink(
  context: AppContext,
  transaction: Transaction<Database>,
  token: string,
  purpose: LinkPurpose,
): Promise<{ ok: true; userId: string | null } | { ok: false; problem: LinkProblem }> {
  const now = context.clock().toISOString();
  const tokenHash = sha256Hex(token);
  const result = await transaction
    .updateTable('one_time_links')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) {
    const row = await transaction.selectFrom('one_time_links').select(['used_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
    if (!row) return { ok: false, problem: 'unknown' };
    return { ok: false, problem: row.used_at ? 'used' : 'expired' };
  }
  const row = await transaction.selectFrom('one_time_links').select(['user_id']).where('token_hash', '=', tokenHash).executeTakeFirstOrThrow();
  return { ok: true, userId: row.user_id };
}
