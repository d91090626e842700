import type { Kysely } from 'kysely';

/** Adds AI providers (stored keys or federation settings) and the federation issuer's signing keys. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ai_providers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.references('projects.id').onDelete('cascade'))
    // An empty string stands for "organization level", so that the unique index also covers it;
    // NULLs are distinct in unique indexes on both databases.
    .addColumn('scope_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('base_url', 'text', (c) => c.notNull())
    .addColumn('models', 'text', (c) => c.notNull())
    .addColumn('auth_method', 'text', (c) => c.notNull())
    .addColumn('key_sealed', 'text')
    .addColumn('key_encryption_key_id', 'text')
    .addColumn('key_hint', 'text')
    .addColumn('federation', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ai_providers_name').on('ai_providers').columns(['organization_id', 'scope_key', 'name']).unique().execute();

  await db.schema
    .createTable('issuer_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_key_sealed', 'text', (c) => c.notNull())
    .addColumn('key_encryption_key_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // Unique, so that two nodes that schedule the same next key at once create it only once.
    .addColumn('activates_at', 'text', (c) => c.notNull().unique())
    .execute();
}
