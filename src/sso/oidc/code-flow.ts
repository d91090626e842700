import * as client from 'openid-client';

import { constantTimeEqual, randomToken, sha256Hex } from '../../crypto/tokens.js';
import { SignInFailed } from '../../http/errors.js';

/** Values of a new authorization code flow: what to store, what the browser keeps, where it goes. */
export interface StartedCodeFlow {
  authorizationURL: string;
  /** Cookie value that binds the flow to the browser; only its hash is stored. */
  browserToken: string;
  stored: { state_hash: string; browser_hash: string; nonce: string; code_verifier: string };
}

/**
 * Prepares an authorization code flow with PKCE (S256), state and nonce. The caller stores
 * `stored` by the hash of the state and sets `browserToken` as a cookie, so a callback URL carried
 * to another browser (login CSRF) is rejected.
 */
export async function prepareCodeFlow(
  configuration: client.Configuration,
  input: { redirectURI: string; scope: string; loginHint?: string },
): Promise<StartedCodeFlow> {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  const browserToken = randomToken(32);
  const parameters: Record<string, string> = {
    redirect_uri: input.redirectURI,
    scope: input.scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  };
  if (input.loginHint) parameters.login_hint = input.loginHint;
  return {
    authorizationURL: client.buildAuthorizationUrl(configuration, parameters).href,
    browserToken,
    stored: { state_hash: sha256Hex(state), browser_hash: sha256Hex(browserToken), nonce, code_verifier: codeVerifier },
  };
}

/**
 * Checks a consumed attempt against the callback: not expired, same browser, and no error from the
 * provider. `providerName` goes into the messages, such as "Your identity provider" or "Google".
 */
export function checkCallback(
  attempt: { expires_at: string; browser_hash: string } | undefined,
  input: { query: URLSearchParams; browserToken: string | undefined; now: Date; providerName: string },
): asserts attempt is { expires_at: string; browser_hash: string } {
  if (!attempt) throw new SignInFailed('invalid_state', 'This sign-in response is unknown or was already used. Start signing in again.');
  if (attempt.expires_at <= input.now.toISOString()) throw new SignInFailed('invalid_state', 'This sign-in took too long. Start signing in again.');
  if (!input.browserToken || !constantTimeEqual(sha256Hex(input.browserToken), attempt.browser_hash)) {
    throw new SignInFailed('invalid_state', 'This sign-in was started in another browser. Start signing in again here.', 'browser binding mismatch');
  }

  const providerError = input.query.get('error');
  if (providerError) {
    const code = /^[\x20-\x7e]{1,64}$/.test(providerError) ? providerError : 'invalid_response';
    throw new SignInFailed(code, `${input.providerName} returned an error (${code}). Try again or contact your administrator.`);
  }
}

/**
 * Redeems the code and returns the verified ID token claims: openid-client checks the signature,
 * issuer, audience, expiry, nonce and state. Any failure becomes SignInFailed('invalid_grant').
 */
export async function redeemCode(
  configuration: client.Configuration,
  input: { callbackURL: string; query: URLSearchParams; attempt: { nonce: string; code_verifier: string }; providerName: string },
): Promise<client.IDToken> {
  const currentURL = new URL(input.callbackURL);
  currentURL.search = input.query.toString();
  try {
    const tokens = await client.authorizationCodeGrant(configuration, currentURL, {
      pkceCodeVerifier: input.attempt.code_verifier,
      expectedState: input.query.get('state') ?? undefined,
      expectedNonce: input.attempt.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('token response has no ID token');
    return claims;
  } catch (error) {
    throw new SignInFailed('invalid_grant', `${input.providerName}’s response could not be verified. Try again or contact your administrator.`, describeError(error));
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
