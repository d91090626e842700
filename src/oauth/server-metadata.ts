import type { AppContext } from '../app/context.js';
import { scopesSupported } from './scopes.js';

/** Seconds an access token stays valid; short, because refresh is cheap and revocation checks every use anyway. */
export const ACCESS_TOKEN_SECONDS = 10 * 60;

/** Seconds a refresh token stays valid after it was issued; each rotation starts a new period. */
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 60 * 60;

/** Seconds an authorization code stays valid (RFC 6749 section 4.1.2 recommends at most 10 minutes). */
export const AUTHORIZATION_CODE_SECONDS = 60;

/**
 * Returns the issuer identifier: the public URL exactly as configured (an origin, no trailing slash).
 * Protected resource metadata names this same string, because clients compare the two byte for byte
 * (RFC 8414 section 3.3).
 */
export function issuerOf(context: AppContext): string {
  return context.config.publicUrl;
}

/** Returns the canonical URI of the MCP server (RFC 8707 section 2), the audience of every access token. */
export function mcpResourceOf(context: AppContext): string {
  return `${context.config.publicUrl}/mcp`;
}

/**
 * Returns the canonical URI of Gatehouse's HTTP API under /v1, the model gateway included. A client
 * that asks for it with `resource` gets tokens that the API accepts and the MCP server does not.
 */
export function apiResourceOf(context: AppContext): string {
  return `${context.config.publicUrl}/v1`;
}

/** Returns the resources this authorization server issues tokens for; the first is the default. */
export function resourcesOf(context: AppContext): string[] {
  return [mcpResourceOf(context), apiResourceOf(context)];
}

/** Builds the RFC 9728 protected resource metadata of the HTTP API. */
export function apiProtectedResourceMetadata(context: AppContext): Record<string, unknown> {
  return {
    resource: apiResourceOf(context),
    authorization_servers: [issuerOf(context)],
    scopes_supported: scopesSupported,
    bearer_methods_supported: ['header'],
    resource_name: 'Gatehouse API and model gateway',
  };
}

/** Returns the path-inserted RFC 9728 metadata URL of the MCP server, which 401 challenges name. */
export function protectedResourceMetadataURLOf(context: AppContext): string {
  return `${context.config.publicUrl}/.well-known/oauth-protected-resource/mcp`;
}

/** Builds the RFC 9728 protected resource metadata of the MCP server. */
export function protectedResourceMetadata(context: AppContext): Record<string, unknown> {
  return {
    resource: mcpResourceOf(context),
    authorization_servers: [issuerOf(context)],
    scopes_supported: scopesSupported,
    bearer_methods_supported: ['header'],
    resource_name: 'Gatehouse MCP server',
  };
}

/** Builds the RFC 8414 authorization server metadata. */
export function authorizationServerMetadata(context: AppContext): Record<string, unknown> {
  const issuer = issuerOf(context);
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    registration_endpoint: `${issuer}/oauth/register`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    scopes_supported: scopesSupported,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
    code_challenge_methods_supported: ['S256'],
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
  };
}
