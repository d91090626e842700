import type { AppContext } from '../../app/context.js';
import { seal } from '../../crypto/sealed-box.js';
import { randomToken } from '../../crypto/tokens.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { BuiltinRole, SAMLConnection, SAMLSignaturePolicy } from '../../db/schema.js';
import { Conflict, InvalidRequest, NotFound, PlanRequired } from '../../http/errors.js';
import { builtinGroupId } from '../../model/organizations.js';
import { planIncludes } from '../../model/plans.js';
import { FetchProblem, fetchPublicDocument } from '../../net/safe-fetch.js';
import { domainRow, domainsByConnection, parseDomainList, requireUnclaimedDomains } from '../domains.js';
import { CertificateProblem, parseCertificate, splitCertificates } from './certificates.js';
import { MAX_METADATA_BYTES, parseIdPMetadata, type IdPMetadata } from './metadata.js';
import { findPreset } from './presets.js';
import { generateSPCredentials } from './sp-credentials.js';
import { XMLProblem } from './xml.js';

/** Form input for a new SAML connection; fields arrive as strings. */
export interface SAMLConnectionInput {
  name: string;
  preset: string;
  domains: string;
  metadataXML: string;
  metadataURL: string;
  entityId: string;
  ssoURL: string;
  ssoBinding: string;
  certificates: string;
  signaturePolicy: string;
  allowSHA1: boolean;
  allowIdPInitiated: boolean;
  signRequests: boolean;
  extraAudiences: string;
  clockSkewSeconds: string;
  attributeEmail: string;
  attributeFirstName: string;
  attributeLastName: string;
  attributeGroups: string;
  /** Lines of `IdP group = Owners|Engineers|Viewers`. */
  groupMappings: string;
}

const POLICIES: readonly SAMLSignaturePolicy[] = ['assertion', 'response', 'both'];
const ROLE_BY_NAME: Record<string, BuiltinRole> = { owners: 'owners', engineers: 'engineers', viewers: 'viewers' };

/**
 * Validates and stores a SAML connection. Metadata (fetched or pasted) fills entity ID, SSO URL,
 * binding and certificates; values typed by hand win. Certificates are parsed now and expired ones
 * rejected. A fresh SP key pair is generated for request signing and assertion decryption.
 */
