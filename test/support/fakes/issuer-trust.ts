import { decodeProtectedHeader, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

/** How one provider trusts an external OIDC issuer, per its documentation. */
export interface TrustPolicy {
  /** The issuer URL the admin registered at the provider. */
  issuer: string;
  /** Anthropic and Entra ID compare byte for byte; OpenAI ignores a trailing slash. */
  issuerComparison: 'exact' | 'ignore-trailing-slash';
  algorithms: string[];
  /** How long fetched discovery and JWKS documents are reused. */
  jwksCacheSeconds: number;
  /** OpenAI refetches the JWKS once when a `kid` is unknown, before it rejects. */
  refetchOnUnknownKid: boolean;
  clockToleranceSeconds: number;
  /** Longest accepted `exp - iat`. */
  maxLifetimeSeconds: number;
  maxBytes?: number;
  now: () => Date;
}

/** Why a fake rejected a token; tests read it to check that the right rule fired. */
export class TrustRejected extends Error {
  override name = 'TrustRejected';
}

/**
 * The issuer-trust part of a fake provider: it fetches the issuer's discovery document and JWKS
 * over HTTP, as the real providers do, and verifies signature, algorithm, kid, issuer, audience,
 * subject and times.
 */
export class IssuerTrust {
  private cache: { keys: JWK[]; fetchedAt: number } | undefined;
  /** Number of JWKS downloads, so tests can check caching. */
  jwksFetches = 0;
  /** Every rejection reason, newest last. */
  readonly rejections: string[] = [];

  constructor(readonly policy: TrustPolicy) {}

  private sameIssuer(a: string, b: string): boolean {
    if (this.policy.issuerComparison === 'exact') return a === b;
    return a.replace(/\/$/, '') === b.replace(/\/$/, '');
  }

  private async fetchKeys(): Promise<JWK[]> {
    const discoveryResponse = await fetch(`${this.policy.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    if (discoveryResponse.status !== 200) throw new TrustRejected(`discovery returned HTTP ${discoveryResponse.status}`);
    const discovery = (await discoveryResponse.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (typeof discovery.issuer !== 'string' || !this.sameIssuer(discovery.issuer, this.policy.issuer)) throw new TrustRejected('discovery issuer mismatch');
    if (typeof discovery.jwks_uri !== 'string') throw new TrustRejected('discovery has no jwks_uri');
    const jwksResponse = await fetch(discovery.jwks_uri);
    if (jwksResponse.status !== 200) throw new TrustRejected(`jwks returned HTTP ${jwksResponse.status}`);
    const jwks = (await jwksResponse.json()) as { keys?: unknown };
    if (!Array.isArray(jwks.keys)) throw new TrustRejected('jwks has no keys array');
    this.jwksFetches += 1;
    this.cache = { keys: jwks.keys as JWK[], fetchedAt: this.policy.now().getTime() };
    return this.cache.keys;
  }

  private async keyFor(kid: string): Promise<JWK> {
    const fresh = this.cache && this.policy.now().getTime() - this.cache.fetchedAt < this.policy.jwksCacheSeconds * 1000;
    let keys = fresh ? this.cache!.keys : await this.fetchKeys();
    let key = keys.find((candidate) => candidate.kid === kid);
    if (!key && fresh && this.policy.refetchOnUnknownKid) {
      keys = await this.fetchKeys();
      key = keys.find((candidate) => candidate.kid === kid);
    }
    if (!key) throw new TrustRejected(`no key for kid ${kid}`);
    return key;
  }

  /** Verifies a token for an expected audience (any of several) and returns its claims, or throws TrustRejected. */
  async verify(token: string, audiences: string[]): Promise<JWTPayload> {
    try {
      return await this.check(token, audiences);
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.rejections.push(reason);
      throw error instanceof TrustRejected ? error : new TrustRejected(reason);
    }
  }

  private async check(token: string, audiences: string[]): Promise<JWTPayload> {
    if (this.policy.maxBytes !== undefined && Buffer.byteLength(token) > this.policy.maxBytes) throw new TrustRejected('token too large');
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TrustRejected('malformed token header');
    }
    if (typeof header.alg !== 'string' || !this.policy.algorithms.includes(header.alg)) throw new TrustRejected(`algorithm ${String(header.alg)} not accepted`);
    if (typeof header.kid !== 'string' || header.kid === '') throw new TrustRejected('kid missing');

    const key = await importJWK(await this.keyFor(header.kid), header.alg);
    const { payload } = await jwtVerify(token, key, {
      algorithms: this.policy.algorithms,
      audience: audiences,
      currentDate: this.policy.now(),
      clockTolerance: this.policy.clockToleranceSeconds,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    });
    if (typeof payload.iss !== 'string' || !this.sameIssuer(payload.iss, this.policy.issuer)) throw new TrustRejected('issuer mismatch');
    const now = Math.floor(this.policy.now().getTime() / 1000);
    if (payload.iat! > now + this.policy.clockToleranceSeconds) throw new TrustRejected('iat in the future');
    if (payload.exp! - payload.iat! > this.policy.maxLifetimeSeconds) throw new TrustRejected('token lifetime too long');
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new TrustRejected('sub missing');
    return payload;
  }
}
