import { openStore } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadConfigOrExit } from './common.js';

/** Applies pending migrations and prints what ran. */
export async function runMigrate(): Promise<void> {
  const config = loadConfigOrExit();
  const store = openStore(config.database);
  try {
    const applied = await migrateToLatest(store);
    process.stdout.write(applied.length === 0 ? 'Database is up to date.\n' : `Applied: ${applied.join(', ')}\n`);
  } finally {
    await store.db.destroy();
  }
}
