import type { AppContext } from '../app/context.js';
import { dropProviderToken, providerCredential, type ProviderCredential } from '../providers/credentials.js';
import { ANTHROPIC_OAUTH_BETA } from '../providers/federation/exchanges.js';
import type { ResolvedProvider } from '../providers/providers.js';
import { UpstreamCredentialRejected, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable } from './errors.js';

/** The native API a gateway request goes to. */
export type UpstreamAPI = 'chat_completions' | 'anthropic_messages';

/** One request to forward: the caller's JSON body and the few caller headers that are passed on. */
export interface UpstreamRequest {
  api: UpstreamAPI;
  body: Record<string, unknown>;
  anthropicVersion?: string | undefined;
  anthropicBeta?: string | undefined;
  /** Aborted when the caller goes away. */
  signal: AbortSignal;
}

/** The provider's response, with the credential used, so that pass-through bodies can be scrubbed of it. */
export interface UpstreamResponse {
  response: Response;
  credential: ProviderCredential;
}

const MAX_ATTEMPTS = 3;
const RETRY_STATUSES = new Set([500, 502, 503, 504, 529]);
const ANTHROPIC_DEFAULT_VERSION = '2023-06-01';

function upstreamURL(provider: ResolvedProvider, api: UpstreamAPI): string {
  if (api === 'anthropic_messages') return `${provider.baseURL}/v1/messages`;
  // Anthropic serves its OpenAI-compatible API under /v1 of its API origin.
  if (provider.kind === 'anthropic') return `${provider.baseURL}/v1/chat/completions`;
  return `${provider.baseURL}/chat/completions`;
}

/**
 * Returns the headers that carry the credential, in the form each provider expects for it.
 * NOTE: two paths are untested against the real services: Google API keys on Vertex AI's
 * OpenAI-compatible endpoint (API keys are documented for Vertex AI express mode), and federated
 * Anthropic bearer tokens on Anthropic's OpenAI-compatible /v1/chat/completions.
 */
function credentialHeaders(provider: ResolvedProvider, credential: ProviderCredential): Record<string, string> {
  if (credential.type === 'bearer') return { authorization: `Bearer ${credential.secret}` };
  switch (provider.kind) {
    case 'anthropic':
      return { 'x-api-key': credential.secret };
    case 'azure':
      return { 'api-key': credential.secret };
    case 'google':
      return { 'x-goog-api-key': credential.secret };
    default:
      return { authorization: `Bearer ${credential.secret}` };
  }
}

function requestHeaders(provider: ResolvedProvider, request: UpstreamRequest, credential: ProviderCredential): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: request.body.stream === true ? 'text/event-stream' : 'application/json' };
  if (provider.kind === 'anthropic') {
    headers['anthropic-version'] = request.anthropicVersion ?? ANTHROPIC_DEFAULT_VERSION;
    const betas = [request.anthropicBeta, credential.type === 'bearer' ? ANTHROPIC_OAUTH_BETA : undefined].filter(Boolean);
    if (betas.length > 0) headers['anthropic-beta'] = betas.join(',');
  }
  return { ...headers, ...credentialHeaders(provider, credential) };
}

/** Vertex AI's OpenAI-compatible endpoint names Gemini models with a publisher prefix. */
function upstreamBody(provider: ResolvedProvider, request: UpstreamRequest): string {
  const model = request.body.model;
  if (provider.kind === 'google' && typeof model === 'string' && !model.includes('/')) {
    return JSON.stringify({ ...request.body, model: `google/${model}` });
  }
  return JSON.stringify(request.body);
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Sends a request to the provider with its credential and returns the first response worth passing
 * on: 2xx, or a 4xx about the caller's request. Connection failures and 5xx responses are retried up
 * to MAX_ATTEMPTS in all, with backoff. A timeout is not retried, because the caller has already
 * waited the whole timeout. A rejected federated token is dropped and exchanged once more, but a
 * rejected stored key is not retried. Throws a gateway error otherwise.
 */
export async function sendToProvider(context: AppContext, provider: ResolvedProvider, request: UpstreamRequest): Promise<UpstreamResponse> {
  const url = upstreamURL(provider, request.api);
  const body = upstreamBody(provider, request);
  const timeoutSeconds = context.config.gateway.timeoutSeconds;
  const log = { providerId: provider.id, kind: provider.kind };
  let credential = await providerCredential(context, provider);
  let exchangedAgain = false;

  for (let attempt = 1; ; attempt += 1) {
    // The timeout covers the wait for response headers only, because a streamed response may take longer.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new UpstreamTimeout(provider.name, timeoutSeconds)), timeoutSeconds * 1000);
    const abortOnCallerGone = () => controller.abort(new Error('caller disconnected'));
    request.signal.addEventListener('abort', abortOnCallerGone, { once: true });

    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: requestHeaders(provider, request, credential), body, redirect: 'manual', signal: controller.signal });
    } catch (error) {
      request.signal.removeEventListener('abort', abortOnCallerGone);
      if (controller.signal.reason instanceof UpstreamTimeout) throw controller.signal.reason;
      if (request.signal.aborted) throw error;
      context.logger.warn({ event: 'gateway.upstream_failed', ...log, attempt, error: (error as Error).message }, 'provider could not be reached');
      if (attempt >= MAX_ATTEMPTS) throw new UpstreamUnavailable(provider.name, `connection failed after ${attempt} attempts`);
      await delay(100 * 2 ** attempt);
      continue;
    } finally {
      clearTimeout(timer);
    }
    request.signal.removeEventListener('abort', abortOnCallerGone);

    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      context.logger.warn({ event: 'gateway.credential_rejected', ...log, status: response.status, credential: credential.type }, 'provider rejected the credential');
      if (credential.type === 'bearer' && !exchangedAgain) {
        exchangedAgain = true;
        dropProviderToken(context, provider);
        credential = await providerCredential(context, provider);
        continue;
      }
      throw new UpstreamCredentialRejected(provider.name, `HTTP ${response.status} with ${credential.type}`);
    }
    if (RETRY_STATUSES.has(response.status)) {
      await response.body?.cancel();
      context.logger.warn({ event: 'gateway.upstream_error', ...log, attempt, status: response.status }, 'provider returned a server error');
      if (attempt >= MAX_ATTEMPTS) throw new UpstreamUnavailable(provider.name, `HTTP ${response.status} after ${attempt} attempts`);
      await delay(100 * 2 ** attempt);
      continue;
    }
    if (response.status === 429) {
      await response.body?.cancel();
      const retryAfter = response.headers.get('retry-after');
      throw new UpstreamRateLimited(provider.name, retryAfter && /^[0-9]{1,6}$/.test(retryAfter) ? retryAfter : undefined);
    }
    if (response.status >= 500 || (response.status >= 300 && response.status < 400)) {
      await response.body?.cancel();
      throw new UpstreamUnavailable(provider.name, `HTTP ${response.status}`);
    }
    return { response, credential };
  }
}
