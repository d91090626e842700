import type { AppContext } from '../app/context.js';
import { FederationUnavailable, ProviderTokenRejected, ProviderTokenUnavailable } from '../gateway/errors.js';
import { mintIdentityToken } from '../issuer/identity-tokens.js';
import { federationUnavailableReason } from './availability.js';
import { exchangeIdentityToken, type ProviderToken } from './federation/exchanges.js';
import { ProviderTokenCache } from './federation/token-cache.js';
import { TokenRequestFailed } from './federation/token-request.js';
import { federationAudience, isFederatedKind, type FederationSettings } from './kinds.js';
import { federationSubject, type ResolvedProvider } from './providers.js';

/** The credential the gateway sends to a provider. It never leaves Gatehouse in any other way. */
export type ProviderCredential =
  | { type: 'api_key'; secret: string }
  | { type: 'bearer'; secret: string; cached: boolean };

const caches = new WeakMap<AppContext, ProviderTokenCache>();

function cacheOf(context: AppContext): ProviderTokenCache {
  let cache = caches.get(context);
  if (!cache) {
    cache = new ProviderTokenCache();
    caches.set(context, cache);
  }
  return cache;
}

/** Cache key of a provider binding; a changed provider gets a new key and thus a new exchange. */
function bindingOf(provider: ResolvedProvider): string {
  return `${provider.id}@${provider.updatedAt}`;
}

/**
 * Returns the credential for one call to a provider: the decrypted stored key, or a provider token
 * from the cache or from a fresh exchange of a newly minted identity token. Throws
 * FederationUnavailable, ProviderTokenRejected or ProviderTokenUnavailable.
 */
export async function providerCredential(context: AppContext, provider: ResolvedProvider): Promise<ProviderCredential> {
  if (provider.authMethod === 'api_key') return { type: 'api_key', secret: provider.apiKey() };

  const reason = federationUnavailableReason(context, provider);
  if (reason || !isFederatedKind(provider.kind) || !provider.federation) throw new FederationUnavailable(reason ?? 'This provider has no federation settings.');
  const kind = provider.kind;
  const settings = provider.federation as unknown as FederationSettings[typeof kind];
  const audience = federationAudience(kind, settings);
  const now = context.clock();

  const exchange = async (): Promise<ProviderToken> => {
    const identityToken = await mintIdentityToken(context, { subject: federationSubject(provider.organizationId, provider.id), audience });
    const started = Date.now();
    try {
      const token = await exchangeIdentityToken(kind, settings, audience, {
        baseURL: provider.baseURL,
        identityToken,
        timeoutMilliseconds: context.config.gateway.exchangeTimeoutSeconds * 1000,
        now,
      });
      context.logger.info({ event: 'provider_token.exchanged', providerId: provider.id, kind, expiresAt: token.expiresAt.toISOString(), milliseconds: Date.now() - started }, 'provider token obtained');
      return token;
    } catch (error) {
      if (!(error instanceof TokenRequestFailed)) throw error;
      context.logger.warn({ event: 'provider_token.failed', providerId: provider.id, kind, problem: error.problem, detail: error.message }, 'provider token exchange failed');
      if (error.problem === 'rejected') throw new ProviderTokenRejected(provider.name, error.providerError, error.message);
      throw new ProviderTokenUnavailable(provider.name, error.problem, error.message);
    }
  };

  const { token, cached } = await cacheOf(context).get(bindingOf(provider), now, exchange);
  return { type: 'bearer', secret: token.accessToken, cached };
}

/** Forgets the cached token of a provider after the provider rejected it. */
export function dropProviderToken(context: AppContext, provider: ResolvedProvider): void {
  cacheOf(context).drop(bindingOf(provider));
}
