import { Resolver } from 'node:dns/promises';

import type { AppContext } from '../app/context.js';

/** Outcome of looking up one TXT record set. */
export type TXTLookup = { ok: true; values: string[] } | { ok: false; problem: 'missing' | 'failed'; detail: string };

/**
 * Looks up the TXT records of `name` with the configured DNS servers (GATEHOUSE_DNS_SERVERS) or
 * the system's. Long TXT records arrive in 255-byte chunks, which are joined.
 */
export async function lookupTXT(context: AppContext, name: string): Promise<TXTLookup> {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  if (context.config.dnsServers.length > 0) resolver.setServers(context.config.dnsServers);
  try {
    const records = await resolver.resolveTxt(name);
    return { ok: true, values: records.map((chunks) => chunks.join('')) };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { ok: false, problem: 'missing', detail: String(code) };
    return { ok: false, problem: 'failed', detail: typeof code === 'string' ? code : (error as Error).message };
  }
}
