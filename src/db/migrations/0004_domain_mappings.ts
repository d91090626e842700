import type { Kysely } from 'kysely';

/** Adds domain mappings (verified domain to permission group) and a record of how each member joined. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('domain_mappings')
    .addColumn('domain', 'text', (c) => c.primaryKey().references('verified_domains.domain').onDelete('cascade'))
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull().references('permission_groups.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('membership_joins')
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text')
    .addColumn('mapping_domain', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('membership_joins_member').on('membership_joins').columns(['organization_id', 'user_id']).execute();
}