export async function createSAMLConnection(context: AppContext, organizationId: string, input: SAMLConnectionInput): Promise<SAMLConnection> {
  const organization = await context.store.db.selectFrom('organizations').select(['plan']).where('id', '=', organizationId).executeTakeFirst();
  if (!organization) throw new NotFound('Organization not found.');
  if (!planIncludes(organization.plan, 'saml_sso')) {
    throw new PlanRequired('SAML single sign-on needs the Enterprise plan. Ask your operator to change the plan (gatehouse admin set-plan).');
  }

  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) throw new InvalidRequest('Enter a name of 1 to 100 characters.', { field: 'name' });
  const preset = findPreset(input.preset);
  if (!preset) throw new InvalidRequest('Choose an identity provider preset.', { field: 'preset' });
  const domains = parseDomainList(input.domains);
  await requireUnclaimedDomains(context, domains);

  const metadata = await readMetadata(context, input);
  const entityId = input.entityId.trim() || metadata?.entityId || '';
  if (!entityId || entityId.length > 1024) throw new InvalidRequest('Enter the identity provider’s entity ID (Issuer), or provide its metadata.', { field: 'entity_id' });
  const ssoURL = input.ssoURL.trim() || metadata?.ssoURL || '';
  if (!isHTTPSURL(ssoURL, context)) throw new InvalidRequest('Enter the identity provider’s single sign-on URL, starting with https://.', { field: 'sso_url' });
  const binding = input.ssoBinding === 'post' || input.ssoBinding === 'redirect' ? input.ssoBinding : metadata?.binding ?? 'redirect';

  const now = context.clock();
  const certificateTexts = input.certificates.trim() ? splitCertificates(input.certificates) : metadata?.certificates ?? [];
  if (certificateTexts.length === 0) throw new InvalidRequest('Add at least one signing certificate of the identity provider.', { field: 'certificates' });
  if (certificateTexts.length > 5) throw new InvalidRequest('Add at most 5 signing certificates.', { field: 'certificates' });
  const certificates = certificateTexts.map((text, index) => {
    try {
      return parseCertificate(text, now).pem;
    } catch (error) {
      if (error instanceof CertificateProblem) throw new InvalidRequest(`Certificate ${index + 1}: ${error.message}`, { field: 'certificates' });
      throw error;
    }
  });

  const policy = (input.signaturePolicy || preset.signaturePolicy) as SAMLSignaturePolicy;
  if (!POLICIES.includes(policy)) throw new InvalidRequest('Choose which element must be signed.', { field: 'signature_policy' });
  const skew = input.clockSkewSeconds.trim() === '' ? 180 : Number(input.clockSkewSeconds);
  if (!Number.isInteger(skew) || skew < 0 || skew > 600) throw new InvalidRequest('Enter a clock skew of 0 to 600 seconds.', { field: 'clock_skew_seconds' });
  const extraAudiences = input.extraAudiences.split(/[\s,]+/).filter(Boolean);
  if (extraAudiences.length > 5 || extraAudiences.some((audience) => audience.length > 1024)) {
    throw new InvalidRequest('Enter at most 5 extra audiences.', { field: 'extra_audiences' });
  }

  const attributeEmail = input.attributeEmail.trim() || preset.attributes.email;
  const attributeFirstName = input.attributeFirstName.trim() || preset.attributes.firstName;
  const attributeLastName = input.attributeLastName.trim() || preset.attributes.lastName;
  const attributeGroups = input.attributeGroups.trim() || preset.attributes.groups;
  const groupMappings = await parseGroupMappings(context, organizationId, input.groupMappings);

  // Letters and digits only: Okta rejects ACS URLs with underscores, and the ID is part of the URL.
  const id = `saml${Buffer.from(randomToken(12), 'base64url').toString('hex')}`;
  const sp = await generateSPCredentials(`Gatehouse SAML ${id}`, now);
  const row: SAMLConnection = {
    id,
    organization_id: organizationId,
    name,
    preset: preset.id,
    enabled: 1,
    idp_entity_id: entityId,
    sso_url: ssoURL,
    sso_binding: binding,
    certificates: JSON.stringify(certificates),
    signature_policy: policy,
    allow_sha1: input.allowSHA1 ? 1 : 0,
    allow_idp_initiated: input.allowIdPInitiated ? 1 : 0,
    sign_requests: input.signRequests || metadata?.wantAuthnRequestsSigned ? 1 : 0,
    sp_private_key_sealed: seal(context.keys.secretEncryption, sp.privateKeyPem, id),
    sp_certificate: sp.certificatePem,
    extra_audiences: JSON.stringify(extraAudiences),
    clock_skew_seconds: skew,
    name_id_format: preset.nameIdFormat,
    attribute_email: attributeEmail,
    attribute_first_name: attributeFirstName,
    attribute_last_name: attributeLastName,
    attribute_groups: attributeGroups,
    group_mappings: JSON.stringify(groupMappings),
    default_group_id: await builtinGroupId(context.store.db, organizationId, 'engineers'),
    created_at: now.toISOString(),
  };

  try {
    await context.store.db.transaction().execute(async (transaction) => {
      await transaction.insertInto('saml_connections').values(row).execute();
      for (const domain of domains) {
        await transaction.insertInto('sso_domains').values(domainRow(organizationId, domain, { kind: 'saml', id })).execute();
      }
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new Conflict('Another connection already serves one of these domains.', { field: 'domains' });
    throw error;
  }
  context.logger.info({ event: 'saml_connection.created', organizationId, connectionId: id, idpEntityId: entityId }, 'SAML connection created');
  return row;
}

/** A SAML connection with its domains, as settings pages list it. */
export interface SAMLConnectionView {
  connection: SAMLConnection;
  domains: string[];
}

/** Lists an organization's SAML connections with their domains. */
export async function listSAMLConnections(context: AppContext, organizationId: string): Promise<SAMLConnectionView[]> {
  const rows = await context.store.db.selectFrom('saml_connections').selectAll().where('organization_id', '=', organizationId).orderBy('created_at').execute();
  const domains = await domainsByConnection(context, organizationId);
  return rows.map((connection) => ({ connection, domains: domains.get(connection.id) ?? [] }));
}

/** Returns a SAML connection by id, or undefined. */
export async function findSAMLConnection(context: AppContext, connectionId: string): Promise<SAMLConnection | undefined> {
  return context.store.db.selectFrom('saml_connections').selectAll().where('id', '=', connectionId).executeTakeFirst();
}

/** Turns a connection on or off. A disabled connection rejects every flow, IdP-initiated ones included. */
export async function setSAMLConnectionEnabled(context: AppContext, organizationId: string, connectionId: string, enabled: boolean): Promise<boolean> {
  const result = await context.store.db
    .updateTable('saml_connections')
    .set({ enabled: enabled ? 1 : 0 })
    .where('id', '=', connectionId)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
  if (result.numUpdatedRows > 0n) context.logger.info({ event: 'saml_connection.updated', connectionId, enabled }, 'SAML connection updated');
  return result.numUpdatedRows > 0n;
}

/**
 * Replaces the trusted IdP signing certificates of a connection, for a rollover: paste the old and
 * the new certificate, then only the new one once the IdP has switched. Throws InvalidRequest.
 */
export async function replaceSAMLCertificates(context: AppContext, organizationId: string, connectionId: string, text: string): Promise<boolean> {
  const now = context.clock();
  const texts = splitCertificates(text);
  if (texts.length === 0) throw new InvalidRequest('Add at least one signing certificate of the identity provider.', { field: 'certificates' });
  if (texts.length > 5) throw new InvalidRequest('Add at most 5 signing certificates.', { field: 'certificates' });
  const certificates = texts.map((entry, index) => {
    try {
      return parseCertificate(entry, now).pem;
    } catch (error) {
      if (error instanceof CertificateProblem) throw new InvalidRequest(`Certificate ${index + 1}: ${error.message}`, { field: 'certificates' });
      throw error;
    }
  });
  const result = await context.store.db
    .updateTable('saml_connections')
    .set({ certificates: JSON.stringify(certificates) })
    .where('id', '=', connectionId)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
  if (result.numUpdatedRows > 0n) {
    context.logger.info({ event: 'saml_connection.certificates_replaced', connectionId, count: certificates.length }, 'SAML certificates replaced');
  }
  return result.numUpdatedRows > 0n;
}

/** Describes the trusted certificates of a connection for the settings page. */
export function describeCertificates(connection: SAMLConnection, now: Date): Array<{ subject: string; notAfter: string; fingerprint256: string }> {
  return (JSON.parse(connection.certificates) as string[]).map((pem) => {
    try {
      const { subject, notAfter, fingerprint256 } = parseCertificate(pem, now);
      return { subject, notAfter, fingerprint256 };
    } catch (error) {
      const message = error instanceof CertificateProblem ? error.message : 'unreadable';
      return { subject: message, notAfter: '', fingerprint256: '' };
    }
  });
}

/** Deletes a SAML connection with its domains, identities and stores; users stay. */
export async function deleteSAMLConnection(context: AppContext, organizationId: string, connectionId: string): Promise<boolean> {
  return context.store.db.transaction().execute(async (transaction) => {
    const found = await transaction.selectFrom('saml_connections').select('id').where('id', '=', connectionId).where('organization_id', '=', organizationId).executeTakeFirst();
    if (!found) return false;
    await transaction.deleteFrom('sso_domains').where('saml_connection_id', '=', connectionId).execute();
    await transaction.deleteFrom('saml_identities').where('connection_id', '=', connectionId).execute();
    await transaction.deleteFrom('saml_requests').where('connection_id', '=', connectionId).execute();
    await transaction.deleteFrom('saml_used_assertions').where('connection_id', '=', connectionId).execute();
    await transaction.deleteFrom('saml_connections').where('id', '=', connectionId).execute();
    context.logger.info({ event: 'saml_connection.deleted', organizationId, connectionId }, 'SAML connection deleted');
    return true;
  });
}

async function readMetadata(context: AppContext, input: SAMLConnectionInput): Promise<IdPMetadata | undefined> {
  let xml = input.metadataXML.trim();
  if (!xml && input.metadataURL.trim()) {
    try {
      xml = await fetchPublicDocument(input.metadataURL.trim(), { maxBytes: MAX_METADATA_BYTES, timeoutMilliseconds: 10_000, allowLoopback: context.config.allowLoopbackFetch });
    } catch (error) {
      if (error instanceof FetchProblem) throw new InvalidRequest(`Could not fetch the metadata: ${error.message}`, { field: 'metadata_url' });
      throw error;
    }
  }
  if (!xml) return undefined;
  try {
    return parseIdPMetadata(xml);
  } catch (error) {
    if (error instanceof XMLProblem) throw new InvalidRequest(`The metadata is not usable: ${error.message}`, { field: input.metadataXML.trim() ? 'metadata_xml' : 'metadata_url' });
    throw error;
  }
}

function isHTTPSURL(value: string, context: AppContext): boolean {
  try {
    const url = new URL(value);
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && context.config.allowLoopbackFetch && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

async function parseGroupMappings(context: AppContext, organizationId: string, text: string): Promise<Record<string, string>> {
  const mappings: Record<string, string> = {};
  for (const line of text.split('\n').map((entry) => entry.trim()).filter(Boolean)) {
    const match = /^(.{1,200}?)\s*=\s*(Owners|Engineers|Viewers)$/i.exec(line);
    if (!match) throw new InvalidRequest(`"${line.slice(0, 100)}" is not "IdP group = Owners, Engineers or Viewers".`, { field: 'group_mappings' });
    mappings[match[1]!] = await builtinGroupId(context.store.db, organizationId, ROLE_BY_NAME[match[2]!.toLowerCase()]!);
  }
  return mappings;
}
