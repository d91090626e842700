import { domainToASCII } from 'node:url';

/** A normalised email address and its domain. */
export interface NormalizedEmail {
  email: string;
  domain: string;
}

/**
 * Normalises an email address: trimmed, lower-cased, exactly one `@`, the domain converted to its
 * IDNA ASCII form without a trailing dot. Returns null for anything that is not an address.
 */
export function normalizeEmail(input: string): NormalizedEmail | null {
  const trimmed = input.trim();
  if (trimmed.length === 0 || trimmed.length > 254) return null;

  const parts = trimmed.split('@');
  if (parts.length !== 2) return null;
  const [local, rawDomain] = parts as [string, string];
  if (!/^[^\s@<>()[\]\\,;:"]{1,64}$/.test(local)) return null;

  const domain = normalizeDomain(rawDomain);
  if (!domain) return null;
  return { email: `${local.toLowerCase()}@${domain}`, domain };
}

/** Normalises a domain name to lower-case IDNA ASCII without a trailing dot, or returns null. */
export function normalizeDomain(input: string): string | null {
  const withoutDot = input.trim().replace(/\.$/, '');
  if (withoutDot.length === 0 || withoutDot.length > 253) return null;
  const ascii = domainToASCII(withoutDot.toLowerCase());
  if (!ascii) return null;
  // At least two labels, each a valid LDH label; this rejects IP literals and single-label names.
  const labels = ascii.split('.');
  if (labels.length < 2) return null;
  if (!labels.every((label) => /^(?!-)[a-z0-9-]{1,63}(?<!-)$/.test(label))) return null;
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return null;
  return ascii;
}

/**
 * Returns whether an email's domain falls under a configured domain. Both must already be
 * normalised. Only an exact match counts, unless subdomains are explicitly allowed, and then only
 * whole labels count: `sales.acme.com` is under `acme.com`, while `evilacme.com` and
 * `acme.com.evil.com` never are.
 */
export function domainMatches(emailDomain: string, configured: string, options: { allowSubdomains: boolean }): boolean {
  if (emailDomain === configured) return true;
  return options.allowSubdomains && emailDomain.endsWith(`.${configured}`);
}
