import type { Kysely, Transaction } from 'kysely';

import type { BuiltinRole, Database, Plan } from '../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** One organization a user belongs to, with the group that sets their permissions there. */
export interface MembershipView {
  organizationId: string;
  organizationName: string;
  plan: Plan;
  groupId: string;
  groupName: string;
  role: BuiltinRole;
}

/** Lists the organizations a user belongs to, oldest membership first. */
export async function listMemberships(db: Executor, userId: string): Promise<MembershipView[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.organization_id')
    .innerJoin('permission_groups', 'permission_groups.id', 'memberships.group_id')
    .select([
      'organizations.id as organizationId',
      'organizations.name as organizationName',
      'organizations.plan as plan',
      'permission_groups.id as groupId',
      'permission_groups.name as groupName',
      'permission_groups.role as role',
    ])
    .where('memberships.user_id', '=', userId)
    .orderBy('memberships.created_at')
    .execute();
  return rows;
}

/** Adds a user to an organization in the given group. */
export async function addMembership(
  db: Executor,
  input: { organizationId: string; userId: string; groupId: string; now: Date },
): Promise<void> {
  await db
    .insertInto('memberships')
    .values({
      organization_id: input.organizationId,
      user_id: input.userId,
      group_id: input.groupId,
      created_at: input.now.toISOString(),
    })
    .execute();
}

/**
 * Removes a user from an organization. Their API keys for it stop working at once, because key
 * verification joins on the membership.
 */
export async function removeMembership(db: Executor, organizationId: string, userId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('memberships')
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** One member of an organization as settings pages list them. */
export interface MemberView {
  userId: string;
  email: string;
  name: string | null;
  groupName: string;
  role: BuiltinRole;
  joinedAt: string;
}

/** Lists an organization's members by email. */
export async function listMembers(db: Executor, organizationId: string): Promise<MemberView[]> {
  return db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .innerJoin('permission_groups', 'permission_groups.id', 'memberships.group_id')
    .select([
      'users.id as userId',
      'users.email as email',
      'users.name as name',
      'permission_groups.name as groupName',
      'permission_groups.role as role',
      'memberships.created_at as joinedAt',
    ])
    .where('memberships.organization_id', '=', organizationId)
    .orderBy('users.email')
    .execute();
}

/** Counts the members of the organization's Owners group. */
export async function countOwners(db: Executor, organizationId: string): Promise<number> {
  const row = await db
    .selectFrom('memberships')
    .innerJoin('permission_groups', 'permission_groups.id', 'memberships.group_id')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('memberships.organization_id', '=', organizationId)
    .where('permission_groups.role', '=', 'owners')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
