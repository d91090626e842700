import type { AppContext } from './context.js';

/** Rows removed by one purge, by table. */
export interface PurgeCounts {
  sessions: number;
  signInAttempts: number;
  samlRequests: number;
  samlUsedAssertions: number;
  oneTimeLinks: number;
  emailCodes: number;
}

/**
 * Deletes rows that can no longer be used: sessions past their absolute expiry, sign-in attempts and
 * SAML requests past their deadline, email codes an hour after they were issued, replay-store entries past the assertion's expiry, and one-time
 * links a day after they expired. Without it these tables only grow.
 */
export async function purgeExpired(context: AppContext): Promise<PurgeCounts> {
  const now = context.clock();
  const nowISO = now.toISOString();
  const linkCutoff = new Date(now.getTime() - 86_400_000).toISOString();
  const { db } = context.store;

  const sessions = await db.deleteFrom('sessions').where('expires_at', '<=', nowISO).executeTakeFirst();
  const attempts = await db.deleteFrom('sign_in_attempts').where('expires_at', '<=', nowISO).executeTakeFirst();
  const requests = await db.deleteFrom('saml_requests').where('expires_at', '<=', nowISO).executeTakeFirst();
  const assertions = await db.deleteFrom('saml_used_assertions').where('expires_at', '<', nowISO).executeTakeFirst();
  const links = await db.deleteFrom('one_time_links').where('expires_at', '<', linkCutoff).executeTakeFirst();
  const googleAttempts = await db.deleteFrom('google_sign_in_attempts').where('expires_at', '<=', nowISO).executeTakeFirst();
  // Codes stay for an hour after they were issued, because the hourly limit per address counts them.
  const codeCutoff = new Date(now.getTime() - 3600_000).toISOString();
  const codes = await db.deleteFrom('email_codes').where('created_at', '<', codeCutoff).executeTakeFirst();

  return {
    sessions: Number(sessions.numDeletedRows),
    signInAttempts: Number(attempts.numDeletedRows) + Number(googleAttempts.numDeletedRows),
    samlRequests: Number(requests.numDeletedRows),
    samlUsedAssertions: Number(assertions.numDeletedRows),
    oneTimeLinks: Number(links.numDeletedRows),
    emailCodes: Number(codes.numDeletedRows),
  };
}
