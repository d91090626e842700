import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';

import { SignedXml } from 'xml-crypto';
import xmlenc from 'xml-encryption';

import { generateSPCredentials, type SPCredentials } from '../../src/sso/saml/sp-credentials.js';

const SHA256_SIGNATURE = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256_DIGEST = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
const EXCLUSIVE_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/** Generates a test identity provider key pair that only this suite holds. */
export async function testIdPKeys(name = 'Test IdP'): Promise<SPCredentials> {
  return generateSPCredentials(name, new Date(Date.now() - 60_000));
}

/** Contents of a fixture response; every field has a valid default for the connection under test. */
export interface ResponseFields {
  idpEntityId: string;
  acsURL: string;
  audience: string;
  inResponseTo?: string | undefined;
  nameId: string;
  nameIdFormat?: string;
  attributes?: Record<string, string[]>;
  now?: Date;
  notBeforeOffsetSeconds?: number;
  lifetimeSeconds?: number;
  /** Omit SubjectConfirmationData NotOnOrAfter. */
  omitConfirmationExpiry?: boolean;
  status?: { code: string; subCode?: string; message?: string };
  responseId?: string;
  assertionId?: string;
  destination?: string | null;
  recipient?: string;
  responseIssuer?: string;
}

/** Builds an unsigned SAML Response as IdPs send it. */
export function buildResponse(fields: ResponseFields): string {
  const now = fields.now ?? new Date();
  const notBefore = new Date(now.getTime() + (fields.notBeforeOffsetSeconds ?? -30) * 1000).toISOString();
  const notOnOrAfter = new Date(now.getTime() + (fields.lifetimeSeconds ?? 300) * 1000).toISOString();
  const responseId = fields.responseId ?? `_r${randomBytes(16).toString('hex')}`;
  const assertionId = fields.assertionId ?? `_a${randomBytes(16).toString('hex')}`;
  const inResponseTo = fields.inResponseTo ? ` InResponseTo="${fields.inResponseTo}"` : '';
  const destination = fields.destination === null ? '' : ` Destination="${fields.destination ?? fields.acsURL}"`;
  const status = fields.status
    ? `<samlp:Status><samlp:StatusCode Value="${fields.status.code}">${fields.status.subCode ? `<samlp:StatusCode Value="${fields.status.subCode}"/>` : ''}</samlp:StatusCode>${fields.status.message ? `<samlp:StatusMessage>${fields.status.message}</samlp:StatusMessage>` : ''}</samlp:Status>`
    : '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>';
  const attributes = Object.entries(fields.attributes ?? {})
    .map(([name, values]) => `<saml:Attribute Name="${name}">${values.map((value) => `<saml:AttributeValue>${value}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
    .join('');
  const assertion = fields.status && !fields.status.code.endsWith(':Success')
    ? ''
    : `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" IssueInstant="${now.toISOString()}" Version="2.0"><saml:Issuer>${fields.idpEntityId}</saml:Issuer><saml:Subject><saml:NameID Format="${fields.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'}">${fields.nameId}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${inResponseTo}${fields.omitConfirmationExpiry ? '' : ` NotOnOrAfter="${notOnOrAfter}"`} Recipient="${fields.recipient ?? fields.acsURL}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${fields.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>${attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : ''}</saml:Assertion>`;
  return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${responseId}" Version="2.0" IssueInstant="${now.toISOString()}"${destination}${inResponseTo}><saml:Issuer>${fields.responseIssuer ?? fields.idpEntityId}</saml:Issuer>${status}${assertion}</samlp:Response>`;
}

/** Signs the Assertion of a response (placed after its Issuer, as the schema requires). */
export function signAssertion(xml: string, keys: SPCredentials, options: { sha1?: boolean } = {}): string {
  return sign(xml, keys, "//*[local-name(.)='Assertion']", "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", options);
}

/** Signs the Response element itself. */
export function signResponse(xml: string, keys: SPCredentials, options: { sha1?: boolean } = {}): string {
  return sign(xml, keys, "/*[local-name(.)='Response']", "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", options);
}

function sign(xml: string, keys: SPCredentials, target: string, after: string, options: { sha1?: boolean }): string {
  const signature = new SignedXml({
    privateKey: keys.privateKeyPem,
    publicCert: keys.certificatePem,
    signatureAlgorithm: options.sha1 ? SHA1_SIGNATURE : SHA256_SIGNATURE,
    canonicalizationAlgorithm: EXCLUSIVE_C14N,
  });
  signature.addReference({ xpath: target, transforms: [ENVELOPED, EXCLUSIVE_C14N], digestAlgorithm: options.sha1 ? SHA1_DIGEST : SHA256_DIGEST });
  signature.computeSignature(xml, { location: { reference: after, action: 'after' } });
  return signature.getSignedXml();
}

/** Base64 of an XML string, as the HTTP-POST binding carries it. */
export function encodeResponse(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** Reads the AuthnRequest ID from an HTTP-Redirect binding URL. */
export function requestIdFromRedirect(location: string): string {
  const request = new URL(location).searchParams.get('SAMLRequest');
  if (!request) throw new Error('no SAMLRequest in the redirect');
  const xml = inflateRawSync(Buffer.from(request, 'base64')).toString('utf8');
  const id = /\sID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error('no ID in the AuthnRequest');
  return id;
}

/**
 * Replaces the (signed) Assertion of a response by an EncryptedAssertion for the SP's certificate,
 * as IdPs with assertion encryption switched on send it.
 */
export async function encryptAssertion(xml: string, spCertificatePem: string): Promise<string> {
  const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)?.[0];
  if (!assertion) throw new Error('no assertion to encrypt');
  const encrypted = await new Promise<string>((resolve, reject) => {
    xmlenc.encrypt(
      assertion,
      {
        rsa_pub: spCertificatePem,
        pem: spCertificatePem,
        encryptionAlgorithm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
        keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
        disallowEncryptionWithInsecureAlgorithm: true,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  return xml.replace(assertion, `<saml:EncryptedAssertion>${encrypted}</saml:EncryptedAssertion>`);
}
