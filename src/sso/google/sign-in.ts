import type * as client from 'openid-client';

import { addSeconds, type AppContext } from '../../app/context.js';
import { userForProvenEmail } from '../../auth/proven-email.js';
import { sha256Hex } from '../../crypto/tokens.js';
import { ProviderUnavailable, SignInFailed } from '../../http/errors.js';
import { normalizeDomain, normalizeEmail, type NormalizedEmail } from '../../model/email.js';
import { discoverIssuer, isAllowedIssuerURL } from '../oidc/client-config.js';
import { checkCallback, describeError, prepareCodeFlow, redeemCode } from '../oidc/code-flow.js';

/** Seconds a person has to finish signing in at Google. */
const ATTEMPT_SECONDS = 600;
const DISCOVERY_CACHE_SECONDS = 3600;

/** Path of the redirect URI to register in the Google Cloud console. */
export const GOOGLE_CALLBACK_PATH = '/signin/google/callback';

/** Mail domains whose addresses Google itself issues, so Google is authoritative for them. */
const GOOGLE_MAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

const configurations = new WeakMap<AppContext, { configuration: client.Configuration; fetchedAt: number }>();

/** Returns the redirect URI to register at Google. */
export function googleCallbackURL(context: AppContext): string {
  return `${context.config.publicUrl}${GOOGLE_CALLBACK_PATH}`;
}

/** Returns whether "Continue with Google" is configured. */
export function googleEnabled(context: AppContext): boolean {
  return context.config.google !== undefined;
}

async function googleConfiguration(context: AppContext): Promise<client.Configuration> {
  const google = context.config.google;
  if (!google) throw new SignInFailed('not_configured', 'Google sign-in is not set up here.');
  const cached = configurations.get(context);
  if (cached && Date.now() - cached.fetchedAt < DISCOVERY_CACHE_SECONDS * 1000) return cached.configuration;

  if (!isAllowedIssuerURL(context, new URL(google.issuer))) {
    throw new ProviderUnavailable(`GATEHOUSE_GOOGLE_ISSUER ${google.issuer} is not https, and http issuers on loopback are not allowed`);
  }
  try {
    const configuration = await discoverIssuer(context, google);
    configurations.set(context, { configuration, fetchedAt: Date.now() });
    return configuration;
  } catch (error) {
    throw new ProviderUnavailable(`Google discovery failed: ${describeError(error)}`);
  }
}

/**
 * Starts the authorization code flow at Google with PKCE, state and nonce. As for OIDC connections,
 * the attempt is stored by the hash of its state and bound to the browser by a cookie value.
 */
export async function startGoogleSignIn(context: AppContext, input: { loginHint?: string }): Promise<{ authorizationURL: string; browserToken: string }> {
  const configuration = await googleConfiguration(context);
  const flow = await prepareCodeFlow(configuration, {
    redirectURI: googleCallbackURL(context),
    scope: 'openid email profile',
    ...(input.loginHint ? { loginHint: input.loginHint } : {}),
  });
  const now = context.clock();

  await context.store.db
    .insertInto('google_sign_in_attempts')
    .values({ ...flow.stored, created_at: now.toISOString(), expires_at: addSeconds(now, ATTEMPT_SECONDS) })
    .execute();
  return { authorizationURL: flow.authorizationURL, browserToken: flow.browserToken };
}

/** Claims about the person from Google's verified ID token. */
export interface GoogleAccount {
  subject: string;
  email: NormalizedEmail;
  name: string | null;
  /** Workspace domain from the `hd` claim, or null for a consumer account. */
  hostedDomain: string | null;
}

/**
 * Completes the flow at the callback: consumes the attempt, checks the browser binding, redeems
 * the code and verifies the ID token (signature, issuer, audience, expiry, nonce) through
 * openid-client. Only an email that Google marks verified is accepted.
 */
export async function completeGoogleSignIn(
  context: AppContext,
  input: { query: URLSearchParams; browserToken: string | undefined },
): Promise<GoogleAccount> {
  const state = input.query.get('state');
  if (!state) throw new SignInFailed('invalid_state', 'The sign-in response has no state. Start signing in again.');

  // Deleting first makes the attempt single use even when the same callback arrives twice at once.
  const attempt = await context.store.db.deleteFrom('google_sign_in_attempts').where('state_hash', '=', sha256Hex(state)).returningAll().executeTakeFirst();
  checkCallback(attempt, { query: input.query, browserToken: input.browserToken, now: context.clock(), providerName: 'Google' });

  const configuration = await googleConfiguration(context);
  const claims = await redeemCode(configuration, { callbackURL: googleCallbackURL(context), query: input.query, attempt, providerName: 'Google' });

  const email = typeof claims.email === 'string' ? normalizeEmail(claims.email) : null;
  if (!email) throw new SignInFailed('invalid_claims', 'Google did not send an email address.', 'email claim missing');
  // Google sends a boolean; anything else, including the string "true", is not a verified address.
  if (claims.email_verified !== true) {
    throw new SignInFailed('unverified_email', `Google has not verified ${email.email}. Verify the address with Google, or sign in another way.`);
  }
  const hostedDomain = typeof claims.hd === 'string' ? normalizeDomain(claims.hd) : null;
  const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : null;
  return { subject: claims.sub, email, name, hostedDomain };
}

/**
 * Returns whether Google can vouch for the address: it issues gmail.com addresses, and a Workspace
 * account's `hd` names the domain the organization's Workspace administers. A consumer Google
 * account registered with another company's address proves only that the address once received mail.
 */
export function googleIsAuthoritative(account: GoogleAccount): boolean {
  return GOOGLE_MAIL_DOMAINS.has(account.email.domain) || account.hostedDomain === account.email.domain;
}

/**
 * Maps a Google account to a user. A linked subject wins. Otherwise the account links to the
 * existing member with that email, or joins through a domain mapping, but only when Google is
 * authoritative for the address. Throws SignInFailed or SSORequired.
 */
export async function resolveGoogleAccount(context: AppContext, account: GoogleAccount): Promise<string> {
  const now = context.clock().toISOString();
  const linked = await context.store.db.selectFrom('google_identities').select('user_id').where('subject', '=', account.subject).executeTakeFirst();
  if (!linked && !googleIsAuthoritative(account)) {
    throw new SignInFailed(
      'unverified_domain',
      `This Google account is not a Google Workspace account of ${account.email.domain}, so Google cannot confirm that ${account.email.email} is yours. Enter your email to sign in another way.`,
      `hd ${account.hostedDomain ?? 'absent'}`,
    );
  }

  return userForProvenEmail(context, {
    email: account.email,
    name: account.name,
    method: 'google',
    ...(linked ? { knownUserId: linked.user_id } : {}),
    async link(transaction, userId) {
      if (linked) {
        await transaction
          .updateTable('google_identities')
          .set({ email: account.email.email, hosted_domain: account.hostedDomain, last_sign_in_at: now })
          .where('subject', '=', account.subject)
          .execute();
        return;
      }
      await transaction
        .insertInto('google_identities')
        .values({ subject: account.subject, user_id: userId, email: account.email.email, hosted_domain: account.hostedDomain, created_at: now, last_sign_in_at: now })
        .execute();
      context.logger.info({ event: 'identity.linked', provider: 'google', userId }, 'Google account linked');
    },
  });
}
