import type { AppContext } from '../app/context.js';
import type { OIDCConnection, SAMLConnection } from '../db/schema.js';
import { Conflict, InvalidRequest } from '../http/errors.js';
import { normalizeDomain } from '../model/email.js';

/** The SSO connection that serves an email domain. */
export type DomainRoute = { kind: 'oidc'; connection: OIDCConnection } | { kind: 'saml'; connection: SAMLConnection };

/** Reference to the connection that a domain row belongs to. */
export type ConnectionRef = { kind: 'oidc' | 'saml'; id: string };

/**
 * Parses the domains an admin enters, separated by commas, spaces or new lines, into normalised
 * domain names. Throws InvalidRequest naming the first invalid entry.
 */
export function parseDomainList(value: string): string[] {
  const entries = value.split(/[\s,]+/).filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new InvalidRequest('Enter at least one email domain, such as example.com.', { field: 'domains' });
  if (entries.length > 50) throw new InvalidRequest('Enter at most 50 domains.', { field: 'domains' });
  const domains = new Set<string>();
  for (const entry of entries) {
    const domain = normalizeDomain(entry);
    if (!domain) throw new InvalidRequest(`"${entry.slice(0, 100)}" is not a valid domain name.`, { field: 'domains' });
    domains.add(domain);
  }
  return [...domains];
}

/** Throws Conflict when any of the domains already routes to a connection. */
export async function requireUnclaimedDomains(context: AppContext, domains: string[]): Promise<void> {
  const taken = await context.store.db.selectFrom('sso_domains').select('domain').where('domain', 'in', domains).execute();
  if (taken.length > 0) {
    throw new Conflict(`Another connection already serves ${taken.map((row) => row.domain).join(', ')}.`, { field: 'domains' });
  }
}

/** Row values that attach `domain` to a connection, for inserts inside the caller's transaction. */
export function domainRow(organizationId: string, domain: string, connection: ConnectionRef) {
  return {
    domain,
    organization_id: organizationId,
    oidc_connection_id: connection.kind === 'oidc' ? connection.id : null,
    saml_connection_id: connection.kind === 'saml' ? connection.id : null,
  };
}

/** Returns the domains of every connection of an organization, keyed by connection id. */
export async function domainsByConnection(context: AppContext, organizationId: string): Promise<Map<string, string[]>> {
  const rows = await context.store.db.selectFrom('sso_domains').selectAll().where('organization_id', '=', organizationId).orderBy('domain').execute();
  const byConnection = new Map<string, string[]>();
  for (const row of rows) {
    const id = row.oidc_connection_id ?? row.saml_connection_id;
    if (!id) continue;
    byConnection.set(id, [...(byConnection.get(id) ?? []), row.domain]);
  }
  return byConnection;
}

/** Returns the connection that serves an email domain, or undefined. */
export async function findRouteForDomain(context: AppContext, domain: string): Promise<DomainRoute | undefined> {
  const row = await context.store.db.selectFrom('sso_domains').selectAll().where('domain', '=', domain).executeTakeFirst();
  if (!row) return undefined;
  if (row.oidc_connection_id) {
    const connection = await context.store.db.selectFrom('oidc_connections').selectAll().where('id', '=', row.oidc_connection_id).executeTakeFirst();
    return connection ? { kind: 'oidc', connection } : undefined;
  }
  if (row.saml_connection_id) {
    const connection = await context.store.db.selectFrom('saml_connections').selectAll().where('id', '=', row.saml_connection_id).executeTakeFirst();
    return connection ? { kind: 'saml', connection } : undefined;
  }
  return undefined;
}

/** Returns whether `domain` is one of the domains the connection serves. */
export async function connectionServesDomain(context: AppContext, connection: ConnectionRef, domain: string): Promise<boolean> {
  const column = connection.kind === 'oidc' ? 'oidc_connection_id' : 'saml_connection_id';
  const row = await context.store.db.selectFrom('sso_domains').select('domain').where(column, '=', connection.id).where('domain', '=', domain).executeTakeFirst();
  return row !== undefined;
}
