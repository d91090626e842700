import type { AppContext } from '../../app/context.js';
import { seal } from '../../crypto/sealed-box.js';
import { newId } from '../../crypto/tokens.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { OIDCConnection } from '../../db/schema.js';
import { Conflict, InvalidRequest, NotFound, PlanRequired } from '../../http/errors.js';
import { builtinGroupId } from '../../model/organizations.js';
import { planIncludes } from '../../model/plans.js';
import { domainRow, domainsByConnection, parseDomainList, requireUnclaimedDomains } from '../domains.js';
import { discoverIssuer, isAllowedIssuerURL } from './client-config.js';

/** Form input for a new OIDC connection. */
export interface OIDCConnectionInput {
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  /** Domains separated by commas, spaces or new lines. */
  domains: string;
}

/** A connection as settings pages show it; the client secret is never included. */
export interface OIDCConnectionView {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  scopes: string;
  domains: string[];
  createdAt: string;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Validates and stores a new OIDC connection. Discovery runs before anything is written, so a
 * connection that cannot work is never saved. Throws InvalidRequest or Conflict naming the field.
 */
export async function createOIDCConnection(
  context: AppContext,
  organizationId: string,
  input: OIDCConnectionInput,
): Promise<OIDCConnectionView> {
  const organization = await context.store.db.selectFrom('organizations').select(['plan']).where('id', '=', organizationId).executeTakeFirst();
  if (!organization) throw new NotFound('Organization not found.');
  if (!planIncludes(organization.plan, 'oidc_sso')) {
    throw new PlanRequired('OIDC single sign-on needs the Enterprise plan. Ask your operator to change the plan (gatehouse admin set-plan).');
  }

  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) throw new InvalidRequest('Enter a name of 1 to 100 characters.', { field: 'name' });

  const issuer = parseIssuer(context, input.issuer);
  const clientId = input.clientId.trim();
  if (clientId.length < 1 || clientId.length > 255) throw new InvalidRequest('Enter the client ID from your provider.', { field: 'client_id' });
  if (input.clientSecret.length < 1 || input.clientSecret.length > 1024) {
    throw new InvalidRequest('Enter the client secret from your provider.', { field: 'client_secret' });
  }

  const scopes = (input.scopes.trim() || 'openid email profile').split(/\s+/);
  if (!scopes.includes('openid') || !scopes.every((scope) => SCOPE_TOKEN.test(scope))) {
    throw new InvalidRequest('Scopes must be space-separated and include "openid".', { field: 'scopes' });
  }

  const domains = parseDomainList(input.domains);
  await requireUnclaimedDomains(context, domains);

  try {
    await discoverIssuer(context, { issuer, clientId, clientSecret: input.clientSecret });
  } catch (error) {
    throw new InvalidRequest(discoveryProblem(issuer, error), { field: 'issuer', detail: (error as Error).message });
  }

  const id = newId('con');
  const createdAt = context.clock().toISOString();
  const defaultGroupId = await builtinGroupId(context.store.db, organizationId, 'engineers');
  const row = {
    id,
    organization_id: organizationId,
    name,
    issuer,
    client_id: clientId,
    client_secret_sealed: seal(context.keys.secretEncryption, input.clientSecret, id),
    scopes: scopes.join(' '),
    default_group_id: defaultGroupId,
    created_at: createdAt,
  };
  try {
    await context.store.db.transaction().execute(async (transaction) => {
      await transaction.insertInto('oidc_connections').values(row).execute();
      for (const domain of domains) {
        await transaction.insertInto('sso_domains').values(domainRow(organizationId, domain, { kind: 'oidc', id })).execute();
      }
    });
  } catch (error) {
    // Two owners can claim the same domain at once; the primary key on the domain decides.
    if (isUniqueViolation(error)) throw new Conflict('Another connection already serves one of these domains.', { field: 'domains' });
    throw error;
  }

  context.logger.info({ event: 'connection.created', organizationId, connectionId: id, issuer }, 'OIDC connection created');
  return { id, name, issuer, clientId, scopes: scopes.join(' '), domains, createdAt };
}

