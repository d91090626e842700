import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';

import type { Store } from './database.js';
import * as initial from './migrations/0001_initial.js';
import * as saml from './migrations/0002_saml.js';
import * as verifiedDomains from './migrations/0003_verified_domains.js';
import * as domainMappings from './migrations/0004_domain_mappings.js';
import * as signInMethods from './migrations/0005_sign_in_methods.js';
import * as oauth from './migrations/0006_oauth.js';
import * as providers from './migrations/0007_providers.js';

// Migrations are imported statically so that the compiled package needs no file-system lookup.
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_saml': saml,
  '0003_verified_domains': verifiedDomains,
  '0004_domain_mappings': domainMappings,
  '0005_sign_in_methods': signInMethods,
  '0006_oauth': oauth,
  '0007_providers': providers,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/**
 * Builds the migrator. On PostgreSQL the migration tables are pinned to the connection's current
 * schema, because Kysely otherwise looks for them in every schema and would skip creating them when
 * another schema of the same database already has a Gatehouse installation.
 */
async function createMigrator(store: Store): Promise<Migrator> {
  let migrationTableSchema: string | undefined;
  if (store.kind === 'postgres') {
    const result = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
    migrationTableSchema = result.rows[0]?.schema;
  }
  return new Migrator({
    db: store.db,
    provider: new StaticMigrationProvider(),
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
}

/** Applies every pending migration in order. Throws with the failing migration's name on error. */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const migrator = await createMigrator(store);
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((entry) => entry.status === 'Error')?.migrationName;
    const message = failed ? `migration ${failed} failed` : 'migrations could not start (migration tables or lock)';
    throw new Error(message, { cause: result.error });
  }
  return (result.results ?? []).filter((entry) => entry.status === 'Success').map((entry) => entry.migrationName);
}

/** Applies migrations up to and including `name`; tests use it to check how data moves between versions. */
export async function migrateUpTo(store: Store, name: string): Promise<void> {
  const migrator = await createMigrator(store);
  const result = await migrator.migrateTo(name);
  if (result.error) throw new Error(`migration to ${name} failed`, { cause: result.error });
}
