import type { AppContext } from '../app/context.js';
import type { OAuthClientAuthMethod, OAuthClientKind, OAuthClientTable } from '../db/schema.js';
import { isMetadataDocumentClientId, loadMetadataDocumentClient } from './client-metadata-document.js';

/** An OAuth client as the authorization server uses it. */
export interface OAuthClient {
  clientId: string;
  kind: OAuthClientKind;
  name: string | null;
  redirectURIs: string[];
  grantTypes: string[];
  authMethod: OAuthClientAuthMethod;
  secretHash: string | null;
  /** Registered metadata as stored, returned by the registration response. */
  metadata: Record<string, unknown>;
  organizationId: string | null;
  createdAt: string;
}

/**
 * Finds a client by its id. A URL-shaped id is a client ID metadata document: it is loaded from the
 * cache, or fetched when the cached copy has expired. Returns undefined for an unknown id.
 * Throws InvalidClientMetadata when a metadata document cannot be fetched or is invalid.
 */
export async function findClient(context: AppContext, clientId: string): Promise<OAuthClient | undefined> {
  if (clientId.length === 0 || clientId.length > 2000) return undefined;
  if (isMetadataDocumentClientId(clientId)) return loadMetadataDocumentClient(context, clientId);
  const row = await context.store.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  return row ? clientFromRow(row) : undefined;
}

/** Converts a stored row; JSON columns were written by this module, so they parse. */
export function clientFromRow(row: OAuthClientTable): OAuthClient {
  return {
    clientId: row.client_id,
    kind: row.kind,
    name: row.client_name,
    redirectURIs: JSON.parse(row.redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as string[],
    authMethod: row.token_endpoint_auth_method,
    secretHash: row.secret_hash,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    organizationId: row.organization_id,
    createdAt: row.created_at,
  };
}

/**
 * Returns the host a redirect URI points at, for the consent page. A private-use scheme keeps its
 * scheme (`cursor://anysphere.cursor-mcp`), because there the host names no web site.
 */
export function redirectHostOf(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return url.host ? `${url.protocol}//${url.host}` : url.protocol;
    return url.host;
  } catch {
    return uri.slice(0, 100);
  }
}
