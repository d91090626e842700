import type { AppContext } from '../app/context.js';
import type { AIProviderKind } from '../db/schema.js';
import { providerKinds } from './kinds.js';

/**
 * Returns why workload identity federation cannot be used for this provider, or undefined when it
 * can. Providers fetch Gatehouse's discovery document and keys from its public URL, so federation
 * needs a hosted deployment whose gateway makes the calls, and it binds one identity per
 * organization-level provider.
 */
export function federationUnavailableReason(context: AppContext, provider: { kind: AIProviderKind; projectId: string | null }): string | undefined {
  if (!providerKinds[provider.kind].supportsFederation) {
    return `Workload identity federation is not available for ${providerKinds[provider.kind].label} providers; use an API key.`;
  }
  if (provider.projectId !== null) {
    return 'Workload identity federation is available only for organization-level providers; a project-level provider uses an API key.';
  }
  if (context.config.deployment !== 'hosted') {
    return 'Workload identity federation is available only on a hosted deployment, because providers must reach this deployment\'s public issuer URL; this one is self-hosted (GATEHOUSE_DEPLOYMENT), so use an API key.';
  }
  if (!context.config.gateway.enabled) {
    return 'Workload identity federation needs the model gateway, which is turned off on this deployment (GATEHOUSE_GATEWAY=false); use an API key.';
  }
  return undefined;
}
