import { X509Certificate } from 'node:crypto';

/** A trusted IdP signing certificate, normalised to PEM, with the facts an admin needs to see. */
export interface TrustedCertificate {
  pem: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
}

/** Error for a rejected certificate; the message is shown next to the form field. */
export class CertificateProblem extends Error {
  override name = 'CertificateProblem';
}

/**
 * Normalises one certificate as admins paste it: with or without BEGIN/END lines (even doubled),
 * with any whitespace or line breaks, then parses it as X.509 and rejects it when it has expired or
 * is not yet valid at `now`.
 */
export function parseCertificate(input: string, now: Date): TrustedCertificate {
  const body = input
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  if (body.length === 0) throw new CertificateProblem('The certificate is empty.');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new CertificateProblem('The certificate is not base64 or PEM. Paste the X.509 certificate from your identity provider.');
  }

  const lines = body.match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new CertificateProblem('The certificate could not be parsed as X.509. Paste the whole certificate from your identity provider.');
  }

  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw new CertificateProblem(`The certificate expired on ${notAfter.toISOString().slice(0, 10)}. Download the current one from your identity provider.`);
  }
  if (notBefore.getTime() > now.getTime()) {
    throw new CertificateProblem(`The certificate is not valid until ${notBefore.toISOString().slice(0, 10)}.`);
  }
  return {
    pem,
    subject: certificate.subject.replace(/\n/g, ', '),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    fingerprint256: certificate.fingerprint256,
  };
}

/**
 * Splits a text area that may hold several certificates (for rotation) into single certificates.
 * PEM blocks are split at their armour; a text without armour is one certificate.
 */
export function splitCertificates(input: string): string[] {
  const blocks = input.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (blocks && blocks.length > 0) return blocks;
  return input.trim() ? [input] : [];
}
