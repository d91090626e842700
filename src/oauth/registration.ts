import { z } from 'zod';

import type { AppContext } from '../app/context.js';
import { newId, randomToken, sha256Hex } from '../crypto/tokens.js';
import type { OAuthClientAuthMethod, OAuthClientKind } from '../db/schema.js';
import { InvalidClientMetadata, InvalidRedirectURI } from './errors.js';
import { redirectURIProblem } from './redirect-uris.js';

const MAX_REDIRECT_URIS = 20;

const optionalURL = z.string().max(2000).optional();

/**
 * RFC 7591 client metadata that Gatehouse reads. zod drops every other member, so unknown members
 * are ignored as RFC 7591 section 2 requires. `scope` is accepted but never limits the client:
 * binding allowed scopes to the registration-time value breaks step-up authorization later.
 */
const clientMetadataSchema = z.object({
  redirect_uris: z.array(z.string()).min(1).max(MAX_REDIRECT_URIS),
  token_endpoint_auth_method: z.string().optional(),
  grant_types: z.array(z.string()).max(10).optional(),
  response_types: z.array(z.string()).max(10).optional(),
  client_name: z.string().max(200).optional(),
  client_uri: optionalURL,
  logo_uri: optionalURL,
  tos_uri: optionalURL,
  policy_uri: optionalURL,
  scope: z.string().max(1000).optional(),
  application_type: z.string().max(20).optional(),
  software_id: z.string().max(200).optional(),
  software_version: z.string().max(100).optional(),
  contacts: z.array(z.string().max(200)).max(10).optional(),
});

const authMethods: readonly OAuthClientAuthMethod[] = ['none', 'client_secret_post', 'client_secret_basic'];
const grantTypes = ['authorization_code', 'refresh_token'];

/** Registered metadata after validation and defaults. */
export interface ValidatedClientMetadata {
  redirectURIs: string[];
  authMethod: OAuthClientAuthMethod;
  grantTypes: string[];
  name: string | undefined;
  /** Members echoed in the registration response. */
  metadata: Record<string, unknown>;
}

/**
 * Validates client metadata from a registration request or a metadata document. Defaults follow what
 * MCP clients expect: `token_endpoint_auth_method` none (a public client with PKCE), grant types
 * authorization_code and refresh_token, response type code. Empty URL members such as `logo_uri: ""`
 * are dropped.
 */
export function validateClientMetadata(body: unknown, options: { allowedAuthMethods?: readonly OAuthClientAuthMethod[] } = {}): ValidatedClientMetadata {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidClientMetadata('The request body must be a JSON object of client metadata.');
  }
  if (!Array.isArray((body as Record<string, unknown>).redirect_uris)) {
    throw new InvalidRedirectURI('redirect_uris is required: a JSON array of at least one redirect URI.');
  }
  const parsed = clientMetadataSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'body';
    if (field.startsWith('redirect_uris')) throw new InvalidRedirectURI(`redirect_uris: ${issue.message}.`);
    throw new InvalidClientMetadata(`${field}: ${issue.message}.`);
  }
  const input = parsed.data;

  for (const uri of input.redirect_uris) {
    const problem = redirectURIProblem(uri);
    if (problem) throw new InvalidRedirectURI(problem);
  }

  const allowed = options.allowedAuthMethods ?? authMethods;
  const authMethod = (input.token_endpoint_auth_method ?? 'none') as OAuthClientAuthMethod;
  if (!allowed.includes(authMethod)) {
    throw new InvalidClientMetadata(`token_endpoint_auth_method "${String(input.token_endpoint_auth_method).slice(0, 60)}" is not supported. Use one of: ${allowed.join(', ')}.`);
  }

  const requestedGrants = input.grant_types ?? grantTypes;
  const unsupportedGrant = requestedGrants.find((grant) => !grantTypes.includes(grant));
  if (unsupportedGrant !== undefined) {
    throw new InvalidClientMetadata(`grant_types: "${unsupportedGrant.slice(0, 60)}" is not supported. Use authorization_code and refresh_token.`);
  }
  if (!requestedGrants.includes('authorization_code')) {
    throw new InvalidClientMetadata('grant_types must include authorization_code.');
  }
  const responseTypes = input.response_types ?? ['code'];
  if (responseTypes.some((type) => type !== 'code')) {
    throw new InvalidClientMetadata('response_types: only "code" is supported.');
  }

  const metadata: Record<string, unknown> = {
    redirect_uris: input.redirect_uris,
    token_endpoint_auth_method: authMethod,
    grant_types: [...new Set(requestedGrants)],
    response_types: ['code'],
  };
  if (input.client_name) metadata.client_name = input.client_name;
  for (const member of ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const) {
    const value = input[member];
    if (!value) continue;
    if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) throw new InvalidClientMetadata(`${member} must be an http or https URL.`);
    metadata[member] = value;
  }
  for (const member of ['scope', 'application_type', 'software_id', 'software_version'] as const) {
    if (input[member]) metadata[member] = input[member];
  }
  if (input.contacts && input.contacts.length > 0) metadata.contacts = input.contacts;

  return { redirectURIs: input.redirect_uris, authMethod, grantTypes: [...new Set(requestedGrants)], name: input.client_name, metadata };
}

