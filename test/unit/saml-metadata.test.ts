import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseIdPMetadata } from '../../src/sso/saml/metadata.js';

const md = 'urn:oasis:names:tc:SAML:2.0:metadata';
const ds = 'http://www.w3.org/2000/09/xmldsig#';

function metadata(body: string, attributes = ''): string {
  return `<md:EntityDescriptor xmlns:md="${md}" xmlns:ds="${ds}" entityID="https://idp.example.test/metadata"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"${attributes}>${body}</md:IDPSSODescriptor></md:EntityDescriptor>`;
}
const key = (use: string, value: string) => `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${value}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
const sso = (binding: string, location: string) => `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${location}"/>`;

describe('IdP metadata import', () => {
  it('reads entity ID, the redirect binding and every signing certificate', () => {
    const parsed = parseIdPMetadata(metadata(`${key('signing', 'AAAA\n BBBB')}${key('', 'CCCC')}${key('encryption', 'DDDD')}${sso('HTTP-POST', 'https://idp.example.test/post')}${sso('HTTP-Redirect', 'https://idp.example.test/redirect')}`, ' WantAuthnRequestsSigned="true"'));
    assert.deepEqual(parsed, {
      entityId: 'https://idp.example.test/metadata',
      ssoURL: 'https://idp.example.test/redirect',
      binding: 'redirect',
      certificates: ['AAAABBBB', 'CCCC'],
      wantAuthnRequestsSigned: true,
    });
  });

  it('uses the POST binding when the IdP offers only that', () => {
    const parsed = parseIdPMetadata(metadata(`${key('signing', 'AAAA')}${sso('HTTP-POST', 'https://adfs.example.test/adfs/ls/')}`));
    assert.equal(parsed.binding, 'post');
    assert.equal(parsed.ssoURL, 'https://adfs.example.test/adfs/ls/');
  });

  it('rejects metadata it cannot use, saying why', () => {
    const cases: Array<[string, RegExp]> = [
      ['<html></html>', /not SAML metadata/],
      [metadata(sso('HTTP-Redirect', 'https://idp.example.test/sso')), /no signing certificate/],
      [metadata(key('signing', 'AAAA')), /no SingleSignOnService/],
      [`<!DOCTYPE x [<!ENTITY a "b">]>${metadata('')}`, /DOCTYPE/],
      ['<md:EntityDescriptor', /not well-formed/],
      [metadata(' '.repeat(110 * 1024)), /larger than 100 KB/],
    ];
    for (const [xml, message] of cases) assert.throws(() => parseIdPMetadata(xml), message, xml.slice(0, 60));
  });
});
