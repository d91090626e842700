import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ProviderToken } from '../../src/providers/federation/exchanges.js';
import { ProviderTokenCache } from '../../src/providers/federation/token-cache.js';

describe('provider token cache', () => {
  const start = new Date('2026-06-01T12:00:00Z');
  const at = (seconds: number) => new Date(start.getTime() + seconds * 1000);

  it('runs one exchange for concurrent callers', async () => {
    const cache = new ProviderTokenCache();
    let exchanges = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const exchange = async (): Promise<ProviderToken> => {
      exchanges += 1;
      await gate;
      return { accessToken: `token-${exchanges}`, expiresAt: at(3600) };
    };
    const calls = Array.from({ length: 5 }, () => cache.get('binding', start, exchange));
    release();
    const results = await Promise.all(calls);
    assert.equal(exchanges, 1);
    assert.deepEqual(new Set(results.map((result) => result.token.accessToken)), new Set(['token-1']));
  });

  it('reuses a token until two minutes before expiry', async () => {
    const cache = new ProviderTokenCache();
    let exchanges = 0;
    const exchange = async (): Promise<ProviderToken> => {
      exchanges += 1;
      return { accessToken: `token-${exchanges}`, expiresAt: at(3600 * exchanges) };
    };
    await cache.get('binding', start, exchange);
    assert.deepEqual(await cache.get('binding', at(3600 - 121), exchange), { token: { accessToken: 'token-1', expiresAt: at(3600) }, cached: true });
    assert.equal((await cache.get('binding', at(3600 - 119), exchange)).token.accessToken, 'token-2');
  });

  it('refreshes a short token halfway through its life', async () => {
    const cache = new ProviderTokenCache();
    let exchanges = 0;
    const exchange = async (): Promise<ProviderToken> => {
      exchanges += 1;
      return { accessToken: `token-${exchanges}`, expiresAt: at(60 * exchanges) };
    };
    await cache.get('binding', start, exchange);
    assert.equal((await cache.get('binding', at(29), exchange)).cached, true);
    assert.equal((await cache.get('binding', at(31), exchange)).cached, false);
  });

  it('does not cache a failed exchange', async () => {
    const cache = new ProviderTokenCache();
    await assert.rejects(cache.get('binding', start, async () => Promise.reject(new Error('exchange failed'))), { message: 'exchange failed' });
    const result = await cache.get('binding', start, async () => ({ accessToken: 'fresh', expiresAt: at(3600) }));
    assert.deepEqual(result, { token: { accessToken: 'fresh', expiresAt: at(3600) }, cached: false });
  });

  it('forgets a dropped token', async () => {
    const cache = new ProviderTokenCache();
    await cache.get('binding', start, async () => ({ accessToken: 'first', expiresAt: at(3600) }));
    cache.drop('binding');
    assert.equal((await cache.get('binding', start, async () => ({ accessToken: 'second', expiresAt: at(3600) }))).token.accessToken, 'second');
  });
});
