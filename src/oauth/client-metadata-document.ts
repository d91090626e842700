import type { AppContext } from '../app/context.js';
import { FetchProblem, fetchPublicResponse } from '../net/safe-fetch.js';
import { clientFromRow, type OAuthClient } from './clients.js';
import { InvalidClientMetadata } from './errors.js';
import { validateClientMetadata } from './registration.js';

/** Size cap of a client ID metadata document; real documents are a few hundred bytes. */
const MAX_DOCUMENT_BYTES = 16 * 1024;
const FETCH_TIMEOUT_MILLISECONDS = 5000;
/** Cache lifetime bounds: Cache-Control max-age is honoured inside them, and 1 hour applies without it. */
const MIN_CACHE_SECONDS = 60;
const MAX_CACHE_SECONDS = 24 * 60 * 60;
const DEFAULT_CACHE_SECONDS = 60 * 60;

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Returns whether a client_id is a URL and so names a client ID metadata document. Such ids are never
 * issued by registration, whose ids start with `ghc_`.
 */
export function isMetadataDocumentClientId(clientId: string): boolean {
  return clientId.startsWith('https://') || clientId.startsWith('http://');
}

/**
 * Returns why a client_id URL is not acceptable, or undefined. It must be https with a path other
 * than `/`, without fragment, credentials or dot segments. http is allowed only for loopback hosts
 * when GATEHOUSE_ALLOW_LOOPBACK_FETCH is on, so that tests and local development can serve documents.
 */
export function metadataDocumentURLProblem(context: AppContext, clientId: string): string | undefined {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'The client_id is not a valid URL.';
  }
  const loopbackHTTP = url.protocol === 'http:' && loopbackHosts.has(url.hostname) && context.config.allowLoopbackFetch;
  if (url.protocol !== 'https:' && !loopbackHTTP) return 'A client_id URL must use https.';
  if (url.pathname === '/' || url.pathname === '') return 'A client_id URL must have a path.';
  if (clientId.includes('#') || url.username || url.password) return 'A client_id URL must not contain a fragment or credentials.';
  if (/\/\.{1,2}(\/|$)/.test(clientId.slice(url.origin.length))) return 'A client_id URL must not contain . or .. path segments.';
  if (url.href !== clientId) return 'The client_id URL is not in normalized form.';
  return undefined;
}

/**
 * Loads the client that a metadata document describes: from the cache while it is fresh, else by
 * fetching the URL through the SSRF guard (public addresses only, no redirects, size and time
 * capped). Throws InvalidClientMetadata when the URL or document is unacceptable or the fetch fails.
 * An expired cached copy is not used then, so a withdrawn document stops working.
 */
export async function loadMetadataDocumentClient(context: AppContext, clientId: string): Promise<OAuthClient> {
  const problem = metadataDocumentURLProblem(context, clientId);
  if (problem) throw new InvalidClientMetadata(problem);

  const now = context.clock();
  const cached = await context.store.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  if (cached && cached.kind === 'metadata_document' && cached.document_expires_at && cached.document_expires_at > now.toISOString()) {
    return clientFromRow(cached);
  }

  // NOTE: failures are not cached, so every authorization request naming an unreachable document
  // fetches it again, each bounded by the size and time limits above.
  let fetched;
  try {
    fetched = await fetchPublicResponse(clientId, {
      maxBytes: MAX_DOCUMENT_BYTES,
      timeoutMilliseconds: FETCH_TIMEOUT_MILLISECONDS,
      allowLoopback: context.config.allowLoopbackFetch,
      accept: 'application/json',
    });
  } catch (error) {
    if (error instanceof FetchProblem) throw new InvalidClientMetadata(`The client metadata document could not be fetched: ${error.message}`);
    throw error;
  }

  let document: unknown;
  try {
    document = JSON.parse(fetched.body);
  } catch {
    throw new InvalidClientMetadata('The client metadata document is not valid JSON.');
  }
  const members = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
  if (members.client_id !== clientId) {
    throw new InvalidClientMetadata('The client metadata document names a different client_id than its URL.');
  }
  if (typeof members.client_name !== 'string' || members.client_name.trim() === '') {
    throw new InvalidClientMetadata('The client metadata document has no client_name.');
  }
  // Shared secrets cannot be declared in a public document, so only public clients are accepted.
  const validated = validateClientMetadata(document, { allowedAuthMethods: ['none'] });

  const row = {
    client_id: clientId,
    kind: 'metadata_document' as const,
    client_name: validated.name ?? null,
    redirect_uris: JSON.stringify(validated.redirectURIs),
    grant_types: JSON.stringify(validated.grantTypes),
    token_endpoint_auth_method: validated.authMethod,
    secret_hash: null,
    metadata: JSON.stringify({ client_id: clientId, ...validated.metadata }),
    organization_id: null,
    document_expires_at: new Date(now.getTime() + cacheSeconds(fetched.cacheControl) * 1000).toISOString(),
    created_at: cached?.created_at ?? now.toISOString(),
  };
  await context.store.db
    .insertInto('oauth_clients')
    .values(row)
    .onConflict((conflict) =>
      conflict.column('client_id').doUpdateSet({
        client_name: row.client_name,
        redirect_uris: row.redirect_uris,
        grant_types: row.grant_types,
        token_endpoint_auth_method: row.token_endpoint_auth_method,
        metadata: row.metadata,
        document_expires_at: row.document_expires_at,
      }),
    )
    .execute();
  return clientFromRow(row);
}

/** Returns how long to cache a document from its Cache-Control header, within the bounds above. */
function cacheSeconds(cacheControl: string | undefined): number {
  if (!cacheControl) return DEFAULT_CACHE_SECONDS;
  if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(cacheControl)) return MIN_CACHE_SECONDS;
  const maxAge = /(?:^|,)\s*max-age=(\d+)/i.exec(cacheControl)?.[1];
  if (maxAge === undefined) return DEFAULT_CACHE_SECONDS;
  return Math.min(MAX_CACHE_SECONDS, Math.max(MIN_CACHE_SECONDS, Number(maxAge)));
}
