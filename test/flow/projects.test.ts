import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { createAPIKey } from '../../src/auth/api-keys.js';
import type { BuiltinRole } from '../../src/db/schema.js';
import { addMembership } from '../../src/model/memberships.js';
import { builtinGroupId, createOrganization } from '../../src/model/organizations.js';
import { createUser } from '../../src/model/users.js';
import { databaseCases } from '../support/databases.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`projects API and permission groups (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let organizationId: string;
    let otherOrganizationId: string;
    const keys = {} as Record<BuiltinRole, string>;

    before(async () => {
      gatehouse = await startGatehouse(database);
      const { context } = gatehouse.app;
      const now = context.clock();
      organizationId = (await createOrganization(context.store.db, { name: 'Acme', plan: 'free', now })).organization.id;
      otherOrganizationId = (await createOrganization(context.store.db, { name: 'Other', plan: 'free', now })).organization.id;
      for (const role of ['owners', 'engineers', 'viewers'] as const) {
        const user = await createUser(context.store.db, { email: `${role}@example.com`, name: null, now });
        await addMembership(context.store.db, { organizationId, userId: user.id, groupId: await builtinGroupId(context.store.db, organizationId, role), now });
        keys[role] = (await createAPIKey(context, { organizationId, userId: user.id, name: role })).key;
      }
    });
    after(async () => {
      await gatehouse?.close();
    });

    const call = async (role: BuiltinRole, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${gatehouse.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${keys[role]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it('lets engineers create projects and viewers read them', async () => {
      const created = await call('engineers', 'POST', `/v1/organizations/${organizationId}/projects`, { name: 'search' });
      assert.equal(created.status, 201);
      assert.equal(created.body.name, 'search');
      assert.match(String(created.body.id), /^prj_/);

      const listed = await call('viewers', 'GET', `/v1/organizations/${organizationId}/projects`);
      assert.equal(listed.status, 200);
      assert.deepEqual((listed.body.projects as Array<{ name: string }>).map((project) => project.name), ['search']);

      const one = await call('viewers', 'GET', `/v1/organizations/${organizationId}/projects/${String(created.body.id)}`);
      assert.equal(one.status, 200);
      assert.equal(one.body.name, 'search');
    });

    it('forbids viewers to create projects', async () => {
      const answer = await call('viewers', 'POST', `/v1/organizations/${organizationId}/projects`, { name: 'nope' });
      assert.equal(answer.status, 403);
      assert.deepEqual(answer.body, { error: 'forbidden', error_description: 'Your permission group does not allow this action.' });
    });

    it('hides other organizations behind 404', async () => {
      const answer = await call('owners', 'GET', `/v1/organizations/${otherOrganizationId}/projects`);
      assert.equal(answer.status, 404);
      assert.deepEqual(answer.body, { error: 'not_found', error_description: 'Organization not found.' });
    });

    it('rejects a duplicate name and an invalid body', async () => {
      const duplicate = await call('owners', 'POST', `/v1/organizations/${organizationId}/projects`, { name: 'search' });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.error, 'conflict');
      const invalid = await call('owners', 'POST', `/v1/organizations/${organizationId}/projects`, { name: '' });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.body.error, 'invalid_request');
      const missing = await call('owners', 'GET', `/v1/organizations/${organizationId}/projects/prj_missing`);
      assert.equal(missing.status, 404);
    });

    it('lets an API key act only in its own organization', async () => {
      const answer = await call('engineers', 'GET', '/v1/whoami');
      assert.deepEqual((answer.body.organizations as Array<{ id: string }>).map((organization) => organization.id), [organizationId]);
    });
  });
}
