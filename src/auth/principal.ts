import type { MembershipView } from '../model/memberships.js';

/** The authenticated caller of a request, as every handler receives it. */
export interface Principal {
  user: { id: string; email: string; name: string | null };
  /** Organizations this credential may act in: all memberships for a session, one for an API key. */
  organizations: MembershipView[];
  credential:
    | { method: 'session'; sessionId: string }
    | { method: 'api_key'; apiKeyId: string }
    | { method: 'oauth'; grantId: string; clientId: string; scopes: string[] };
}

/** Reason a credential was rejected. It is logged and never sent to the client. */
export type RejectionReason =
  | 'malformed'
  | 'bad_checksum'
  | 'unknown'
  | 'deactivated'
  | 'not_member'
  | 'expired'
  | 'idle_timeout'
  | 'revoked'
  | 'wrong_audience';

export type Verification = { ok: true; principal: Principal } | { ok: false; reason: RejectionReason };

/**
 * Verifies the credentials that callers present. The data plane depends only on this interface, so
 * a separately deployed data plane can plug in an implementation that verifies locally or calls out
 * to the control plane, and never needs an inbound connection.
 */
export interface CredentialVerifier {
  verifyAPIKey(key: string): Promise<Verification>;
  verifySessionToken(token: string): Promise<Verification>;
  /** Verifies an OAuth access token that must have been issued for `resource` (its audience). */
  verifyOAuthAccessToken(token: string, resource: string): Promise<Verification>;
}
