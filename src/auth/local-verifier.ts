import type { AppContext } from '../app/context.js';
import { verifyAccessToken } from '../oauth/access-tokens.js';
import { verifyAPIKey } from './api-keys.js';
import type { CredentialVerifier } from './principal.js';
import { verifySessionToken } from './sessions.js';

/** Verifies credentials against the local database; used when control and data plane share one deployment. */
export function createLocalVerifier(context: AppContext): CredentialVerifier {
  return {
    verifyAPIKey: (key) => verifyAPIKey(context, key),
    verifySessionToken: (token) => verifySessionToken(context, token),
    verifyOAuthAccessToken: (token, resource) => verifyAccessToken(context, token, resource),
  };
}
