import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Returns a URL-safe random token carrying `bytes` bytes (default 32, 256 bits) of CSPRNG entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Returns a prefixed random identifier such as `org_3kT...`; 128 bits, so it is not guessable. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

/** Returns the SHA-256 hex digest of a high-entropy token; stored in place of the token itself. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Returns HMAC-SHA-256(key, value) as hex. */
export function hmacHex(key: Uint8Array, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
