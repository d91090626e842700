import type { Kysely, Transaction } from 'kysely';

import { newId } from '../crypto/tokens.js';
import type { BuiltinRole, Database, Organization, Plan } from '../db/schema.js';
import { builtinGroupNames } from './permissions.js';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Creates an organization with its three built-in permission groups. Run it inside a transaction
 * together with the first membership so that no organization exists without an owner.
 */
export async function createOrganization(
  db: Executor,
  input: { name: string; plan: Plan; now: Date },
): Promise<{ organization: Organization; groups: Record<BuiltinRole, string> }> {
  const createdAt = input.now.toISOString();
  const organization: Organization = { id: newId('org'), name: input.name, plan: input.plan, require_sso: 0, created_at: createdAt };
  await db.insertInto('organizations').values(organization).execute();

  const groups = {} as Record<BuiltinRole, string>;
  for (const role of Object.keys(builtinGroupNames) as BuiltinRole[]) {
    groups[role] = newId('grp');
    await db
      .insertInto('permission_groups')
      .values({ id: groups[role], organization_id: organization.id, name: builtinGroupNames[role], role, created_at: createdAt })
      .execute();
  }
  return { organization, groups };
}

/** Returns the id of an organization's built-in group for `role`. */
export async function builtinGroupId(db: Executor, organizationId: string, role: BuiltinRole): Promise<string> {
  const row = await db
    .selectFrom('permission_groups')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('role', '=', role)
    .orderBy('created_at')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Returns whether any organization exists; first-run setup is offered only while none does. */
export async function anyOrganizationExists(db: Executor): Promise<boolean> {
  const row = await db.selectFrom('organizations').select('id').limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Changes an organization's plan. Returns false when the organization does not exist. */
export async function setPlan(db: Executor, organizationId: string, plan: Plan): Promise<boolean> {
  const result = await db.updateTable('organizations').set({ plan }).where('id', '=', organizationId).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
