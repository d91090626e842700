import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CertificateProblem, parseCertificate, splitCertificates } from '../../src/sso/saml/certificates.js';
import { generateSPCredentials } from '../../src/sso/saml/sp-credentials.js';

describe('SAML certificate normalisation', async () => {
  const now = new Date();
  const { certificatePem } = await generateSPCredentials('Test', new Date(now.getTime() - 60_000));
  const body = certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

  it('accepts the same certificate in every pasted form', () => {
    const forms = [
      certificatePem,
      body,
      body.match(/.{1,40}/g)!.join('\n   '),
      `-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----`,
      `-----BEGIN CERTIFICATE-----\n${certificatePem}\n-----END CERTIFICATE-----`,
      `\r\n${certificatePem.replace(/\n/g, '\r\n')}\t`,
    ];
    const fingerprints = new Set(forms.map((form) => parseCertificate(form, now).fingerprint256));
    assert.equal(fingerprints.size, 1);
  });

  it('rejects text that is not a certificate with a clear message', () => {
    assert.throws(() => parseCertificate('', now), (error: unknown) => error instanceof CertificateProblem && /empty/.test(error.message));
    assert.throws(() => parseCertificate('not base64 at all!', now), /not base64 or PEM/);
    assert.throws(() => parseCertificate(Buffer.from('hello world').toString('base64'), now), /could not be parsed as X\.509/);
  });

  it('rejects an expired or not yet valid certificate', () => {
    const later = new Date(now.getTime() + 11 * 365 * 86_400_000);
    assert.throws(() => parseCertificate(certificatePem, later), /The certificate expired on \d{4}-\d{2}-\d{2}/);
    const earlier = new Date(now.getTime() - 86_400_000);
    assert.throws(() => parseCertificate(certificatePem, earlier), /not valid until/);
  });

  it('splits several PEM blocks for rotation', () => {
    assert.equal(splitCertificates(`${certificatePem}\n${certificatePem}`).length, 2);
    assert.equal(splitCertificates(body).length, 1);
    assert.equal(splitCertificates('   ').length, 0);
  });
});
