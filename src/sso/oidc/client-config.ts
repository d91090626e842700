import * as client from 'openid-client';

import type { AppContext } from '../../app/context.js';
import { open } from '../../crypto/sealed-box.js';
import type { OIDCConnection } from '../../db/schema.js';

const DISCOVERY_TIMEOUT_SECONDS = 10;
const CACHE_SECONDS = 600;

const cache = new Map<string, { configuration: client.Configuration; fetchedAt: number }>();

/** Returns whether an http:// issuer may be used: only on loopback, and only when configuration allows it. */
export function isAllowedIssuerURL(context: AppContext, issuer: URL): boolean {
  if (issuer.protocol === 'https:') return true;
  if (issuer.protocol !== 'http:' || !context.config.allowHttpLoopbackIssuers) return false;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
}

/**
 * Runs OIDC discovery for an issuer and returns an openid-client configuration. The client
 * authenticates with client_secret_basic, the default of RFC 7591 and of most providers.
 */
export async function discoverIssuer(
  context: AppContext,
  input: { issuer: string; clientId: string; clientSecret: string },
): Promise<client.Configuration> {
  const issuer = new URL(input.issuer);
  const execute = issuer.protocol === 'http:' && isAllowedIssuerURL(context, issuer) ? [client.allowInsecureRequests] : [];
  return client.discovery(issuer, input.clientId, undefined, client.ClientSecretBasic(input.clientSecret), {
    execute,
    timeout: DISCOVERY_TIMEOUT_SECONDS,
  });
}

/** Returns the cached openid-client configuration of a connection, running discovery when it is missing or stale. */
export async function configurationFor(context: AppContext, connection: OIDCConnection): Promise<client.Configuration> {
  const cacheKey = `${connection.id}:${connection.client_secret_sealed}`;
  const cached = cache.get(cacheKey);
  if (cached && Date.now() - cached.fetchedAt < CACHE_SECONDS * 1000) return cached.configuration;

  const clientSecret = open(context.keys.secretEncryption, connection.client_secret_sealed, connection.id);
  const configuration = await discoverIssuer(context, { issuer: connection.issuer, clientId: connection.client_id, clientSecret });
  cache.set(cacheKey, { configuration, fetchedAt: Date.now() });
  return configuration;
}
