import type { Kysely } from 'kysely';

/** Adds email domains that an organization proves it owns with a DNS TXT record. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('verified_domains')
    .addColumn('domain', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('verified_at', 'text')
    .addColumn('last_checked_at', 'text')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('verified_domains_organization').on('verified_domains').column('organization_id').execute();
}
