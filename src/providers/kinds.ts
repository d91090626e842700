import { z } from 'zod';

import type { AIProviderKind } from '../db/schema.js';

/** Per-kind defaults and labels that the API, the page and the gateway share. */
export interface ProviderKindInfo {
  label: string;
  /** Base URL of the model API; undefined when every deployment has its own. */
  defaultBaseURL: string | undefined;
  baseURLHint: string;
  defaultModels: string[];
  /** Whether Gatehouse can exchange its own identity token for this provider's credentials. */
  supportsFederation: boolean;
}

export const providerKinds: Record<AIProviderKind, ProviderKindInfo> = {
  openai: {
    label: 'OpenAI',
    defaultBaseURL: 'https://api.openai.com/v1',
    baseURLHint: 'Default https://api.openai.com/v1.',
    defaultModels: ['gpt-*', 'o1*', 'o3*', 'o4*'],
    supportsFederation: true,
  },
  anthropic: {
    label: 'Anthropic',
    defaultBaseURL: 'https://api.anthropic.com',
    baseURLHint: 'Default https://api.anthropic.com.',
    defaultModels: ['claude-*'],
    supportsFederation: true,
  },
  google: {
    label: 'Google Vertex AI',
    defaultBaseURL: undefined,
    baseURLHint: 'The OpenAI-compatible endpoint: https://LOCATION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/LOCATION/endpoints/openapi',
    defaultModels: ['gemini-*'],
    supportsFederation: true,
  },
  azure: {
    label: 'Azure AI Foundry',
    defaultBaseURL: undefined,
    baseURLHint: 'The v1 endpoint of the resource: https://RESOURCE.openai.azure.com/openai/v1',
    defaultModels: [],
    supportsFederation: true,
  },
  openai_compatible: {
    label: 'OpenAI-compatible endpoint',
    defaultBaseURL: undefined,
    baseURLHint: 'The URL that /chat/completions is appended to, for example https://llm.example.com/v1',
    defaultModels: [],
    supportsFederation: false,
  },
};

export const providerKindSchema = z.enum(['openai', 'anthropic', 'google', 'azure', 'openai_compatible']);

const identifier = z.string().trim().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const optionalURL = z.string().trim().max(2000).url().optional();

/**
 * Federation settings per kind: the ids the provider issued when the admin registered Gatehouse
 * as an identity provider, and the token endpoints (defaults are the providers' public endpoints;
 * tests point them at local fakes).
 */
export const federationSchemas = {
  openai: z.object({
    identity_provider_id: identifier,
    service_account_id: identifier,
    audience: z.string().trim().min(1).max(500).default('https://api.openai.com/v1'),
    token_url: optionalURL,
  }),
  anthropic: z.object({
    federation_rule_id: identifier,
    organization_id: identifier,
    service_account_id: identifier,
    workspace_id: identifier.optional(),
    audience: z.string().trim().min(1).max(500).default('https://api.anthropic.com'),
    token_url: optionalURL,
  }),
  google: z.object({
    project_number: z.string().trim().regex(/^[0-9]{1,20}$/, 'must be the numeric project number'),
    pool_id: z.string().trim().regex(/^[a-z0-9-]{4,32}$/, 'must be 4-32 characters of a-z, 0-9 and -'),
    provider_id: z.string().trim().regex(/^[a-z0-9-]{4,32}$/, 'must be 4-32 characters of a-z, 0-9 and -'),
    service_account_email: z.string().trim().email().max(200),
    sts_url: optionalURL,
    iam_credentials_url: optionalURL,
  }),
  azure: z.object({
    tenant_id: identifier,
    client_id: identifier,
    scope: z.string().trim().min(1).max(500).default('https://cognitiveservices.azure.com/.default'),
    authority_url: optionalURL,
  }),
} as const;

export type FederatedKind = keyof typeof federationSchemas;
export type FederationSettings = { [Kind in FederatedKind]: z.infer<(typeof federationSchemas)[Kind]> };

/** Default token endpoints of the real providers. */
export const defaultTokenEndpoints = {
  openai: 'https://auth.openai.com/oauth/token',
  googleSTS: 'https://sts.googleapis.com/v1/token',
  googleIAMCredentials: 'https://iamcredentials.googleapis.com',
  azureAuthority: 'https://login.microsoftonline.com',
} as const;

/** Entra ID recommends this single audience for federated identity credentials. */
export const AZURE_TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** Returns the `aud` the provider expects in Gatehouse's identity token. */
export function federationAudience(kind: FederatedKind, settings: FederationSettings[FederatedKind]): string {
  switch (kind) {
    case 'openai':
    case 'anthropic':
      return (settings as FederationSettings['openai' | 'anthropic']).audience;
    case 'google': {
      const google = settings as FederationSettings['google'];
      return `//iam.googleapis.com/projects/${google.project_number}/locations/global/workloadIdentityPools/${google.pool_id}/providers/${google.provider_id}`;
    }
    case 'azure':
      return AZURE_TOKEN_EXCHANGE_AUDIENCE;
  }
}

/** Returns whether a provider kind can use federation; narrows the kind. */
export function isFederatedKind(kind: AIProviderKind): kind is FederatedKind {
  return providerKinds[kind].supportsFederation;
}
