import { ProtocolError } from '../http/errors.js';

/** 404: no provider of the caller's organization or project serves the requested model. */
export class ModelNotFound extends ProtocolError {
  constructor(model: string) {
    super(404, 'model_not_found', `No AI provider of this organization or project serves the model "${model}". Add the model to a provider under Settings → AI providers.`);
  }
}

/** 404: the gateway routes exist only when GATEHOUSE_GATEWAY is on. */
export class GatewayDisabled extends ProtocolError {
  constructor() {
    super(404, 'not_found', 'The model gateway is turned off on this deployment (GATEHOUSE_GATEWAY=false).');
  }
}

/** 409: a federation provider cannot be used here any more, for example after a move to self-hosting. */
export class FederationUnavailable extends ProtocolError {
  constructor(reason: string) {
    super(409, 'federation_unavailable', reason);
  }
}

/** 502: the provider rejected the credential Gatehouse sent (HTTP 401 or 403). */
export class UpstreamCredentialRejected extends ProtocolError {
  constructor(providerName: string, detail: string) {
    super(502, 'upstream_credential_rejected', `The provider "${providerName}" rejected Gatehouse's credential. An admin should check the provider's key or federation settings.`, { detail });
  }
}

/** 502: the provider failed (5xx, connection error, unreadable response) on every attempt. */
export class UpstreamUnavailable extends ProtocolError {
  constructor(providerName: string, detail: string) {
    super(502, 'upstream_unavailable', `The provider "${providerName}" returned errors or could not be reached. Try again later.`, { detail });
  }
}

/** 504: the provider sent no response headers within GATEHOUSE_GATEWAY_TIMEOUT_SECONDS. */
export class UpstreamTimeout extends ProtocolError {
  constructor(providerName: string, seconds: number) {
    super(504, 'upstream_timeout', `The provider "${providerName}" did not respond within ${seconds} s. Try again later.`, { detail: `timeout after ${seconds} s` });
  }
}

/** 429: the provider limits the rate; the Retry-After header, when sent, is passed on. */
export class UpstreamRateLimited extends ProtocolError {
  constructor(
    providerName: string,
    readonly retryAfter: string | undefined,
  ) {
    super(429, 'rate_limited', `The provider "${providerName}" is rate limiting requests. Wait and try again.`);
  }
}

/** 502: the provider's token endpoint rejected Gatehouse's identity token or the federation ids. */
export class ProviderTokenRejected extends ProtocolError {
  constructor(providerName: string, providerError: string | undefined, detail: string) {
    const code = providerError ? ` (${providerError})` : '';
    super(
      502,
      'provider_token_rejected',
      `The token endpoint of "${providerName}" rejected Gatehouse's identity token${code}. An admin should compare the issuer, subject, audience and ids shown on the provider page with the provider's settings.`,
      { detail },
    );
  }
}

/** 502 or 504: the provider's token endpoint failed, timed out or returned something unreadable. */
export class ProviderTokenUnavailable extends ProtocolError {
  constructor(providerName: string, problem: 'timeout' | 'failed', detail: string) {
    super(
      problem === 'timeout' ? 504 : 502,
      problem === 'timeout' ? 'provider_token_timeout' : 'provider_token_unavailable',
      problem === 'timeout'
        ? `The token endpoint of "${providerName}" did not respond in time. Try again later.`
        : `The token endpoint of "${providerName}" failed to issue a token. Try again later.`,
      { detail },
    );
  }
}
