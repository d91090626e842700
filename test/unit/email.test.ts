import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { domainMatches, normalizeDomain, normalizeEmail } from '../../src/model/email.js';

describe('email normalisation', () => {
  it('normalises valid addresses', () => {
    const cases: Array<[string, string, string]> = [
      ['alice@example.com', 'alice@example.com', 'example.com'],
      ['  Alice@Example.COM ', 'alice@example.com', 'example.com'],
      ['bob@example.com.', 'bob@example.com', 'example.com'],
      ['carol@bücher.example', 'carol@xn--bcher-kva.example', 'xn--bcher-kva.example'],
      ['dave+tag@sub.example.org', 'dave+tag@sub.example.org', 'sub.example.org'],
    ];
    for (const [input, email, domain] of cases) {
      assert.deepEqual(normalizeEmail(input), { email, domain }, input);
    }
  });

  it('rejects what is not an address', () => {
    const cases = ['', 'alice', 'alice@', '@example.com', 'a@b@example.com', 'alice@localhost', 'alice@127.0.0.1', 'alice@exa mple.com', 'al ice@example.com', 'alice@-example.com', 'alice@example..com', `${'a'.repeat(65)}@example.com`];
    for (const input of cases) assert.equal(normalizeEmail(input), null, JSON.stringify(input));
  });

  it('keeps look-alike domains distinct', () => {
    assert.equal(normalizeDomain('acme.com.evil.com'), 'acme.com.evil.com');
    assert.equal(normalizeDomain('evilacme.com'), 'evilacme.com');
    assert.notEqual(normalizeDomain('ACME.com.'), normalizeDomain('acme.com.evil.com'));
  });

  it('matches domains exactly, and subdomains only when allowed', () => {
    const table: Array<[string, string, boolean, boolean]> = [
      // email domain, configured domain, match without subdomains, match with subdomains
      ['acme.com', 'acme.com', true, true],
      ['sales.acme.com', 'acme.com', false, true],
      ['a.b.acme.com', 'acme.com', false, true],
      ['evilacme.com', 'acme.com', false, false],
      ['acme.com.evil.com', 'acme.com', false, false],
      ['acme.co', 'acme.com', false, false],
      ['xn--bcher-kva.example', 'xn--bcher-kva.example', true, true],
    ];
    for (const [email, configured, exact, withSubdomains] of table) {
      assert.equal(domainMatches(email, configured, { allowSubdomains: false }), exact, `${email} vs ${configured}`);
      assert.equal(domainMatches(email, configured, { allowSubdomains: true }), withSubdomains, `${email} vs ${configured} with subdomains`);
    }
  });

  it('normalises the address forms that reach the domain check the same way', () => {
    const cases: Array<[string, string | null]> = [
      ['u@ACME.com.', 'acme.com'],
      ['u@bücher.example', 'xn--bcher-kva.example'],
      ['u@xn--bcher-kva.example', 'xn--bcher-kva.example'],
      ['a@acme.com@evil.com', null],
      ['u@acme..com', null],
    ];
    for (const [input, domain] of cases) assert.equal(normalizeEmail(input)?.domain ?? null, domain, input);
  });
});
