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
  sso_domains: SSODomainTable;
  saml_connections: SAMLConnectionTable;
  saml_identities: SAMLIdentityTable;
  saml_requests: SAMLRequestTable;
  saml_used_assertions: SAMLUsedAssertionTable;
  verified_domains: VerifiedDomainTable;
  domain_mappings: DomainMappingTable;
  membership_joins: MembershipJoinTable;
  identities: IdentityTable;
  sessions: SessionTable;
  sign_in_attempts: SignInAttemptTable;
  one_time_links: OneTimeLinkTable;
  api_keys: APIKeyTable;
  google_identities: GoogleIdentityTable;
  google_sign_in_attempts: GoogleSignInAttemptTable;
  email_codes: EmailCodeTable;
  ai_providers: AIProviderTable;
  issuer_signing_keys: IssuerSigningKeyTable;
  oauth_clients: OAuthClientTable;
  oauth_grants: OAuthGrantTable;
  oauth_codes: OAuthCodeTable;
  oauth_tokens: OAuthTokenTable;
}

export type Plan = 'free' | 'pro' | 'enterprise';
export type BuiltinRole = 'owners' | 'engineers' | 'viewers';

export interface OrganizationTable {
  id: string;
  name: string;
  plan: Plan;
  /** 1 when members with an email in a verified domain must sign in through the organization's SSO. */
  require_sso: Generated<number>;
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

/** An email domain and the one SSO connection (OIDC or SAML) that serves it. */
export interface SSODomainTable {
  domain: string;
  organization_id: string;
  oidc_connection_id: string | null;
  saml_connection_id: string | null;
}

export type SAMLSignaturePolicy = 'assertion' | 'response' | 'both';
export type SAMLBinding = 'redirect' | 'post';

export interface SAMLConnectionTable {
  id: string;
  organization_id: string;
  name: string;
  preset: string;
  /** 1 when the connection accepts sign-ins; every flow of a disabled connection is rejected. */
  enabled: number;
  idp_entity_id: string;
  sso_url: string;
  sso_binding: SAMLBinding;
  /** JSON array of trusted IdP signing certificates in PEM. */
  certificates: string;
  signature_policy: SAMLSignaturePolicy;
  allow_sha1: number;
  allow_idp_initiated: number;
  sign_requests: number;
  /** SP private key (signs requests, decrypts assertions), sealed like OIDC client secrets. */
  sp_private_key_sealed: string;
  sp_certificate: string;
  /** JSON array of audiences accepted besides the SP entity ID, such as Entra's `spn:<app id>`. */
  extra_audiences: string;
  clock_skew_seconds: number;
  name_id_format: string;
  attribute_email: string;
  attribute_first_name: string;
  attribute_last_name: string;
  attribute_groups: string | null;
  /** JSON object mapping an IdP group name to a permission group id. */
  group_mappings: string;
  default_group_id: string;
  created_at: string;
}

export interface SAMLIdentityTable {
  connection_id: string;
  name_id: string;
  user_id: string;
  created_at: string;
}

export interface SAMLRequestTable {
  id: string;
  connection_id: string;
  browser_hash: string;
  /** 'link' attaches the NameID to link_user_id instead of signing someone in. */
  intent: 'sign_in' | 'link';
  link_user_id: string | null;
  created_at: string;
  expires_at: string;
}

export interface SAMLUsedAssertionTable {
  connection_id: string;
  assertion_id: string;
  expires_at: string;
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
  method: 'oidc' | 'saml' | 'google' | 'email_code' | 'setup_link' | 'sign_in_link';
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
export type SAMLConnection = Selectable<SAMLConnectionTable>;
export type APIKeyRow = Selectable<APIKeyTable>;
export type NewSession = Insertable<SessionTable>;
export type { Generated };

/** An email domain an organization claimed; it grants nothing until its DNS TXT record is verified. */
export interface VerifiedDomainTable {
  domain: string;
  organization_id: string;
  /** Random value the TXT record must carry. */
  token: string;
  /** 'verified' only while the record is present; a failed recheck sets 'failed'. */
  status: 'pending' | 'verified' | 'failed';
  created_at: string;
  verified_at: string | null;
  last_checked_at: string | null;
  last_error: string | null;
}

/** A verified domain whose new members join the organization in `group_id`. */
export interface DomainMappingTable {
  domain: string;
  organization_id: string;
  group_id: string;
  created_at: string;
}

/** Record of a member's join: the connection used and, when one applied, the domain mapping. */
export interface MembershipJoinTable {
  organization_id: string;
  user_id: string;
  group_id: string;
  connection_id: string | null;
  mapping_domain: string | null;
  /** Sign-in method of the join: 'oidc', 'saml', 'google' or 'email_code'. Null for joins before migration 0005. */
  method: string | null;
  created_at: string;
}

/** A Google account (by its stable `sub`) linked to a user. */
export interface GoogleIdentityTable {
  subject: string;
  user_id: string;
  email: string;
  /** The Workspace domain from the `hd` claim; null for consumer accounts. */
  hosted_domain: string | null;
  created_at: string;
  last_sign_in_at: string;
}

/** A Google sign-in in progress, stored by the hash of its state. */
export interface GoogleSignInAttemptTable {
  state_hash: string;
  browser_hash: string;
  nonce: string;
  code_verifier: string;
  created_at: string;
  expires_at: string;
}

/** An emailed one-time code; only its keyed hash is stored. */
export interface EmailCodeTable {
  id: string;
  email: string;
  code_hash: string;
  browser_hash: string;
  attempts: Generated<number>;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export type AIProviderKind = 'openai' | 'anthropic' | 'google' | 'azure' | 'openai_compatible';
export type AIProviderAuthMethod = 'api_key' | 'wif';

/** An AI provider of an organization, or of one project when project_id is set. */
export interface AIProviderTable {
  id: string;
  organization_id: string;
  project_id: string | null;
  /** project_id, or '' for an organization-level provider; part of the unique name index. */
  scope_key: string;
  kind: AIProviderKind;
  name: string;
  base_url: string;
  /** JSON array of model names the provider serves; a trailing * matches any suffix. */
  models: string;
  auth_method: AIProviderAuthMethod;
  /** API key sealed with AES-256-GCM under the key-encryption key named by key_encryption_key_id. */
  key_sealed: string | null;
  key_encryption_key_id: string | null;
  /** Last four characters of the key, the only part ever shown again. */
  key_hint: string | null;
  /** JSON object of the provider's federation settings (ids and endpoints; no secrets). */
  federation: string | null;
  created_at: string;
  updated_at: string;
}

/** An RS256 key of the federation issuer; it signs from activates_at until the next key activates. */
export interface IssuerSigningKeyTable {
  kid: string;
  public_jwk: string;
  private_key_sealed: string;
  key_encryption_key_id: string;
  created_at: string;
  activates_at: string;
}

/** Origin of an OAuth client: dynamic registration, a client ID metadata document, or an owner. */
export type OAuthClientKind = 'dynamic' | 'metadata_document' | 'preregistered';
export type OAuthClientAuthMethod = 'none' | 'client_secret_post' | 'client_secret_basic';

/** An OAuth client of Gatehouse's authorization server. */
export interface OAuthClientTable {
  /** Generated for registered clients; the document URL for metadata-document clients. */
  client_id: string;
  kind: OAuthClientKind;
  client_name: string | null;
  /** JSON array of exact redirect URIs. */
  redirect_uris: string;
  /** JSON array of grant types the client may use. */
  grant_types: string;
  token_endpoint_auth_method: OAuthClientAuthMethod;
  /** SHA-256 of the client secret; null for public clients. */
  secret_hash: string | null;
  /** JSON object of the registered metadata, returned as the registration response. */
  metadata: string;
  /** Organization of an owner-registered client; null otherwise. */
  organization_id: string | null;
  /** When a cached metadata document must be fetched again; null for other kinds. */
  document_expires_at: string | null;
  created_at: string;
}

/** One consent: a user let a client act in one organization with some scopes, until revoked. */
export interface OAuthGrantTable {
  id: string;
  client_id: string;
  user_id: string;
  organization_id: string;
  scope: string;
  /** RFC 8707 resource the tokens are for; their audience. */
  resource: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** An authorization code, stored by hash; `used_at` makes it single use. */
export interface OAuthCodeTable {
  code_hash: string;
  client_id: string;
  user_id: string;
  organization_id: string;
  redirect_uri: string;
  /** PKCE S256 challenge. */
  code_challenge: string;
  scope: string;
  resource: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  /** Grant the redemption created, so a replay can revoke it. */
  grant_id: string | null;
}

/** An access or refresh token of a grant, stored by hash. A refresh token's `used_at` marks its rotation. */
export interface OAuthTokenTable {
  token_hash: string;
  grant_id: string;
  kind: 'access' | 'refresh';
  /** Scope of this token: the grant's, or narrower when a refresh request asked for less. */
  scope: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}