/** Lists an organization's OIDC connections with their domains. */
export async function listOIDCConnections(context: AppContext, organizationId: string): Promise<OIDCConnectionView[]> {
  const connections = await context.store.db
    .selectFrom('oidc_connections')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .orderBy('created_at')
    .execute();
  const domains = await domainsByConnection(context, organizationId);
  return connections.map((connection) => ({
    id: connection.id,
    name: connection.name,
    issuer: connection.issuer,
    clientId: connection.client_id,
    scopes: connection.scopes,
    domains: domains.get(connection.id) ?? [],
    createdAt: connection.created_at,
  }));
}

/** Returns the ids of the connections through which a user has a linked identity. */
export async function linkedConnectionIds(context: AppContext, userId: string): Promise<Set<string>> {
  const rows = await context.store.db.selectFrom('identities').select('connection_id').where('user_id', '=', userId).execute();
  return new Set(rows.map((row) => row.connection_id));
}

/**
 * Deletes a connection with its domains, linked identities and pending sign-ins. Users and their
 * memberships stay; they can no longer sign in through this connection.
 */
export async function deleteOIDCConnection(context: AppContext, organizationId: string, connectionId: string): Promise<boolean> {
  const deleted = await context.store.db.transaction().execute(async (transaction) => {
    const connection = await transaction
      .selectFrom('oidc_connections')
      .select('id')
      .where('id', '=', connectionId)
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!connection) return false;
    await transaction.deleteFrom('sso_domains').where('oidc_connection_id', '=', connectionId).execute();
    await transaction.deleteFrom('identities').where('connection_id', '=', connectionId).execute();
    await transaction.deleteFrom('sign_in_attempts').where('connection_id', '=', connectionId).execute();
    await transaction.deleteFrom('oidc_connections').where('id', '=', connectionId).execute();
    return true;
  });
  if (deleted) context.logger.info({ event: 'connection.deleted', organizationId, connectionId }, 'OIDC connection deleted');
  return deleted;
}

/** Returns one connection of an organization, or undefined. */
export async function findOIDCConnection(context: AppContext, organizationId: string, connectionId: string): Promise<OIDCConnection | undefined> {
  return context.store.db
    .selectFrom('oidc_connections')
    .selectAll()
    .where('id', '=', connectionId)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
}

/** Explains why discovery failed in terms an admin can act on. */
function discoveryProblem(issuer: string, error: unknown): string {
  const documentURL = `${issuer}/.well-known/openid-configuration`;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  if (code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
    const discovered = (cause as { body?: { issuer?: unknown } } | undefined)?.body?.issuer;
    if (typeof discovered === 'string') {
      return `The discovery document at ${documentURL} names the issuer ${discovered.slice(0, 200)}. Enter exactly that issuer URL.`;
    }
  }
  if (cause instanceof Response) {
    return `The discovery document at ${documentURL} returned HTTP ${cause.status}. Check the issuer URL.`;
  }
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_INVALID_RESPONSE' || code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
    return `The document at ${documentURL} is not a valid OpenID Connect discovery document. Check the issuer URL.`;
  }
  return `Could not reach ${documentURL} (connection failed or timed out). Check the issuer URL and that Gatehouse can reach it.`;
}

function parseIssuer(context: AppContext, value: string): string {
  let issuer: URL;
  try {
    issuer = new URL(value.trim());
  } catch {
    throw new InvalidRequest('Enter the issuer as a full URL, such as https://login.example.com.', { field: 'issuer' });
  }
  if (issuer.search || issuer.hash || issuer.username || issuer.password) {
    throw new InvalidRequest('The issuer URL must not contain a query, fragment or credentials.', { field: 'issuer' });
  }
  if (!isAllowedIssuerURL(context, issuer)) {
    throw new InvalidRequest('The issuer URL must use https://.', { field: 'issuer' });
  }
  // openid-client compares the discovered issuer with this one after URL normalisation, so dropping
  // the slash that URL parsing adds to a bare origin changes only how the issuer is displayed.
  return issuer.href.replace(/\/$/, '');
}

