import { randomInt } from 'node:crypto';

import { addSeconds, type AppContext } from '../app/context.js';
import { constantTimeEqual, hmacHex, newId, randomToken, sha256Hex } from '../crypto/tokens.js';
import { mappingForDomain } from '../domains/mappings.js';
import { InvalidRequest, SignInFailed, TooManyAttempts } from '../http/errors.js';
import { sendMail } from '../mail/mailer.js';
import { normalizeEmail, type NormalizedEmail } from '../model/email.js';

/** Six digits: easy to type, and with five tries per code a guess succeeds once in 200,000 codes. */
const CODE_DIGITS = 6;
/** Seconds a code stays valid. */
export const CODE_SECONDS = 600;
/** Wrong entries after which a code stops working. */
export const MAX_ATTEMPTS = 5;
/** Codes one address can receive per hour, which limits mailbox flooding and guessing across codes. */
export const MAX_CODES_PER_HOUR = 5;

/**
 * Creates a one-time code for `email` and mails it when the address can sign in (a member, or a
 * new person a domain mapping admits). The response is the same either way, so the page does not
 * tell strangers which addresses have accounts. Returns the value for the browser-binding cookie.
 */
export async function issueEmailCode(context: AppContext, email: NormalizedEmail): Promise<string> {
  const now = context.clock();
  const hourAgo = new Date(now.getTime() - 3600_000).toISOString();
  const recent = await context.store.db
    .selectFrom('email_codes')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('email', '=', email.email)
    .where('created_at', '>', hourAgo)
    .executeTakeFirstOrThrow();
  if (Number(recent.count) >= MAX_CODES_PER_HOUR) {
    throw new TooManyAttempts('Too many codes were requested for this address. Wait an hour, or use the last code you received.');
  }

  const id = newId('emc');
  const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
  const browserToken = randomToken(32);
  await context.store.db
    .insertInto('email_codes')
    .values({
      id,
      email: email.email,
      code_hash: hmacHex(context.keys.emailCodeHash, `${id}:${code}`),
      browser_hash: sha256Hex(browserToken),
      created_at: now.toISOString(),
      expires_at: addSeconds(now, CODE_SECONDS),
      used_at: null,
    })
    .execute();

  if (await canSignInByEmail(context, email)) {
    // Sent in the background so that the response time does not reveal whether the address has an account.
    sendMail(context, {
      to: email.email,
      subject: `Your Gatehouse sign-in code: ${code}`,
      text: `Your Gatehouse sign-in code is ${code}.\n\nIt works once, for ${CODE_SECONDS / 60} minutes, in the browser where you asked for it.\nIf you did not ask for it, ignore this email.\n`,
    }).catch((error: unknown) => {
      context.logger.error({ event: 'email_code.send_failed', domain: email.domain, detail: error instanceof Error ? error.message : String(error) }, 'sign-in code email not sent');
    });
    context.logger.info({ event: 'email_code.sent', domain: email.domain }, 'sign-in code issued');
  } else {
    context.logger.info({ event: 'email_code.not_sent', domain: email.domain }, 'sign-in code requested for an address that cannot sign in');
  }
  return `${id}.${browserToken}`;
}

async function canSignInByEmail(context: AppContext, email: NormalizedEmail): Promise<boolean> {
  const member = await context.store.db
    .selectFrom('users')
    .innerJoin('memberships', 'memberships.user_id', 'users.id')
    .select('users.id')
    .where('users.email', '=', email.email)
    .executeTakeFirst();
  return member !== undefined || (await mappingForDomain(context, email.domain)) !== undefined;
}

/** Returns the email address of the pending code bound to this browser, or undefined. */
export async function pendingCodeEmail(context: AppContext, cookie: string | undefined): Promise<string | undefined> {
  const parsed = parseCookie(cookie);
  if (!parsed) return undefined;
  const row = await context.store.db.selectFrom('email_codes').select(['email', 'browser_hash']).where('id', '=', parsed.id).executeTakeFirst();
  if (!row || !constantTimeEqual(sha256Hex(parsed.browserToken), row.browser_hash)) return undefined;
  return row.email;
}

/**
 * Checks a code typed into the browser that asked for it. Every wrong entry counts, the code stops
 * working after MAX_ATTEMPTS of them, and a right one is consumed by a conditional update, so two
 * submissions at once cannot both succeed. Returns the proven address.
 */
export async function redeemEmailCode(context: AppContext, input: { cookie: string | undefined; code: string }): Promise<NormalizedEmail> {
  const parsed = parseCookie(input.cookie);
  if (!parsed) throw new SignInFailed('invalid_code', 'This browser has no sign-in code waiting. Enter your email to get one.');
  const code = input.code.replace(/[\s-]/g, '');
  if (!new RegExp(`^\\d{${CODE_DIGITS}}$`).test(code)) {
    throw new InvalidRequest(`Enter the ${CODE_DIGITS}-digit code from the email.`, { field: 'code' });
  }

  const db = context.store.db;
  const row = await db.selectFrom('email_codes').selectAll().where('id', '=', parsed.id).executeTakeFirst();
  if (!row || !constantTimeEqual(sha256Hex(parsed.browserToken), row.browser_hash)) {
    throw new SignInFailed('invalid_code', 'This code was requested in another browser. Enter your email here to get a new one.');
  }
  if (row.used_at) throw new SignInFailed('invalid_code', 'This code was already used. Enter your email to get a new one.');
  if (row.expires_at <= context.clock().toISOString()) throw new SignInFailed('expired_code', 'This code has expired. Enter your email to get a new one.');

  const counted = await db
    .updateTable('email_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', row.id)
    .where('used_at', 'is', null)
    .where('attempts', '<', MAX_ATTEMPTS)
    .returning('attempts')
    .executeTakeFirst();
  if (!counted) throw new TooManyAttempts('Too many wrong codes. Enter your email to get a new one.');

  if (!constantTimeEqual(hmacHex(context.keys.emailCodeHash, `${row.id}:${code}`), row.code_hash)) {
    const left = MAX_ATTEMPTS - Number(counted.attempts);
    context.logger.info({ event: 'email_code.wrong', attemptsLeft: left }, 'wrong sign-in code');
    if (left <= 0) throw new TooManyAttempts('Too many wrong codes. Enter your email to get a new one.');
    throw new SignInFailed('wrong_code', `That code is not right. ${left} ${left === 1 ? 'try' : 'tries'} left.`);
  }

  const consumed = await db
    .updateTable('email_codes')
    .set({ used_at: context.clock().toISOString() })
    .where('id', '=', row.id)
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!consumed) throw new SignInFailed('invalid_code', 'This code was already used. Enter your email to get a new one.');

  const email = normalizeEmail(row.email);
  if (!email) throw new SignInFailed('invalid_code', 'This code belongs to an address that is no longer valid.');
  return email;
}

function parseCookie(cookie: string | undefined): { id: string; browserToken: string } | undefined {
  const match = cookie ? /^(emc_[A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(cookie) : null;
  return match ? { id: match[1]!, browserToken: match[2]! } : undefined;
}
