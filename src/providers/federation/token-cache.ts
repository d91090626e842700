import type { ProviderToken } from './exchanges.js';

/**
 * Provider tokens by binding, kept until shortly before they expire. Concurrent callers of one
 * binding share a single exchange. The cache lives in this process only, so each node of a
 * deployment exchanges on its own; tokens are never written to the database.
 */
export class ProviderTokenCache {
  private readonly tokens = new Map<string, { token: ProviderToken; refreshAt: number }>();
  private readonly pending = new Map<string, Promise<ProviderToken>>();

  /** Returns a cached token valid past the refresh margin, or runs `exchange` (once per binding at a time). */
  async get(binding: string, now: Date, exchange: () => Promise<ProviderToken>): Promise<{ token: ProviderToken; cached: boolean }> {
    const cached = this.tokens.get(binding);
    if (cached && now.getTime() < cached.refreshAt) return { token: cached.token, cached: true };

    let running = this.pending.get(binding);
    if (!running) {
      running = exchange().then(
        (token) => {
          this.sweep(now);
          this.tokens.set(binding, { token, refreshAt: refreshAt(token, now) });
          return token;
        },
      ).finally(() => this.pending.delete(binding));
      this.pending.set(binding, running);
    }
    return { token: await running, cached: false };
  }

  /** Removes expired tokens, so that bindings of deleted or changed providers do not pile up. */
  private sweep(now: Date): void {
    for (const [binding, entry] of this.tokens) {
      if (entry.token.expiresAt <= now) this.tokens.delete(binding);
    }
  }

  /** Forgets a binding's token, for example after the provider rejected it. */
  drop(binding: string): void {
    this.tokens.delete(binding);
  }
}

/**
 * Returns when to replace a token obtained at `obtainedAt`: two minutes before expiry (the Anthropic
 * SDK's advisory margin), or halfway through the lifetime of a shorter token.
 */
function refreshAt(token: ProviderToken, obtainedAt: Date): number {
  const lifetime = token.expiresAt.getTime() - obtainedAt.getTime();
  return token.expiresAt.getTime() - Math.min(120_000, lifetime / 2);
}
