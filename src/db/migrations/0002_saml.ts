import { sql, type Kysely } from 'kysely';

/**
 * Adds SAML connections and their stores, and moves SSO domains into one table that both kinds of
 * connection share, so a domain can never route to two connections.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('saml_connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('preset', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('idp_entity_id', 'text', (c) => c.notNull())
    .addColumn('sso_url', 'text', (c) => c.notNull())
    .addColumn('sso_binding', 'text', (c) => c.notNull())
    .addColumn('certificates', 'text', (c) => c.notNull())
    .addColumn('signature_policy', 'text', (c) => c.notNull())
    .addColumn('allow_sha1', 'integer', (c) => c.notNull())
    .addColumn('allow_idp_initiated', 'integer', (c) => c.notNull())
    .addColumn('sign_requests', 'integer', (c) => c.notNull())
    .addColumn('sp_private_key_sealed', 'text', (c) => c.notNull())
    .addColumn('sp_certificate', 'text', (c) => c.notNull())
    .addColumn('extra_audiences', 'text', (c) => c.notNull())
    .addColumn('clock_skew_seconds', 'integer', (c) => c.notNull())
    .addColumn('name_id_format', 'text', (c) => c.notNull())
    .addColumn('attribute_email', 'text', (c) => c.notNull())
    .addColumn('attribute_first_name', 'text', (c) => c.notNull())
    .addColumn('attribute_last_name', 'text', (c) => c.notNull())
    .addColumn('attribute_groups', 'text')
    .addColumn('group_mappings', 'text', (c) => c.notNull())
    .addColumn('default_group_id', 'text', (c) => c.notNull().references('permission_groups.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sso_domains')
    .addColumn('domain', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('oidc_connection_id', 'text', (c) => c.references('oidc_connections.id').onDelete('cascade'))
    .addColumn('saml_connection_id', 'text', (c) => c.references('saml_connections.id').onDelete('cascade'))
    .addCheckConstraint('sso_domains_one_connection', sql`(oidc_connection_id is null) <> (saml_connection_id is null)`)
    .execute();
  await sql`insert into sso_domains (domain, organization_id, oidc_connection_id, saml_connection_id)
    select domain, organization_id, connection_id, null from connection_domains`.execute(db);
  await db.schema.dropTable('connection_domains').execute();

  await db.schema
    .createTable('saml_identities')
    .addColumn('connection_id', 'text', (c) => c.notNull().references('saml_connections.id').onDelete('cascade'))
    .addColumn('name_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('saml_identities_pk', ['connection_id', 'name_id'])
    .execute();

  // Issued AuthnRequest IDs: each InResponseTo must match one, for the same connection, once.
  await db.schema
    .createTable('saml_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull().references('saml_connections.id').onDelete('cascade'))
    .addColumn('browser_hash', 'text', (c) => c.notNull())
    .addColumn('intent', 'text', (c) => c.notNull())
    .addColumn('link_user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();

  // Assertion IDs already used, kept until the assertion expires, so a replay fails on every node.
  await db.schema
    .createTable('saml_used_assertions')
    .addColumn('connection_id', 'text', (c) => c.notNull().references('saml_connections.id').onDelete('cascade'))
    .addColumn('assertion_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('saml_used_assertions_pk', ['connection_id', 'assertion_id'])
    .execute();
  await db.schema.createIndex('saml_used_assertions_expiry').on('saml_used_assertions').column('expires_at').execute();
}
