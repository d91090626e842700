import type { FastifyRequest } from 'fastify';

import type { AppContext } from '../app/context.js';
import type { CredentialVerifier, Principal } from '../auth/principal.js';
import { ProtocolError } from '../http/errors.js';
import { InsufficientScope, ResourceInvalidToken, ResourceMissingCredential } from '../oauth/errors.js';
import { READ_SCOPE, scopesSupported, WRITE_SCOPE } from '../oauth/scopes.js';
import { mcpResourceOf, protectedResourceMetadataURLOf } from '../oauth/server-metadata.js';
import { ACCESS_TOKEN_PREFIX } from '../oauth/tokens.js';

/** A caller of the MCP server and the scopes its credential carries. */
export interface MCPCaller {
  principal: Principal;
  scopes: ReadonlySet<string>;
}

/** 400 invalid_request for an Authorization header that is not one Bearer credential (RFC 6750 section 3.1). */
class InvalidAuthorizationHeader extends ProtocolError {
  constructor(challenge: string) {
    super(400, 'invalid_request', 'The Authorization header must be "Bearer <token>".', { challenge });
  }
}

/**
 * Builds a Bearer challenge. The Bearer scheme comes first, with one space after it, and quoted
 * values never contain quotes, because the MCP TypeScript SDK's header parser needs exactly that.
 */
export function bearerChallenge(context: AppContext, parameters: { error?: string; scope?: string; description?: string } = {}): string {
  const parts = [];
  if (parameters.error) parts.push(`error="${parameters.error}"`);
  if (parameters.scope) parts.push(`scope="${parameters.scope}"`);
  parts.push(`resource_metadata="${protectedResourceMetadataURLOf(context)}"`);
  if (parameters.description) parts.push(`error_description="${parameters.description.replaceAll('"', "'")}"`);
  return `Bearer ${parts.join(', ')}`;
}

/**
 * Authenticates an MCP request from `Authorization: Bearer`: an API key (`gth_`, every scope, like
 * the key's other uses) or an OAuth access token (`gho_`) whose audience is this MCP server. Tokens
 * in the query string are never read. Every failure is a 401 whose challenge names the protected
 * resource metadata, so OAuth clients can start discovery from it.
 */
export async function authenticateMCPRequest(context: AppContext, verifier: CredentialVerifier, request: FastifyRequest): Promise<MCPCaller> {
  const authorization = request.headers.authorization;
  if (authorization === undefined) {
    throw new ResourceMissingCredential(bearerChallenge(context, { scope: scopesSupported.join(' ') }));
  }
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization);
  if (!match?.[1]) throw new InvalidAuthorizationHeader(bearerChallenge(context, { error: 'invalid_request' }));
  const token = match[1];

  const result = token.startsWith(ACCESS_TOKEN_PREFIX) ? await verifier.verifyOAuthAccessToken(token, mcpResourceOf(context)) : await verifier.verifyAPIKey(token);
  if (!result.ok) {
    throw new ResourceInvalidToken(bearerChallenge(context, { error: 'invalid_token' }), `${token.startsWith(ACCESS_TOKEN_PREFIX) ? 'access token' : 'API key'} rejected: ${result.reason}`);
  }

  const { credential } = result.principal;
  const scopes = credential.method === 'oauth' ? new Set(credential.scopes) : new Set(scopesSupported);
  return { principal: result.principal, scopes };
}

/** Tools that change data, and so need the write scope. */
const writeTools = new Set(['create_project']);

/**
 * Requires the scopes that the JSON-RPC messages of a request need: read for everything, write for
 * tools that change data. The 403 challenge lists the scopes already held plus the missing ones,
 * because version 1 of the MCP TypeScript SDK replaces its scope set with the challenged one.
 */
export function requireScopes(context: AppContext, caller: MCPCaller, body: unknown): void {
  const messages = Array.isArray(body) ? body : [body];
  const needed = new Set<string>([READ_SCOPE]);
  for (const message of messages) {
    const call = message as { method?: unknown; params?: { name?: unknown } } | null;
    if (call?.method === 'tools/call' && typeof call.params?.name === 'string' && writeTools.has(call.params.name)) needed.add(WRITE_SCOPE);
  }
  const missing = [...needed].filter((scope) => !caller.scopes.has(scope));
  if (missing.length === 0) return;

  const scope = scopesSupported.filter((entry) => caller.scopes.has(entry) || needed.has(entry)).join(' ');
  throw new InsufficientScope(
    bearerChallenge(context, { error: 'insufficient_scope', scope, description: `This request needs the scope ${missing.join(' ')}.` }),
    `missing scopes ${missing.join(' ')}`,
  );
}
