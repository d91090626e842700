import { checkSignatureShapes, hasOwnSignature } from './signature-rules.js';
import { NS, XMLProblem, allElements, children, descendants, onlyChild, parseStrictXML, textOnly } from './xml.js';

/** A SAML status other than Success, reported by the identity provider. */
export class SAMLStatusProblem extends Error {
  override name = 'SAMLStatusProblem';
  constructor(
    readonly statusCode: string,
    readonly subStatusCode: string | undefined,
    readonly statusMessage: string | undefined,
  ) {
    super(`identity provider returned ${statusCode}${subStatusCode ? ` / ${subStatusCode}` : ''}`);
  }
}

/** Facts about a Response that the structural checks found before node-saml verifies it. */
export interface ResponseFacts {
  inResponseTo: string | undefined;
  responseSigned: boolean;
  encrypted: boolean;
  assertionSigned: boolean;
}

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/**
 * Most elements a Response may have. Signature verification and canonicalisation grow faster than
 * the document, and node-saml runs them synchronously, so a large forged response could stall the
 * process; 3,000 leaves room for long group lists (a real response with 50 groups has about 90).
 */
export const MAX_RESPONSE_ELEMENTS = 3_000;

/** Most attributes a Response may carry in all its elements together, for the same reason. */
export const MAX_RESPONSE_ATTRIBUTES = 6_000;

/**
 * Checks a decoded SAMLResponse before any cryptography: one root, a Response, its status (an IdP
 * error is reported as such, first), its Issuer and Destination, exactly one assertion and nowhere
 * else, and the shape of every signature. Throws XMLProblem or SAMLStatusProblem.
 */
export function inspectResponse(xml: string, expected: { idpEntityId: string; acsURL: string; allowSHA1: boolean }): ResponseFacts {
  const document = parseStrictXML(xml);
  const response = document.documentElement;
  if (!response || response.namespaceURI !== NS.protocol || response.localName !== 'Response') {
    throw new XMLProblem('The message is not a SAML Response.');
  }
  const elements = [response, ...allElements(response)];
  if (elements.length > MAX_RESPONSE_ELEMENTS) throw new XMLProblem(`The Response has more than ${MAX_RESPONSE_ELEMENTS} elements.`);
  const attributeCount = elements.reduce((sum, element) => sum + element.attributes.length, 0);
  if (attributeCount > MAX_RESPONSE_ATTRIBUTES) throw new XMLProblem(`The Response has more than ${MAX_RESPONSE_ATTRIBUTES} XML attributes.`);

  const status = onlyChild(response, NS.protocol, 'Status', 'Status');
  const statusCode = status ? onlyChild(status, NS.protocol, 'StatusCode', 'StatusCode') : undefined;
  const code = statusCode?.getAttribute('Value') ?? '';
  if (code !== SUCCESS) {
    const subCode = statusCode ? onlyChild(statusCode, NS.protocol, 'StatusCode', 'second-level StatusCode')?.getAttribute('Value') ?? undefined : undefined;
    const messageElement = status ? onlyChild(status, NS.protocol, 'StatusMessage', 'StatusMessage') : undefined;
    throw new SAMLStatusProblem(code || 'missing', subCode, messageElement?.textContent?.trim().slice(0, 300) || undefined);
  }

  const issuer = onlyChild(response, NS.assertion, 'Issuer', 'Response Issuer');
  if (issuer && textOnly(issuer, 'Response Issuer') !== expected.idpEntityId) {
    throw new XMLProblem('The Response Issuer is not this connection’s identity provider.');
  }

  const destination = response.getAttribute('Destination');
  if (!destination) throw new XMLProblem('The Response has no Destination.');
  if (destination !== expected.acsURL) throw new XMLProblem('The Response Destination is not this connection’s ACS URL.');

  const assertions = children(response, NS.assertion, 'Assertion');
  const encryptedAssertions = children(response, NS.assertion, 'EncryptedAssertion');
  if (assertions.length + encryptedAssertions.length !== 1) throw new XMLProblem('The Response must contain exactly one assertion.');
  if (descendants(response, NS.assertion, 'Assertion').length !== assertions.length) {
    throw new XMLProblem('The Response contains an assertion outside the expected place.');
  }
  if (descendants(response, NS.assertion, 'EncryptedAssertion').length !== encryptedAssertions.length) {
    throw new XMLProblem('The Response contains an encrypted assertion outside the expected place.');
  }

  checkSignatureShapes(response, { allowSHA1: expected.allowSHA1 });

  const assertion = assertions[0];
  return {
    inResponseTo: response.getAttribute('InResponseTo') || undefined,
    responseSigned: hasOwnSignature(response),
    encrypted: encryptedAssertions.length === 1,
    assertionSigned: assertion ? hasOwnSignature(assertion) : false,
  };
}

/** The identity a verified assertion carries. */
export interface AssertionFacts {
  id: string;
  nameId: string;
  nameIdFormat: string | undefined;
  attributes: Map<string, string[]>;
  /** The assertion expires here; its ID is kept until then for replay detection. */
  notOnOrAfter: Date;
}

/**
 * Checks the assertion that node-saml verified (decrypted when it was encrypted; node-saml returns
 * the signed bytes without their enveloped signature, so signatures were checked before) and reads the
 * identity from it: Issuer, bearer SubjectConfirmation with Recipient, InResponseTo and
 * NotOnOrAfter, Conditions with the clock skew, an accepted Audience, and text-only NameID and
 * attribute values. Throws XMLProblem.
 */
