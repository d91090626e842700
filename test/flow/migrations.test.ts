import assert from 'node:assert/strict';
import { it } from 'node:test';

import { openStore } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { databaseCases } from '../support/databases.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`migrations (${database.name})`, database.skip, () => {
    it('applies every migration once and then nothing', async () => {
      const { target, cleanup } = await database.create();
      const store = openStore(target);
      try {
        assert.deepEqual(await migrateToLatest(store), ['0001_initial']);
        assert.deepEqual(await migrateToLatest(store), []);
      } finally {
        await store.db.destroy();
        await cleanup();
      }
    });

    it('migrates a second installation next to a first one', async () => {
      const first = await database.create();
      const second = await database.create();
      const stores = [openStore(first.target), openStore(second.target)];
      try {
        assert.deepEqual(await migrateToLatest(stores[0]!), ['0001_initial']);
        assert.deepEqual(await migrateToLatest(stores[1]!), ['0001_initial']);
      } finally {
        for (const store of stores) await store.db.destroy();
        await first.cleanup();
        await second.cleanup();
      }
    });
  });
}
