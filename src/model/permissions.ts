import type { BuiltinRole } from '../db/schema.js';

/** Every action that a permission check can name. */
export type Action =
  | 'organization.read'
  | 'organization.manage'
  | 'members.read'
  | 'members.manage'
  | 'connections.manage'
  | 'projects.read'
  | 'projects.write'
  | 'api_keys.manage_own'
  | 'providers.read'
  | 'providers.manage'
  | 'providers.manage_project'
  | 'providers.use';

const grants: Record<BuiltinRole, ReadonlySet<Action>> = {
  owners: new Set<Action>([
    'organization.read',
    'organization.manage',
    'members.read',
    'members.manage',
    'connections.manage',
    'projects.read',
    'projects.write',
    'api_keys.manage_own',
    'providers.read',
    'providers.manage',
    'providers.manage_project',
    'providers.use',
  ]),
  engineers: new Set<Action>([
    'organization.read',
    'members.read',
    'projects.read',
    'projects.write',
    'api_keys.manage_own',
    'providers.read',
    'providers.manage_project',
    'providers.use',
  ]),
  viewers: new Set<Action>(['organization.read', 'members.read', 'projects.read', 'api_keys.manage_own', 'providers.read']),
};

/** Display names of the built-in permission groups, created with every organization. */
export const builtinGroupNames: Record<BuiltinRole, string> = {
  owners: 'Owners',
  engineers: 'Engineers',
  viewers: 'Viewers',
};

/** A principal's standing in one organization, as resolved from a session or an API key. */
export interface OrganizationAccess {
  organizationId: string;
  role: BuiltinRole;
}

/**
 * Decides whether a principal may perform `action` in `organizationId`. This is the only place that
 * maps roles to actions; callers pass the memberships they resolved for the current request.
 */
export function can(memberships: readonly OrganizationAccess[], action: Action, organizationId: string): boolean {
  const membership = memberships.find((entry) => entry.organizationId === organizationId);
  if (!membership) return false;
  return grants[membership.role].has(action);
}