export function inspectAssertion(
  xml: string,
  expected: {
    idpEntityId: string;
    acsURL: string;
    audiences: readonly string[];
    inResponseTo: string | undefined;
    now: Date;
    skewSeconds: number;
    allowSHA1: boolean;
  },
): AssertionFacts {
  const document = parseStrictXML(xml);
  const assertion = document.documentElement;
  if (!assertion || assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') {
    throw new XMLProblem('The assertion is not a SAML Assertion.');
  }
  checkSignatureShapes(assertion, { allowSHA1: expected.allowSHA1 });

  const id = assertion.getAttribute('ID');
  if (!id) throw new XMLProblem('The assertion has no ID.');
  const issuer = onlyChild(assertion, NS.assertion, 'Issuer', 'assertion Issuer');
  if (!issuer || textOnly(issuer, 'assertion Issuer') !== expected.idpEntityId) {
    throw new XMLProblem('The assertion Issuer is not this connection’s identity provider.');
  }

  const now = expected.now.getTime();
  const skew = expected.skewSeconds * 1000;
  const subject = onlyChild(assertion, NS.assertion, 'Subject', 'Subject');
  if (!subject) throw new XMLProblem('The assertion has no Subject.');
  const nameIdElement = onlyChild(subject, NS.assertion, 'NameID', 'NameID');
  if (!nameIdElement) throw new XMLProblem('The assertion has no NameID.');
  const nameId = textOnly(nameIdElement, 'NameID');
  if (!nameId || nameId.length > 512) throw new XMLProblem('The NameID is empty or too long.');

  const bearer = children(subject, NS.assertion, 'SubjectConfirmation').filter(
    (confirmation) => confirmation.getAttribute('Method') === 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
  );
  if (bearer.length !== 1) throw new XMLProblem('The assertion must have exactly one bearer SubjectConfirmation.');
  const data = onlyChild(bearer[0]!, NS.assertion, 'SubjectConfirmationData', 'SubjectConfirmationData');
  if (!data) throw new XMLProblem('The bearer SubjectConfirmation has no SubjectConfirmationData.');
  if (data.getAttribute('Recipient') !== expected.acsURL) throw new XMLProblem('The SubjectConfirmationData Recipient is not this connection’s ACS URL.');
  const confirmationExpiry = parseTime(data.getAttribute('NotOnOrAfter'));
  if (!confirmationExpiry) throw new XMLProblem('The SubjectConfirmationData has no NotOnOrAfter.');
  if (now >= confirmationExpiry.getTime() + skew) throw new XMLProblem('The assertion has expired (SubjectConfirmationData NotOnOrAfter).');
  const confirmationStart = parseTime(data.getAttribute('NotBefore'));
  if (confirmationStart && now < confirmationStart.getTime() - skew) throw new XMLProblem('The assertion is not yet valid (SubjectConfirmationData NotBefore).');
  if ((data.getAttribute('InResponseTo') || undefined) !== expected.inResponseTo) {
    throw new XMLProblem('The SubjectConfirmationData InResponseTo does not match the Response.');
  }

  const conditions = onlyChild(assertion, NS.assertion, 'Conditions', 'Conditions');
  if (!conditions) throw new XMLProblem('The assertion has no Conditions.');
  const notBefore = parseTime(conditions.getAttribute('NotBefore'));
  const notOnOrAfter = parseTime(conditions.getAttribute('NotOnOrAfter'));
  if (notBefore && now < notBefore.getTime() - skew) throw new XMLProblem('The assertion is not yet valid (Conditions NotBefore).');
  if (notOnOrAfter && now >= notOnOrAfter.getTime() + skew) throw new XMLProblem('The assertion has expired (Conditions NotOnOrAfter).');
  const restrictions = children(conditions, NS.assertion, 'AudienceRestriction');
  if (restrictions.length === 0) throw new XMLProblem('The assertion has no AudienceRestriction.');
  // Each AudienceRestriction must name us (SAML Core 2.5.1.4); audiences compare as exact strings.
  for (const restriction of restrictions) {
    const audiences = children(restriction, NS.assertion, 'Audience').map((audience) => textOnly(audience, 'Audience'));
    if (!audiences.some((audience) => expected.audiences.includes(audience))) {
      throw new XMLProblem(`The assertion is for another audience (${audiences.join(', ').slice(0, 200)}); expected ${expected.audiences.join(' or ')}.`);
    }
  }

  const attributes = new Map<string, string[]>();
  for (const statement of children(assertion, NS.assertion, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.assertion, 'Attribute')) {
      const name = attribute.getAttribute('Name') ?? '';
      const values = children(attribute, NS.assertion, 'AttributeValue').map((value) => textOnly(value, `attribute ${name.slice(0, 100)}`));
      attributes.set(name, [...(attributes.get(name) ?? []), ...values]);
    }
  }

  const expiry = [confirmationExpiry, notOnOrAfter].filter((value): value is Date => value !== undefined);
  return {
    id,
    nameId,
    nameIdFormat: nameIdElement.getAttribute('Format') || undefined,
    attributes,
    notOnOrAfter: new Date(Math.max(...expiry.map((value) => value.getTime()))),
  };
}

function parseTime(value: string | null): Date | undefined {
  if (!value) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) throw new XMLProblem('A timestamp is not in xs:dateTime format.');
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new XMLProblem('A timestamp is invalid.');
  return time;
}
