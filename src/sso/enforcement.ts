import type { Kysely, Transaction } from 'kysely';

import type { AppContext } from '../app/context.js';
import type { Database } from '../db/schema.js';
import { Conflict, InvalidRequest, NotFound } from '../http/errors.js';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Returns the organization that requires SSO for `domain`: the one that verified the domain, when
 * its require_sso switch is on. A claimed domain belongs to one organization, so there is at most
 * one. A domain whose verification was lost still counts, because enforcement only restricts, and a
 * DNS record that vanishes must not open other ways in.
 */
export async function enforcingOrganization(db: Executor, domain: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('verified_domains')
    .innerJoin('organizations', 'organizations.id', 'verified_domains.organization_id')
    .select('organizations.id as organizationId')
    .where('verified_domains.domain', '=', domain)
    .where('verified_domains.status', 'in', ['verified', 'failed'])
    .where('organizations.require_sso', '=', 1)
    .executeTakeFirst();
  return row?.organizationId;
}

/** Returns the ids of an organization's OIDC and SAML connections. */
async function connectionIds(db: Executor, organizationId: string): Promise<string[]> {
  const oidc = await db.selectFrom('oidc_connections').select('id').where('organization_id', '=', organizationId).execute();
  const saml = await db.selectFrom('saml_connections').select('id').where('organization_id', '=', organizationId).execute();
  return [...oidc, ...saml].map((row) => row.id);
}

/**
 * Turns SSO enforcement on or off. Turning it on needs an SSO connection that serves one of the
 * organization's verified domains, and, when the acting owner's own domain is covered, a session
 * that came through that SSO, so that the owner cannot lock themselves out. It ends every session
 * of a covered member that did not come through the organization's SSO, in the same transaction.
 * Returns the number of sessions ended.
 */
export async function setRequireSSO(
  context: AppContext,
  input: { organizationId: string; enabled: boolean; actor: { userId: string; email: string; sessionConnectionId: string | null } },
): Promise<number> {
  const db = context.store.db;
  const organization = await db.selectFrom('organizations').select('id').where('id', '=', input.organizationId).executeTakeFirst();
  if (!organization) throw new NotFound('Organization not found.');

  if (!input.enabled) {
    await db.updateTable('organizations').set({ require_sso: 0 }).where('id', '=', input.organizationId).execute();
    context.logger.info({ event: 'sso_enforcement.disabled', organizationId: input.organizationId, userId: input.actor.userId }, 'SSO no longer required');
    return 0;
  }

  const claimed = await db
    .selectFrom('verified_domains')
    .select(['domain', 'status'])
    .where('organization_id', '=', input.organizationId)
    .where('status', 'in', ['verified', 'failed'])
    .execute();
  const coveredDomains = new Set(claimed.map((row) => row.domain));
  const verified = claimed.filter((row) => row.status === 'verified').map((row) => row.domain);
  const served = verified.length === 0
    ? []
    : await db.selectFrom('sso_domains').select('domain').where('organization_id', '=', input.organizationId).where('domain', 'in', verified).execute();
  if (served.length === 0) {
    throw new InvalidRequest('Before requiring SSO, verify a domain and add an SSO connection that serves it.', { field: 'require_sso' });
  }

  const ssoConnections = new Set(await connectionIds(db, input.organizationId));
  const actorDomain = input.actor.email.slice(input.actor.email.lastIndexOf('@') + 1);
  if (coveredDomains.has(actorDomain) && !(input.actor.sessionConnectionId && ssoConnections.has(input.actor.sessionConnectionId))) {
    throw new Conflict(`Sign in through your organization’s SSO first. Requiring SSO would otherwise end this session and could lock you out of ${actorDomain}.`, {
      field: 'require_sso',
    });
  }

  const members = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id as userId', 'users.email as email'])
    .where('memberships.organization_id', '=', input.organizationId)
    .execute();
  const covered = members.filter((member) => coveredDomains.has(member.email.slice(member.email.lastIndexOf('@') + 1))).map((member) => member.userId);

  const ended = await db.transaction().execute(async (transaction) => {
    await transaction.updateTable('organizations').set({ require_sso: 1 }).where('id', '=', input.organizationId).execute();
    if (covered.length === 0) return 0;
    const result = await transaction
      .deleteFrom('sessions')
      .where('user_id', 'in', covered)
      .where((eb) => eb.or([eb('connection_id', 'is', null), eb('connection_id', 'not in', [...ssoConnections])]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
  context.logger.info({ event: 'sso_enforcement.enabled', organizationId: input.organizationId, userId: input.actor.userId, sessionsEnded: ended }, 'SSO required');
  return ended;
}
