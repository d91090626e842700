import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

import { constantTimeEqual } from '../crypto/tokens.js';

/**
 * API keys look like `gth_` + 32 random base62 characters (about 190 bits) + a 6-character base62
 * CRC32 of the random part. The fixed prefix lets secret scanners find leaked keys, and the checksum
 * lets them, and us, reject a mistyped or made-up key without a database lookup.
 */
export const API_KEY_PREFIX = 'gth_';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

/** Reason a string is not an API key. It goes to the log, never to the client. */
export type KeyFormatProblem = 'malformed' | 'bad_checksum';

/** Generates a new API key string. */
export function generateAPIKey(): string {
  let random = '';
  while (random.length < RANDOM_LENGTH) {
    for (const byte of randomBytes(RANDOM_LENGTH)) {
      // 248 is the largest multiple of 62 below 256; rejecting larger bytes keeps every character equally likely.
      if (byte < 248 && random.length < RANDOM_LENGTH) random += ALPHABET[byte % 62];
    }
  }
  return `${API_KEY_PREFIX}${random}${checksum(random)}`;
}

/** Checks the prefix, length, alphabet and checksum of a presented key without touching storage. */
export function checkAPIKeyFormat(candidate: string): KeyFormatProblem | null {
  if (!KEY_PATTERN.test(candidate)) return 'malformed';
  const random = candidate.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + RANDOM_LENGTH);
  const presented = candidate.slice(API_KEY_PREFIX.length + RANDOM_LENGTH);
  return constantTimeEqual(checksum(random), presented) ? null : 'bad_checksum';
}

/** Returns a short hint that identifies a key in lists without revealing it: the prefix and last four characters. */
export function apiKeyHint(key: string): string {
  return `${API_KEY_PREFIX}…${key.slice(-4)}`;
}

function checksum(random: string): string {
  let value = crc32(Buffer.from(random, 'ascii'));
  let encoded = '';
  for (let index = 0; index < CHECKSUM_LENGTH; index += 1) {
    encoded = ALPHABET[value % 62] + encoded;
    value = Math.floor(value / 62);
  }
  return encoded;
}
