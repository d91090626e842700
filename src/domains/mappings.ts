import type { AppContext } from '../app/context.js';
import type { BuiltinRole } from '../db/schema.js';
import { InvalidRequest, NotFound, PlanRequired } from '../http/errors.js';
import { builtinGroupId } from '../model/organizations.js';
import { planIncludes } from '../model/plans.js';
import { isDomainVerified } from './verified-domains.js';

/**
 * Maps a verified domain to a permission group, or removes the mapping when `role` is null. Needs
 * the Enterprise plan. Mappings only decide the group of people who join later; existing members
 * keep theirs.
 */
export async function setDomainMapping(context: AppContext, organizationId: string, domain: string, role: BuiltinRole | null): Promise<void> {
  const organization = await context.store.db.selectFrom('organizations').select('plan').where('id', '=', organizationId).executeTakeFirst();
  if (!organization) throw new NotFound('Organization not found.');
  if (!planIncludes(organization.plan, 'domain_mappings')) {
    throw new PlanRequired('Domain mappings need the Enterprise plan. Ask your operator to change the plan (gatehouse admin set-plan).');
  }
  if (!(await isDomainVerified(context, organizationId, domain))) {
    throw new InvalidRequest(`${domain} is not verified for this organization. Verify it before mapping it.`, { field: 'domain' });
  }

  // Read before the transaction: SQLite has one connection, which the transaction holds.
  const groupId = role ? await builtinGroupId(context.store.db, organizationId, role) : null;
  await context.store.db.transaction().execute(async (transaction) => {
    await transaction.deleteFrom('domain_mappings').where('domain', '=', domain).where('organization_id', '=', organizationId).execute();
    if (groupId) {
      await transaction
        .insertInto('domain_mappings')
        .values({ domain, organization_id: organizationId, group_id: groupId, created_at: context.clock().toISOString() })
        .execute();
    }
  });
  context.logger.info({ event: 'domain_mapping.set', organizationId, domain, role }, 'domain mapping changed');
}

/** Returns the mappings of an organization, keyed by domain, with the group's role. */
export async function listDomainMappings(context: AppContext, organizationId: string): Promise<Map<string, BuiltinRole>> {
  const rows = await context.store.db
    .selectFrom('domain_mappings')
    .innerJoin('permission_groups', 'permission_groups.id', 'domain_mappings.group_id')
    .select(['domain_mappings.domain as domain', 'permission_groups.role as role'])
    .where('domain_mappings.organization_id', '=', organizationId)
    .execute();
  return new Map(rows.map((row) => [row.domain, row.role]));
}

/**
 * Returns the group a new member with an email in `domain` joins through a mapping, or undefined.
 * The mapping counts only while the domain is verified and the plan includes mappings.
 */
export async function mappedGroupFor(context: AppContext, organizationId: string, domain: string): Promise<string | undefined> {
  const row = await context.store.db
    .selectFrom('domain_mappings')
    .innerJoin('verified_domains', 'verified_domains.domain', 'domain_mappings.domain')
    .innerJoin('organizations', 'organizations.id', 'domain_mappings.organization_id')
    .select(['domain_mappings.group_id as groupId', 'organizations.plan as plan'])
    .where('domain_mappings.domain', '=', domain)
    .where('domain_mappings.organization_id', '=', organizationId)
    .where('verified_domains.status', '=', 'verified')
    .executeTakeFirst();
  if (!row || !planIncludes(row.plan, 'domain_mappings')) return undefined;
  return row.groupId;
}

/**
 * Returns the organization and group that a new person with an email in `domain` joins, or
 * undefined. A verified domain belongs to one organization, so there is at most one.
 */
export async function mappingForDomain(context: AppContext, domain: string): Promise<{ organizationId: string; groupId: string } | undefined> {
  const row = await context.store.db
    .selectFrom('domain_mappings')
    .innerJoin('verified_domains', 'verified_domains.domain', 'domain_mappings.domain')
    .innerJoin('organizations', 'organizations.id', 'domain_mappings.organization_id')
    .select(['domain_mappings.organization_id as organizationId', 'domain_mappings.group_id as groupId', 'organizations.plan as plan'])
    .where('domain_mappings.domain', '=', domain)
    .where('verified_domains.status', '=', 'verified')
    .whereRef('verified_domains.organization_id', '=', 'domain_mappings.organization_id')
    .executeTakeFirst();
  if (!row || !planIncludes(row.plan, 'domain_mappings')) return undefined;
  return { organizationId: row.organizationId, groupId: row.groupId };
}
