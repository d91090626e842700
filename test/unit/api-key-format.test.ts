import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { apiKeyHint, checkAPIKeyFormat, generateAPIKey } from '../../src/auth/api-key-format.js';

describe('API key format', () => {
  it('generates keys with the prefix, 38 base62 characters and a valid checksum', () => {
    const keys = new Set<string>();
    for (let index = 0; index < 200; index += 1) {
      const key = generateAPIKey();
      assert.match(key, /^gth_[0-9A-Za-z]{38}$/);
      assert.equal(checkAPIKeyFormat(key), null);
      keys.add(key);
    }
    assert.equal(keys.size, 200);
  });

  it('detects every single-character change in the random part', () => {
    const key = generateAPIKey();
    for (let position = 4; position < 36; position += 1) {
      const replacement = key[position] === 'a' ? 'b' : 'a';
      const changed = key.slice(0, position) + replacement + key.slice(position + 1);
      assert.equal(checkAPIKeyFormat(changed), 'bad_checksum', `change at ${position}`);
    }
  });

  it('classifies malformed input', () => {
    const valid = generateAPIKey();
    const cases: Array<[string, string]> = [
      ['', 'malformed'],
      ['gth_', 'malformed'],
      [valid.slice(0, -1), 'malformed'],
      [`${valid}x`, 'malformed'],
      [valid.replace('gth_', 'ghp_'), 'malformed'],
      [valid.replace('gth_', 'GTH_'), 'malformed'],
      [`${valid.slice(0, 10)}-${valid.slice(11)}`, 'malformed'],
      [` ${valid.slice(1)}`, 'malformed'],
      [`${valid.slice(0, 10)}é${valid.slice(11)}`, 'malformed'],
    ];
    for (const [input, expected] of cases) assert.equal(checkAPIKeyFormat(input), expected, JSON.stringify(input));
  });

  it('shows only the prefix and the last four characters in the hint', () => {
    const key = generateAPIKey();
    assert.equal(apiKeyHint(key), `gth_…${key.slice(-4)}`);
  });
});
