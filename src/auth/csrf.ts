import type { AppContext } from '../app/context.js';
import { constantTimeEqual, hmacHex } from '../crypto/tokens.js';

/**
 * CSRF tokens are HMACs of a per-browser value: the session id when signed in, otherwise a random
 * pre-session cookie. An attacker's page can neither read that value nor compute the HMAC, and a
 * token taken from the attacker's own session does not match the victim's session.
 */
export function csrfTokenFor(context: AppContext, binding: string): string {
  return hmacHex(context.keys.csrf, `csrf:${binding}`);
}

/** Checks a submitted CSRF token against the binding value in constant time. */
export function verifyCSRFToken(context: AppContext, binding: string | undefined, submitted: unknown): boolean {
  if (!binding || typeof submitted !== 'string' || submitted.length !== 64) return false;
  return constantTimeEqual(csrfTokenFor(context, binding), submitted);
}
