import assert from 'node:assert/strict';
import { it } from 'node:test';

import { openStore } from '../../src/db/database.js';
import { migrateToLatest, migrateUpTo } from '../../src/db/migrate.js';
import { databaseCases } from '../support/databases.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`migrations (${database.name})`, database.skip, () => {
    it('applies every migration once and then nothing', async () => {
      const { target, cleanup } = await database.create();
      const store = openStore(target);
      try {
        assert.deepEqual(await migrateToLatest(store), ['0001_initial', '0002_saml', '0003_verified_domains', '0004_domain_mappings', '0005_sign_in_methods', '0006_oauth', '0007_providers']);
        assert.deepEqual(await migrateToLatest(store), []);
      } finally {
        await store.db.destroy();
        await cleanup();
      }
    });

    it('moves OIDC connection domains into the shared domain table', async () => {
      const { target, cleanup } = await database.create();
      const store = openStore(target);
      try {
        await migrateUpTo(store, '0001_initial');
        const db = store.db as unknown as import('kysely').Kysely<Record<string, Record<string, unknown>>>;
        const now = new Date().toISOString();
        await db.insertInto('organizations').values({ id: 'org_1', name: 'Acme', plan: 'enterprise', created_at: now }).execute();
        await db.insertInto('permission_groups').values({ id: 'grp_1', organization_id: 'org_1', name: 'Engineers', role: 'engineers', created_at: now }).execute();
        await db
          .insertInto('oidc_connections')
          .values({ id: 'con_1', organization_id: 'org_1', name: 'IdP', issuer: 'https://idp.example.com', client_id: 'c', client_secret_sealed: 'v1.a.b.c', scopes: 'openid', default_group_id: 'grp_1', created_at: now })
          .execute();
        await db.insertInto('connection_domains').values({ domain: 'example.com', connection_id: 'con_1', organization_id: 'org_1' }).execute();

        assert.deepEqual(await migrateToLatest(store), ['0002_saml', '0003_verified_domains', '0004_domain_mappings', '0005_sign_in_methods', '0006_oauth', '0007_providers']);
        const rows = await store.db.selectFrom('sso_domains').selectAll().execute();
        assert.deepEqual(rows, [{ domain: 'example.com', organization_id: 'org_1', oidc_connection_id: 'con_1', saml_connection_id: null }]);
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
        assert.deepEqual(await migrateToLatest(stores[0]!), ['0001_initial', '0002_saml', '0003_verified_domains', '0004_domain_mappings', '0005_sign_in_methods', '0006_oauth', '0007_providers']);
        assert.deepEqual(await migrateToLatest(stores[1]!), ['0001_initial', '0002_saml', '0003_verified_domains', '0004_domain_mappings', '0005_sign_in_methods', '0006_oauth', '0007_providers']);
      } finally {
        for (const store of stores) await store.db.destroy();
        await first.cleanup();
        await second.cleanup();
      }
    });
  });
}
