import type * as client from 'openid-client';

import { addSeconds, type AppContext } from '../../app/context.js';
import { sha256Hex } from '../../crypto/tokens.js';
import type { OIDCConnection, SignInAttemptTable } from '../../db/schema.js';
import { ProviderUnavailable, SignInFailed } from '../../http/errors.js';
import { configurationFor } from './client-config.js';
import { connectionServesDomain } from '../domains.js';
import { resolveIdentity } from './identities.js';
import { checkCallback, describeError, prepareCodeFlow, redeemCode } from './code-flow.js';
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
  const flow = await prepareCodeFlow(configuration, {
    redirectURI: callbackURL(context),
    scope: input.connection.scopes,
    ...(input.loginHint ? { loginHint: input.loginHint } : {}),
  });
  const now = context.clock();

  await context.store.db
    .insertInto('sign_in_attempts')
    .values({
      ...flow.stored,
      connection_id: input.connection.id,
      intent: input.intent,
      link_user_id: input.linkUserId ?? null,
      created_at: now.toISOString(),
      expires_at: addSeconds(now, ATTEMPT_SECONDS),
    })
    .execute();
  return { authorizationURL: flow.authorizationURL, browserToken: flow.browserToken };
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
  checkCallback(attempt, { query: input.query, browserToken: input.browserToken, now: context.clock(), providerName: 'Your identity provider' });

  const connection = await context.store.db.selectFrom('oidc_connections').selectAll().where('id', '=', attempt.connection_id).executeTakeFirst();
  if (!connection) throw new SignInFailed('invalid_state', 'This sign-in connection no longer exists.');

  const claims = await redeemCode(await reachProvider(context, connection), {
    callbackURL: callbackURL(context),
    query: input.query,
    attempt,
    providerName: 'Your identity provider',
  });

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

async function reachProvider(context: AppContext, connection: OIDCConnection): Promise<client.Configuration> {
  try {
    return await configurationFor(context, connection);
  } catch (error) {
    throw new ProviderUnavailable(`discovery failed for connection ${connection.id}: ${describeError(error)}`);
  }
}
