import { addSeconds, type AppContext } from '../app/context.js';
import { newId, randomToken, sha256Hex } from '../crypto/tokens.js';
import type { SessionTable } from '../db/schema.js';
import { listMemberships } from '../model/memberships.js';
import { findUser } from '../model/users.js';
import type { Verification } from './principal.js';

/** Seconds between two writes of a session's last-seen time. */
const LAST_SEEN_RESOLUTION_SECONDS = 60;

/**
 * Creates a session and returns the cookie value. Only its SHA-256 hash is stored, so a database
 * leak does not hand out live sessions.
 */
export async function createSession(
  context: AppContext,
  input: { userId: string; method: SessionTable['method']; connectionId: string | null },
): Promise<{ token: string; sessionId: string }> {
  const token = randomToken(32);
  const now = context.clock();
  const sessionId = newId('ses');
  await context.store.db
    .insertInto('sessions')
    .values({
      id: sessionId,
      token_hash: sha256Hex(token),
      user_id: input.userId,
      method: input.method,
      connection_id: input.connectionId,
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      expires_at: addSeconds(now, context.config.session.maxSeconds),
    })
    .execute();
  return { token, sessionId };
}

/** Verifies a session cookie value against the absolute and the idle expiry, and refreshes its last-seen time. */
export async function verifySessionToken(context: AppContext, token: string): Promise<Verification> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false, reason: 'malformed' };

  const tokenHash = sha256Hex(token);
  const session = await context.store.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  if (!session) return { ok: false, reason: 'unknown' };

  const now = context.clock();
  const nowIso = now.toISOString();
  if (session.expires_at <= nowIso) {
    await endSession(context, token);
    return { ok: false, reason: 'expired' };
  }
  if (addSeconds(new Date(session.last_seen_at), context.config.session.idleSeconds) <= nowIso) {
    await endSession(context, token);
    return { ok: false, reason: 'idle_timeout' };
  }

  const user = await findUser(context.store.db, session.user_id);
  if (!user) return { ok: false, reason: 'unknown' };

  if (session.last_seen_at < addSeconds(now, -LAST_SEEN_RESOLUTION_SECONDS)) {
    await context.store.db.updateTable('sessions').set({ last_seen_at: nowIso }).where('id', '=', session.id).execute();
  }

  return {
    ok: true,
    principal: {
      user: { id: user.id, email: user.email, name: user.name },
      organizations: await listMemberships(context.store.db, user.id),
      credential: { method: 'session', sessionId: session.id },
    },
  };
}

/** Deletes the session that a cookie value belongs to, if any. */
export async function endSession(context: AppContext, token: string): Promise<void> {
  await context.store.db.deleteFrom('sessions').where('token_hash', '=', sha256Hex(token)).execute();
}
