import type { FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../app/context.js';
import { csrfTokenFor } from '../auth/csrf.js';
import type { CredentialVerifier, Principal } from '../auth/principal.js';
import { randomToken } from '../crypto/tokens.js';
import { apiResourceOf } from '../oauth/server-metadata.js';
import { InsufficientScope } from '../oauth/errors.js';
import { READ_SCOPE, WRITE_SCOPE } from '../oauth/scopes.js';
import { ACCESS_TOKEN_PREFIX } from '../oauth/tokens.js';
import { cookieNames, readCookie, setCookie } from './cookies.js';
import { InvalidRequest, InvalidToken, MissingCredential } from './errors.js';

/**
 * Authenticates an API request from `Authorization: Bearer` (an API key, or an OAuth access token
 * issued for the API resource) or, failing that, the session cookie. Throws MissingCredential or
 * InvalidToken; the reason goes to the log only.
 */
export async function authenticateAPIRequest(
  context: AppContext,
  verifier: CredentialVerifier,
  request: FastifyRequest,
): Promise<Principal> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization);
    if (!match?.[1]) throw new InvalidRequestCredential();
    const token = match[1];
    // OAuth access tokens count here only when issued for the API resource, not for the MCP server.
    const oauth = token.startsWith(ACCESS_TOKEN_PREFIX);
    const result = oauth ? await verifier.verifyOAuthAccessToken(token, apiResourceOf(context)) : await verifier.verifyAPIKey(token);
    if (!result.ok) throw new InvalidToken(`${oauth ? 'access token' : 'api key'} rejected: ${result.reason}`);
    if (result.principal.credential.method === 'oauth') requireAPIScope(context, request, result.principal.credential.scopes);
    return result.principal;
  }

  const sessionToken = readCookie(request, cookieNames(context).session);
  if (sessionToken === undefined) throw new MissingCredential();
  const result = await verifier.verifySessionToken(sessionToken);
  if (!result.ok) throw new InvalidToken(`session rejected: ${result.reason}`);
  return result.principal;
}

/**
 * Requires gatehouse:read for reading and gatehouse:write for anything else, model calls included,
 * from an OAuth access token. API keys and sessions act with the user's full permissions.
 */
function requireAPIScope(context: AppContext, request: FastifyRequest, scopes: string[]): void {
  const needed = request.method === 'GET' || request.method === 'HEAD' ? READ_SCOPE : WRITE_SCOPE;
  if (scopes.includes(needed)) return;
  const challenge = `Bearer error="insufficient_scope", scope="${[...new Set([...scopes, needed])].join(' ')}", resource_metadata="${context.config.publicUrl}/.well-known/oauth-protected-resource/v1"`;
  throw new InsufficientScope(challenge, `${request.method} needs ${needed}`);
}

/** 400 invalid_request for an Authorization header that is not a Bearer credential (RFC 6750 section 3.1). */
class InvalidRequestCredential extends InvalidRequest {
  constructor() {
    super('The Authorization header must be "Bearer <API key or access token>".');
  }
}

/** Returns the signed-in user of a page request, or undefined when the cookie is missing or rejected. */
export async function currentSession(
  context: AppContext,
  verifier: CredentialVerifier,
  request: FastifyRequest,
): Promise<Principal | undefined> {
  const token = readCookie(request, cookieNames(context).session);
  if (!token) return undefined;
  const result = await verifier.verifySessionToken(token);
  if (!result.ok) {
    request.log.info({ reason: result.reason }, 'session cookie rejected');
    return undefined;
  }
  return result.principal;
}

/**
 * Returns the value that CSRF tokens of this browser are bound to: the session id when signed in,
 * else a pre-session cookie that is created on first use.
 */
export function csrfBinding(context: AppContext, request: FastifyRequest, reply: FastifyReply, principal: Principal | undefined): string {
  if (principal?.credential.method === 'session') return `session:${principal.credential.sessionId}`;
  const name = cookieNames(context).preSession;
  let value = readCookie(request, name);
  if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
    value = randomToken(32);
    setCookie(reply, name, value, 60 * 60 * 24);
  }
  return `pre:${value}`;
}

/** Returns the CSRF token to embed in this page's forms. */
export function pageCSRFToken(context: AppContext, request: FastifyRequest, reply: FastifyReply, principal: Principal | undefined): string {
  return csrfTokenFor(context, csrfBinding(context, request, reply, principal));
}
