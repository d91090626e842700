import { z } from 'zod';

import { defaultTokenEndpoints, type FederatedKind, type FederationSettings } from '../kinds.js';
import { parseTokenResponse, postTokenRequest, TokenRequestFailed } from './token-request.js';

/** A provider credential obtained by federation, with the time it stops working. */
export interface ProviderToken {
  accessToken: string;
  expiresAt: Date;
}

/** Input of every exchange: the model API base URL, the identity token, the timeout and the current time. */
export interface ExchangeInput {
  baseURL: string;
  identityToken: string;
  timeoutMilliseconds: number;
  now: Date;
}

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Beta flags the Anthropic TypeScript SDK sends on the federation exchange. */
export const ANTHROPIC_EXCHANGE_BETA = 'oauth-2025-04-20,oidc-federation-2026-04-01';
/** Beta flag the Anthropic SDK sends on API calls that use a federated bearer token. */
export const ANTHROPIC_OAUTH_BETA = 'oauth-2025-04-20';

const oauthTokenResponse = z.object({
  access_token: z.string().min(1).max(16_384),
  token_type: z.string().regex(/^bearer$/i),
  expires_in: z.number().int().positive().max(7 * 86_400),
});

function expiry(now: Date, seconds: number): Date {
  return new Date(now.getTime() + seconds * 1000);
}

/** OpenAI: RFC 8693 token exchange with JSON, naming the workload identity provider and service account. */
async function exchangeOpenAI(settings: FederationSettings['openai'], input: ExchangeInput): Promise<ProviderToken> {
  const url = settings.token_url ?? defaultTokenEndpoints.openai;
  const body = await postTokenRequest(url, {
    encoding: 'json',
    timeoutMilliseconds: input.timeoutMilliseconds,
    body: {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token_type: JWT_TOKEN_TYPE,
      subject_token: input.identityToken,
      identity_provider_id: settings.identity_provider_id,
      service_account_id: settings.service_account_id,
    },
  });
  const token = parseTokenResponse(oauthTokenResponse, body, url);
  return { accessToken: token.access_token, expiresAt: expiry(input.now, token.expires_in) };
}

/** Anthropic: RFC 7523 JWT bearer grant with JSON, naming the federation rule. */
async function exchangeAnthropic(settings: FederationSettings['anthropic'], input: ExchangeInput): Promise<ProviderToken> {
  const url = settings.token_url ?? `${input.baseURL}/v1/oauth/token`;
  const body = await postTokenRequest(url, {
    encoding: 'json',
    timeoutMilliseconds: input.timeoutMilliseconds,
    headers: { 'anthropic-beta': ANTHROPIC_EXCHANGE_BETA },
    body: {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: input.identityToken,
      federation_rule_id: settings.federation_rule_id,
      organization_id: settings.organization_id,
      service_account_id: settings.service_account_id,
      ...(settings.workspace_id ? { workspace_id: settings.workspace_id } : {}),
    },
  });
  const token = parseTokenResponse(oauthTokenResponse, body, url);
  return { accessToken: token.access_token, expiresAt: expiry(input.now, token.expires_in) };
}

const googleAccessToken = z.object({ accessToken: z.string().min(1).max(16_384), expireTime: z.string().datetime({ offset: true }) });

/**
 * Google: an STS token exchange (form-encoded, no Authorization header) for a federated token,
 * then service account impersonation. Google recommends impersonation for Vertex AI, because not
 * every API accepts federated tokens directly.
 */
async function exchangeGoogle(settings: FederationSettings['google'], audience: string, input: ExchangeInput): Promise<ProviderToken> {
  const stsURL = settings.sts_url ?? defaultTokenEndpoints.googleSTS;
  const stsBody = await postTokenRequest(stsURL, {
    encoding: 'form',
    timeoutMilliseconds: input.timeoutMilliseconds,
    body: {
      grant_type: TOKEN_EXCHANGE_GRANT,
      audience,
      scope: CLOUD_PLATFORM_SCOPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      subject_token_type: JWT_TOKEN_TYPE,
      subject_token: input.identityToken,
    },
  });
  const federated = parseTokenResponse(oauthTokenResponse, stsBody, stsURL);

  const iamBase = settings.iam_credentials_url ?? defaultTokenEndpoints.googleIAMCredentials;
  const impersonationURL = `${iamBase}/v1/projects/-/serviceAccounts/${encodeURIComponent(settings.service_account_email)}:generateAccessToken`;
  const impersonated = await postTokenRequest(impersonationURL, {
    encoding: 'json',
    timeoutMilliseconds: input.timeoutMilliseconds,
    headers: { authorization: `Bearer ${federated.access_token}` },
    body: { scope: [CLOUD_PLATFORM_SCOPE], lifetime: '3600s' },
  });
  const token = parseTokenResponse(googleAccessToken, impersonated, impersonationURL);
  const expiresAt = new Date(token.expireTime);
  if (!(expiresAt > input.now)) throw new TokenRequestFailed('failed', `${impersonationURL} returned a token that has already expired`);
  return { accessToken: token.accessToken, expiresAt };
}

/** Azure: client credentials with Gatehouse's identity token as a JWT client assertion (form-encoded). */
async function exchangeAzure(settings: FederationSettings['azure'], input: ExchangeInput): Promise<ProviderToken> {
  const authority = settings.authority_url ?? defaultTokenEndpoints.azureAuthority;
  const url = `${authority}/${encodeURIComponent(settings.tenant_id)}/oauth2/v2.0/token`;
  const body = await postTokenRequest(url, {
    encoding: 'form',
    timeoutMilliseconds: input.timeoutMilliseconds,
    body: {
      client_id: settings.client_id,
      scope: settings.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: input.identityToken,
      grant_type: 'client_credentials',
    },
  });
  const token = parseTokenResponse(oauthTokenResponse, body, url);
  return { accessToken: token.access_token, expiresAt: expiry(input.now, token.expires_in) };
}

/** Exchanges Gatehouse's identity token for a provider credential, as the provider's kind requires. */
export async function exchangeIdentityToken(
  kind: FederatedKind,
  settings: FederationSettings[FederatedKind],
  audience: string,
  input: ExchangeInput,
): Promise<ProviderToken> {
  switch (kind) {
    case 'openai':
      return exchangeOpenAI(settings as FederationSettings['openai'], input);
    case 'anthropic':
      return exchangeAnthropic(settings as FederationSettings['anthropic'], input);
    case 'google':
      return exchangeGoogle(settings as FederationSettings['google'], audience, input);
    case 'azure':
      return exchangeAzure(settings as FederationSettings['azure'], input);
  }
}
