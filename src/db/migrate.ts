import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';

import type { Store } from './database.js';
import * as initial from './migrations/0001_initial.js';

// Migrations are imported statically so that the compiled package needs no file-system lookup.
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Applies every pending migration in order. Throws with the failing migration's name on error. */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const migrator = new Migrator({
    db: store.db,
    provider: new StaticMigrationProvider(),
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((entry) => entry.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed`, { cause: result.error });
  }
  return (result.results ?? []).filter((entry) => entry.status === 'Success').map((entry) => entry.migrationName);
}

/** Returns the names of migrations not yet applied. */
export async function pendingMigrations(store: Store): Promise<string[]> {
  const migrator = new Migrator({
    db: store.db,
    provider: new StaticMigrationProvider(),
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
  });
  const all = await migrator.getMigrations();
  return all.filter((entry) => !entry.executedAt).map((entry) => entry.name);
}
