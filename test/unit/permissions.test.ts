import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { can, type Action } from '../../src/model/permissions.js';

describe('permission check', () => {
  const organizationId = 'org_a';
  const table: Array<[Action, boolean, boolean, boolean]> = [
    // action, owners, engineers, viewers
    ['organization.read', true, true, true],
    ['organization.manage', true, false, false],
    ['members.read', true, true, true],
    ['members.manage', true, false, false],
    ['connections.manage', true, false, false],
    ['projects.read', true, true, true],
    ['projects.write', true, true, false],
    ['api_keys.manage_own', true, true, true],
  ];

  it('grants each built-in group exactly its actions', () => {
    for (const [action, owners, engineers, viewers] of table) {
      assert.equal(can([{ organizationId, role: 'owners' }], action, organizationId), owners, `owners ${action}`);
      assert.equal(can([{ organizationId, role: 'engineers' }], action, organizationId), engineers, `engineers ${action}`);
      assert.equal(can([{ organizationId, role: 'viewers' }], action, organizationId), viewers, `viewers ${action}`);
    }
  });

  it('denies everything in an organization the principal does not belong to', () => {
    for (const [action] of table) assert.equal(can([{ organizationId, role: 'owners' }], action, 'org_b'), false, action);
  });
});
