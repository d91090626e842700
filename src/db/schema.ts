import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * Table types. Timestamps are ISO 8601 UTC strings from Date.toISOString(): they have a fixed width,
 * so they compare correctly as text on both SQLite and PostgreSQL.
 */
export interface Database {
  organizations: OrganizationTable;
  users: UserTable;
  permission_groups: PermissionGroupTable;
  memberships: MembershipTable;
  projects: ProjectTable;
  oidc_connections: OIDCConnectionTable;
  connection_domains: ConnectionDomainTable;
  identities: IdentityTable;
  sessions: SessionTable;
  sign_in_attempts: SignInAttemptTable;
  one_time_links: OneTimeLinkTable;
  api_keys: APIKeyTable;
}

export type Plan = 'free' | 'pro' | 'enterprise';
export type BuiltinRole = 'owners' | 'engineers' | 'viewers';

export interface OrganizationTable {
  id: string;
  name: string;
  plan: Plan;
  created_at: string;
}

export interface UserTable {
  id: string;
  email: string;
  name: string | null;
  created_at: string;
}

export interface PermissionGroupTable {
  id: string;
  organization_id: string;
  name: string;
  role: BuiltinRole;
  created_at: string;
}

export interface MembershipTable {
  organization_id: string;
  user_id: string;
  group_id: string;
  created_at: string;
}

export interface ProjectTable {
  id: string;
  organization_id: string;
  name: string;
  created_at: string;
}

export interface OIDCConnectionTable {
  id: string;
  organization_id: string;
  name: string;
  issuer: string;
  client_id: string;
  /** Client secret sealed with AES-256-GCM under a key derived from GATEHOUSE_SECRET. */
  client_secret_sealed: string;
  scopes: string;
  /** Permission group that users created on first sign-in join. */
  default_group_id: string;
  created_at: string;
}

export interface ConnectionDomainTable {
  domain: string;
  connection_id: string;
  organization_id: string;
}

export interface IdentityTable {
  connection_id: string;
  subject: string;
  user_id: string;
  created_at: string;
}

export interface SessionTable {
  id: string;
  token_hash: string;
  user_id: string;
  method: 'oidc' | 'setup_link' | 'sign_in_link';
  connection_id: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export interface SignInAttemptTable {
  state_hash: string;
  browser_hash: string;
  connection_id: string;
  nonce: string;
  code_verifier: string;
  /** 'link' attaches the identity to link_user_id instead of signing someone in. */
  intent: 'sign_in' | 'link';
  link_user_id: string | null;
  created_at: string;
  expires_at: string;
}

export interface OneTimeLinkTable {
  token_hash: string;
  purpose: 'setup' | 'sign_in';
  user_id: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface APIKeyTable {
  id: string;
  organization_id: string;
  user_id: string;
  name: string;
  key_hash: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
  deactivated_at: string | null;
}

export type Organization = Selectable<OrganizationTable>;
export type User = Selectable<UserTable>;
export type OIDCConnection = Selectable<OIDCConnectionTable>;
export type APIKeyRow = Selectable<APIKeyTable>;
export type NewSession = Insertable<SessionTable>;
export type { Generated };
