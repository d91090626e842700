import { randomBytes } from 'node:crypto';

import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';

import { addSeconds, type AppContext } from '../../app/context.js';
import { open } from '../../crypto/sealed-box.js';
import { sha256Hex } from '../../crypto/tokens.js';
import type { SAMLConnection } from '../../db/schema.js';

/** Seconds a person has to finish signing in at the IdP after Gatehouse sent the AuthnRequest. */
const REQUEST_SECONDS = 600;

/** Returns the SP entity ID of a connection, which is also the URL of its SP metadata. */
export function spEntityId(context: AppContext, connection: { id: string }): string {
  return `${context.config.publicUrl}/saml/${connection.id}/metadata`;
}

/** Returns the assertion consumer service (ACS) URL of a connection. */
export function acsURL(context: AppContext, connection: { id: string }): string {
  return `${context.config.publicUrl}/saml/${connection.id}/acs`;
}

/** Audiences a connection accepts: its SP entity ID and any extras the admin added. */
export function acceptedAudiences(context: AppContext, connection: SAMLConnection): string[] {
  return [spEntityId(context, connection), ...(JSON.parse(connection.extra_audiences) as string[])];
}

/**
 * Builds a node-saml instance for one connection. node-saml verifies signatures with the
 * configured certificates only (never KeyInfo), decrypts assertions, and checks times. InResponseTo
 * and the audience are checked by Gatehouse itself, against the database and the connection.
 */
export function samlFor(
  context: AppContext,
  connection: SAMLConnection,
  options: { requestId?: string; requireResponseSignature?: boolean; requireAssertionSignature?: boolean } = {},
): SAML {
  const privateKey = open(context.keys.secretEncryption, connection.sp_private_key_sealed, connection.id);
  const policy = connection.signature_policy;
  return new SAML({
    issuer: spEntityId(context, connection),
    callbackUrl: acsURL(context, connection),
    entryPoint: connection.sso_url,
    idpCert: JSON.parse(connection.certificates) as string[],
    idpIssuer: connection.idp_entity_id,
    audience: false,
    wantAuthnResponseSigned: options.requireResponseSignature ?? (policy === 'response' || policy === 'both'),
    wantAssertionsSigned: options.requireAssertionSignature ?? (policy === 'assertion' || policy === 'both'),
    acceptedClockSkewMs: connection.clock_skew_seconds * 1000,
    validateInResponseTo: ValidateInResponseTo.never,
    identifierFormat: connection.name_id_format,
    disableRequestedAuthnContext: true,
    authnRequestBinding: connection.sso_binding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect',
    decryptionPvk: privateKey,
    ...(connection.sign_requests ? { privateKey, signatureAlgorithm: 'sha256' as const } : {}),
    ...(options.requestId ? { generateUniqueId: () => options.requestId! } : {}),
  });
}

/** Returns the SP metadata XML of a connection, with its signing and encryption certificate. */
export function spMetadataXML(context: AppContext, connection: SAMLConnection): string {
  return samlFor(context, connection).generateServiceProviderMetadata(connection.sp_certificate, connection.sign_requests ? connection.sp_certificate : null);
}

/** Delivery of an AuthnRequest to the IdP: a redirect URL, or a form to post. */
export type AuthnRequestDelivery = { binding: 'redirect'; url: string } | { binding: 'post'; url: string; fields: Record<string, string> };

/**
 * Creates an AuthnRequest and records its ID for this connection and this browser, so that the
 * response's InResponseTo can be matched once. Returns how to send it (redirect or POST form).
 */
export async function createAuthnRequest(
  context: AppContext,
  connection: SAMLConnection,
  browserToken: string,
  link: { userId: string } | undefined = undefined,
): Promise<AuthnRequestDelivery> {
  // SAML IDs are xs:ID values, which must not start with a digit.
  const requestId = `_${randomBytes(20).toString('hex')}`;
  const now = context.clock();
  await context.store.db
    .insertInto('saml_requests')
    .values({
      id: requestId,
      connection_id: connection.id,
      browser_hash: sha256Hex(browserToken),
      intent: link ? 'link' : 'sign_in',
      link_user_id: link?.userId ?? null,
      created_at: now.toISOString(),
      expires_at: addSeconds(now, REQUEST_SECONDS),
    })
    .execute();

  const saml = samlFor(context, connection, { requestId });
  if (connection.sso_binding === 'post') {
    const message = await saml.getAuthorizeMessageAsync('', undefined, {});
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(message)) if (typeof value === 'string') fields[name] = value;
    return { binding: 'post', url: connection.sso_url, fields };
  }
  return { binding: 'redirect', url: await saml.getAuthorizeUrlAsync('', undefined, {}) };
}
