import { NS, XMLProblem, children, descendants, parseStrictXML } from './xml.js';

/** IdP settings read from its SAML metadata. */
export interface IdPMetadata {
  entityId: string;
  ssoURL: string;
  binding: 'redirect' | 'post';
  certificates: string[];
  wantAuthnRequestsSigned: boolean;
}

/** Maximum size of an IdP metadata document, in bytes. */
export const MAX_METADATA_BYTES = 100 * 1024;

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/**
 * Reads an IdP's EntityDescriptor: its entity ID, the SingleSignOnService to use (HTTP-Redirect
 * when offered, else HTTP-POST, as IdPs such as ADFS that accept only POST require) and every
 * signing certificate, so several can be trusted during a rollover. Throws XMLProblem.
 */
export function parseIdPMetadata(xml: string): IdPMetadata {
  if (Buffer.byteLength(xml, 'utf8') > MAX_METADATA_BYTES) throw new XMLProblem('The metadata is larger than 100 KB.');
  const document = parseStrictXML(xml);
  let entity: Element = document.documentElement!;
  if (entity.namespaceURI === NS.metadata && entity.localName === 'EntitiesDescriptor') {
    const entities = children(entity, NS.metadata, 'EntityDescriptor');
    if (entities.length !== 1) throw new XMLProblem('The metadata lists several entities; paste the one for your identity provider.');
    entity = entities[0]!;
  }
  if (entity.namespaceURI !== NS.metadata || entity.localName !== 'EntityDescriptor') throw new XMLProblem('The XML is not SAML metadata (no EntityDescriptor).');

  const entityId = entity.getAttribute('entityID') ?? '';
  if (!entityId) throw new XMLProblem('The metadata has no entityID.');
  const descriptors = children(entity, NS.metadata, 'IDPSSODescriptor');
  if (descriptors.length !== 1) throw new XMLProblem('The metadata has no IDPSSODescriptor; is it the identity provider’s metadata?');
  const descriptor = descriptors[0]!;

  const services = children(descriptor, NS.metadata, 'SingleSignOnService');
  const redirect = services.find((service) => service.getAttribute('Binding') === REDIRECT);
  const post = services.find((service) => service.getAttribute('Binding') === POST);
  const chosen = redirect ?? post;
  if (!chosen) throw new XMLProblem('The metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.');

  const certificates = children(descriptor, NS.metadata, 'KeyDescriptor')
    .filter((key) => !key.getAttribute('use') || key.getAttribute('use') === 'signing')
    .flatMap((key) => descendants(key, NS.dsig, 'X509Certificate'))
    .map((certificate) => (certificate.textContent ?? '').replace(/\s+/g, ''))
    .filter((certificate) => certificate.length > 0);
  if (certificates.length === 0) throw new XMLProblem('The metadata has no signing certificate.');

  return {
    entityId,
    ssoURL: chosen.getAttribute('Location') ?? '',
    binding: chosen === redirect ? 'redirect' : 'post',
    certificates: [...new Set(certificates)],
    wantAuthnRequestsSigned: descriptor.getAttribute('WantAuthnRequestsSigned') === 'true',
  };
}