/**
 * Registers a client (RFC 7591 section 3). A confidential client gets a secret that is returned once
 * and stored as its SHA-256 hash; it never expires, which `client_secret_expires_at: 0` states.
 * Returns the registration response body.
 */
export async function registerClient(
  context: AppContext,
  body: unknown,
  options: { kind?: Extract<OAuthClientKind, 'dynamic' | 'preregistered'>; organizationId?: string } = {},
): Promise<Record<string, unknown>> {
  const validated = validateClientMetadata(body);
  const clientId = newId('ghc');
  const now = context.clock();
  const issuedAt = Math.floor(now.getTime() / 1000);
  const secret = validated.authMethod === 'none' ? undefined : `ghs_${randomToken(32)}`;

  await context.store.db
    .insertInto('oauth_clients')
    .values({
      client_id: clientId,
      kind: options.kind ?? 'dynamic',
      client_name: validated.name ?? null,
      redirect_uris: JSON.stringify(validated.redirectURIs),
      grant_types: JSON.stringify(validated.grantTypes),
      token_endpoint_auth_method: validated.authMethod,
      secret_hash: secret ? sha256Hex(secret) : null,
      metadata: JSON.stringify(validated.metadata),
      organization_id: options.organizationId ?? null,
      document_expires_at: null,
      created_at: now.toISOString(),
    })
    .execute();

  return {
    client_id: clientId,
    client_id_issued_at: issuedAt,
    ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    ...validated.metadata,
  };
}

/** A client that an owner registered for an organization, as the settings page lists it. */
export interface PreregisteredClient {
  clientId: string;
  name: string | null;
  redirectURIs: string[];
  authMethod: string;
  createdAt: string;
}

/** Lists the clients that owners registered for an organization, newest first. */
export async function listPreregisteredClients(context: AppContext, organizationId: string): Promise<PreregisteredClient[]> {
  const rows = await context.store.db
    .selectFrom('oauth_clients')
    .select(['client_id', 'client_name', 'redirect_uris', 'token_endpoint_auth_method', 'created_at'])
    .where('organization_id', '=', organizationId)
    .where('kind', '=', 'preregistered')
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((row) => ({
    clientId: row.client_id,
    name: row.client_name,
    redirectURIs: JSON.parse(row.redirect_uris) as string[],
    authMethod: row.token_endpoint_auth_method,
    createdAt: row.created_at,
  }));
}

/**
 * Deletes a client that an owner registered for the organization, with its grants, tokens and codes
 * (the foreign keys cascade). Returns false when no such client belongs to the organization.
 */
export async function deletePreregisteredClient(context: AppContext, organizationId: string, clientId: string): Promise<boolean> {
  const result = await context.store.db
    .deleteFrom('oauth_clients')
    .where('client_id', '=', clientId)
    .where('organization_id', '=', organizationId)
    .where('kind', '=', 'preregistered')
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
