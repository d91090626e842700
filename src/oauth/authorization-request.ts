import type { AppContext } from '../app/context.js';
import { InvalidRequest, ProtocolError } from '../http/errors.js';
import { findClient, type OAuthClient } from './clients.js';
import { readParameters } from './form.js';
import { redirectURIMatches } from './redirect-uris.js';
import { normalizeResource } from './resource.js';
import { parseScope } from './scopes.js';
import { issuerOf, mcpResourceOf, resourcesOf } from './server-metadata.js';

/** An authorization request whose client and redirect URI are trusted and whose other parameters are valid. */
export interface AuthorizationRequest {
  client: OAuthClient;
  redirectURI: string;
  state: string | undefined;
  codeChallenge: string;
  scope: string[];
  resource: string;
  /** The parameters as received, which the consent form posts back. */
  parameters: Record<string, string>;
}

/**
 * An error that RFC 6749 section 4.1.2.1 sends back to the client's redirect URI, because the client
 * and redirect URI were already validated. Errors before that point are shown to the user instead.
 */
export class AuthorizationErrorResponse extends Error {
  constructor(
    readonly redirectURI: string,
    readonly state: string | undefined,
    readonly code: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * Validates an authorization request in the order RFC 6749 section 4.1.2.1 requires. The client and
 * redirect URI come first. Their errors are thrown as ProtocolErrors and shown to the user, because a
 * redirect would go to an unverified URI. Every later error is thrown as AuthorizationErrorResponse
 * and sent to the redirect URI.
 */
export async function parseAuthorizationRequest(context: AppContext, source: unknown): Promise<AuthorizationRequest> {
  const parameters = readParameters(source);

  const clientId = parameters.client_id;
  if (!clientId) throw new InvalidRequest('The authorization request has no client_id. Start again from the application.');
  let client: OAuthClient | undefined;
  try {
    client = await findClient(context, clientId);
  } catch (error) {
    if (error instanceof ProtocolError) throw new InvalidRequest(`The application could not be identified. ${error.description}`, { detail: error.detail ?? error.description });
    throw error;
  }
  if (!client) throw new InvalidRequest('The application is not registered with Gatehouse (unknown client_id).');

  const requestedRedirect = parameters.redirect_uri ?? (client.redirectURIs.length === 1 ? client.redirectURIs[0] : undefined);
  if (!requestedRedirect) throw new InvalidRequest('The authorization request has no redirect_uri, and the application registered more than one.');
  if (!redirectURIMatches(client.redirectURIs, requestedRedirect)) {
    throw new InvalidRequest('The redirect_uri is not registered for this application, so Gatehouse will not send you back to it.');
  }

  const fail = (code: string, description: string): never => {
    throw new AuthorizationErrorResponse(requestedRedirect, parameters.state, code, description);
  };

  if (parameters.response_type !== 'code') fail('unsupported_response_type', 'Only response_type=code is supported.');
  if (!client.grantTypes.includes('authorization_code')) fail('unauthorized_client', 'The client is not registered for the authorization_code grant.');
  if (!parameters.code_challenge) fail('invalid_request', 'code_challenge is required: this server requires PKCE with S256.');
  if (parameters.code_challenge_method !== 'S256') fail('invalid_request', 'code_challenge_method must be S256.');
  if (!/^[A-Za-z0-9_-]{43}$/.test(parameters.code_challenge!)) fail('invalid_request', 'code_challenge must be a base64url SHA-256 value of 43 characters.');

  let scope: string[] = [];
  try {
    scope = parseScope(parameters.scope);
  } catch (error) {
    if (error instanceof ProtocolError) fail(error.code, error.description);
    throw error;
  }

  // RFC 8707: MCP clients send the MCP server's URI, and a token without one is bound to it too.
  // The HTTP API under /v1, the model gateway included, is the other resource.
  let resource = mcpResourceOf(context);
  if (parameters.resource !== undefined) {
    let normalized = '';
    try {
      normalized = normalizeResource(parameters.resource);
    } catch (error) {
      if (error instanceof ProtocolError) fail(error.code, error.description);
      throw error;
    }
    const resources = resourcesOf(context);
    if (!resources.includes(normalized)) fail('invalid_target', `The resource must be one of ${resources.join(', ')}.`);
    resource = normalized;
  }

  if (parameters.prompt === 'none') fail('consent_required', 'Gatehouse always asks for consent; retry without prompt=none.');

  return { client, redirectURI: requestedRedirect, state: parameters.state, codeChallenge: parameters.code_challenge!, scope, resource, parameters };
}

/** Builds a redirect to the client with response parameters, always including `iss` (RFC 9207). */
export function authorizationResponseURL(context: AppContext, redirectURI: string, values: Record<string, string | undefined>): string {
  const url = new URL(redirectURI);
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  url.searchParams.set('iss', issuerOf(context));
  return url.href;
}
