import type { AppContext } from '../app/context.js';
import { issuerURL } from '../issuer/identity-tokens.js';
import { federationAudience, isFederatedKind, type FederationSettings } from './kinds.js';
import { federationSubject, type ProviderView } from './providers.js';

/** The values an admin registers at the provider so that it trusts Gatehouse's identity tokens. */
export interface TrustValues {
  issuer: string;
  discoveryURL: string;
  jwksURL: string;
  subject: string;
  audience: string;
}

/** Returns the issuer, subject and audience of a federation provider, or undefined for a stored-key provider. */
export function trustValues(context: AppContext, provider: ProviderView): TrustValues | undefined {
  if (provider.authMethod !== 'wif' || !provider.federation || !isFederatedKind(provider.kind)) return undefined;
  const issuer = issuerURL(context);
  return {
    issuer,
    discoveryURL: `${issuer}/.well-known/openid-configuration`,
    jwksURL: `${issuer}/jwks.json`,
    subject: federationSubject(provider.organizationId, provider.id),
    audience: federationAudience(provider.kind, provider.federation as unknown as FederationSettings[typeof provider.kind]),
  };
}
