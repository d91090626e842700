import type { AppContext } from '../app/context.js';
import type { OAuthClientKind } from '../db/schema.js';
import { revokeGrant } from './tokens.js';

/** One client a user authorized in an organization, with its active grants combined. */
export interface ConnectedApp {
  clientId: string;
  name: string | null;
  kind: OAuthClientKind;
  scopes: string[];
  authorizedAt: string;
  lastUsedAt: string | null;
}

/** Lists the clients with an active grant from the user in the organization, most recently authorized first. */
export async function listConnectedApps(context: AppContext, userId: string, organizationId: string): Promise<ConnectedApp[]> {
  const rows = await context.store.db
    .selectFrom('oauth_grants')
    .innerJoin('oauth_clients', 'oauth_clients.client_id', 'oauth_grants.client_id')
    .select([
      'oauth_grants.client_id as clientId',
      'oauth_clients.client_name as name',
      'oauth_clients.kind as kind',
      'oauth_grants.scope as scope',
      'oauth_grants.created_at as createdAt',
      'oauth_grants.last_used_at as lastUsedAt',
    ])
    .where('oauth_grants.user_id', '=', userId)
    .where('oauth_grants.organization_id', '=', organizationId)
    .where('oauth_grants.revoked_at', 'is', null)
    .orderBy('oauth_grants.created_at', 'desc')
    .execute();

  const apps = new Map<string, ConnectedApp>();
  for (const row of rows) {
    const app = apps.get(row.clientId);
    if (!app) {
      apps.set(row.clientId, { clientId: row.clientId, name: row.name, kind: row.kind, scopes: row.scope.split(' '), authorizedAt: row.createdAt, lastUsedAt: row.lastUsedAt });
      continue;
    }
    app.scopes = [...new Set([...app.scopes, ...row.scope.split(' ')])];
    if (row.lastUsedAt && (!app.lastUsedAt || row.lastUsedAt > app.lastUsedAt)) app.lastUsedAt = row.lastUsedAt;
  }
  return [...apps.values()];
}

/** Revokes every active grant of the user to the client in the organization; returns how many there were. */
export async function revokeConnectedApp(context: AppContext, input: { userId: string; organizationId: string; clientId: string }): Promise<number> {
  return context.store.db.transaction().execute(async (transaction) => {
    const grants = await transaction
      .selectFrom('oauth_grants')
      .select('id')
      .where('user_id', '=', input.userId)
      .where('organization_id', '=', input.organizationId)
      .where('client_id', '=', input.clientId)
      .where('revoked_at', 'is', null)
      .execute();
    const nowISO = context.clock().toISOString();
    for (const grant of grants) await revokeGrant(transaction, grant.id, nowISO);
    return grants.length;
  });
}
