import * as client from 'openid-client';

import { addSeconds, type AppContext } from '../../app/context.js';
import { constantTimeEqual, randomToken, sha256Hex } from '../../crypto/tokens.js';
import type { OIDCConnection, SignInAttemptTable } from '../../db/schema.js';
import { ProviderUnavailable, SignInFailed } from '../../http/errors.js';
import { configurationFor } from './client-config.js';
import { connectionServesDomain } from '../domains.js';
import { resolveIdentity } from './identities.js';
import { normalizeEmail } from '../../model/email.js';

/** Seconds a person has to finish signing in at the provider. */
const ATTEMPT_SECONDS = 600;

/** Path of the redirect URI that every OIDC connection registers at its provider. */
export const CALLBACK_PATH = '/signin/callback';

/** Returns the redirect URI to register at the provider. */
export function callbackURL(context: AppContext): string {
  return `${context.config.publicUrl}${CALLBACK_PATH}`;
}

/**
 * Starts an authorization code flow with PKCE, state and nonce. The attempt is stored by the hash
 * of its state and bound to the browser by a second random value that goes into a cookie, so a
 * callback URL carried to another browser (login CSRF) is rejected.
 */
export async function startOIDCSignIn(
  context: AppContext,
  input: { connection: OIDCConnection; loginHint?: string; intent: SignInAttemptTable['intent']; linkUserId?: string },
): Promise<{ authorizationURL: string; browserToken: string }> {
  const configuration = await reachProvider(context, input.connection);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  const browserToken = randomToken(32);
  const now = context.clock();

  await context.store.db
    .insertInto('sign_in_attempts')
    .values({
      state_hash: sha256Hex(state),
      browser_hash: sha256Hex(browserToken),
      connection_id: input.connection.id,
      nonce,
      code_verifier: codeVerifier,
      intent: input.intent,
      link_user_id: input.linkUserId ?? null,
      created_at: now.toISOString(),
      expires_at: addSeconds(now, ATTEMPT_SECONDS),
    })
    .execute();

  const parameters: Record<string, string> = {
    redirect_uri: callbackURL(context),
    scope: input.connection.scopes,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  };
  if (input.loginHint) parameters.login_hint = input.loginHint;
  return { authorizationURL: client.buildAuthorizationUrl(configuration, parameters).href, browserToken };
}

/** Outcome of a completed callback. */
export interface SignInResult {
  userId: string;
  connectionId: string;
  intent: SignInAttemptTable['intent'];
}

/**
 * Completes the flow at the callback: consumes the attempt (single use), checks the browser binding
 * and the provider's error, redeems the code, validates the ID token through openid-client (signature,
 * issuer, audience, expiry, nonce), then maps the subject to a user.
 */
export async function completeOIDCSignIn(
  context: AppContext,
  input: { query: URLSearchParams; browserToken: string | undefined },
): Promise<SignInResult> {
  const state = input.query.get('state');
  if (!state) throw new SignInFailed('invalid_state', 'The sign-in response has no state. Start signing in again.');

  // Deleting first makes the attempt single use even when the same callback arrives twice at once.
  const attempt = await context.store.db
    .deleteFrom('sign_in_attempts')
    .where('state_hash', '=', sha256Hex(state))
    .returningAll()
    .executeTakeFirst();
  if (!attempt) {
    throw new SignInFailed('invalid_state', 'This sign-in response is unknown or was already used. Start signing in again.');
  }
  if (attempt.expires_at <= context.clock().toISOString()) {
    throw new SignInFailed('invalid_state', 'This sign-in took too long. Start signing in again.');
  }
  if (!input.browserToken || !constantTimeEqual(sha256Hex(input.browserToken), attempt.browser_hash)) {
    throw new SignInFailed('invalid_state', 'This sign-in was started in another browser. Start signing in again here.', 'browser binding mismatch');
  }

  const providerError = input.query.get('error');
  if (providerError) {
    const code = /^[\x20-\x7e]{1,64}$/.test(providerError) ? providerError : 'invalid_response';
    throw new SignInFailed(code, `Your identity provider returned an error (${code}). Try again or contact your administrator.`);
  }

  const connection = await context.store.db.selectFrom('oidc_connections').selectAll().where('id', '=', attempt.connection_id).executeTakeFirst();
  if (!connection) throw new SignInFailed('invalid_state', 'This sign-in connection no longer exists.');

  const claims = await redeemCode(context, connection, attempt, input.query);

  const email = typeof claims.email === 'string' ? normalizeEmail(claims.email) : null;
  if (!email) throw new SignInFailed('invalid_claims', 'Your identity provider did not send an email address.', 'email claim missing');
  if (claims.email_verified === false) {
    throw new SignInFailed('invalid_claims', 'Your identity provider reports that your email address is not verified.');
  }
  if (!(await connectionServesDomain(context, { kind: 'oidc', id: connection.id }, email.domain))) {
    throw new SignInFailed('invalid_claims', `This connection does not serve ${email.domain}.`, `asserted domain ${email.domain}`);
  }

  const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : null;
  const userId = await resolveIdentity(context, {
    connection,
    subject: claims.sub,
    email: email.email,
    name,
    intent: attempt.intent,
    linkUserId: attempt.link_user_id,
  });
  return { userId, connectionId: connection.id, intent: attempt.intent };
}

async function redeemCode(
  context: AppContext,
  connection: OIDCConnection,
  attempt: { nonce: string; code_verifier: string },
  query: URLSearchParams,
): Promise<client.IDToken> {
  const configuration = await reachProvider(context, connection);
  const currentURL = new URL(callbackURL(context));
  currentURL.search = query.toString();
  try {
    const tokens = await client.authorizationCodeGrant(configuration, currentURL, {
      pkceCodeVerifier: attempt.code_verifier,
      expectedState: query.get('state') ?? undefined,
      expectedNonce: attempt.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('token response has no ID token');
    return claims;
  } catch (error) {
    throw new SignInFailed('invalid_grant', 'Your identity provider’s response could not be verified. Try again or contact your administrator.', describeError(error));
  }
}

async function reachProvider(context: AppContext, connection: OIDCConnection): Promise<client.Configuration> {
  try {
    return await configurationFor(context, connection);
  } catch (error) {
    throw new ProviderUnavailable(`discovery failed for connection ${connection.id}: ${describeError(error)}`);
  }
}

/**
 * Summarises an openid-client error for the log: the messages and codes along the cause chain and the
 * claim involved. Claim values are left out.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const { message, code, claim } = current as { message?: unknown; code?: unknown; claim?: unknown };
    if (typeof message === 'string') parts.push(message);
    if (typeof code === 'string') parts.push(`code ${code}`);
    if (typeof claim === 'string') parts.push(`claim ${claim}`);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.length > 0 ? [...new Set(parts)].join('; ') : 'unknown error';
}
