import { IssuerTrust, TrustRejected } from './issuer-trust.js';
import { anthropicMessage, chatCompletion, fakeToken } from './model-api.js';
import { formBody, header, jsonBody, startFakeServer, type FakeAnswer, type FakeServer, type Fault, type ReceivedRequest } from './server.js';

export type FakeKind = 'openai' | 'anthropic' | 'google' | 'azure';

/**
 * A local stand-in for one AI provider: its token endpoint(s) and its model API on one 127.0.0.1
 * server. The token endpoints check requests and identity tokens as the provider documents. The
 * model API accepts only the provider's API key or a token the fake issued, and records requests.
 */
export interface FakeProvider {
  kind: FakeKind;
  server: FakeServer;
  trust: IssuerTrust;
  /** The stored API key the model API accepts. */
  apiKey: string;
  /** The base URL to configure in Gatehouse. */
  baseURL: string;
  /** Federation settings to configure in Gatehouse, ids and local token endpoints. */
  federation: Record<string, string>;
  /** The `sub` the provider's trust configuration (mapping, rule or credential) accepts. */
  expectedSubject: string | undefined;
  /** Accepts any subject it returns true for, in place of expectedSubject (a wildcard mapping). */
  acceptSubject?: (subject: string) => boolean;
  /** Tokens the fake issued, with their expiry. */
  issuedTokens: Map<string, Date>;
  /** When set, the model API rejects every token the fake issued, as after a revoked mapping. */
  rejectIssuedTokens: boolean;
  tokenFaults: Fault[];
  modelFaults: Fault[];
  tokenRequests(): ReceivedRequest[];
  modelRequests(): ReceivedRequest[];
  close(): Promise<void>;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];

function oauthError(status: number, error: string, description: string, extra: Record<string, unknown> = {}): FakeAnswer {
  return { status, body: { error, error_description: description, ...extra } };
}

function bearer(request: ReceivedRequest): string | undefined {
  return /^Bearer (.+)$/.exec(header(request, 'authorization') ?? '')?.[1];
}

/** Starts a fake provider of the given kind that trusts `issuer`. `now` is the test's clock. */
export async function startFakeProvider(kind: FakeKind, options: { issuer: string; now: () => Date }): Promise<FakeProvider> {
  const policies = {
    openai: { issuerComparison: 'ignore-trailing-slash', algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'PS256'], jwksCacheSeconds: 600, refetchOnUnknownKid: true, clockToleranceSeconds: 0, maxLifetimeSeconds: 86_400 },
    anthropic: { issuerComparison: 'exact', algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'], jwksCacheSeconds: 60, refetchOnUnknownKid: false, clockToleranceSeconds: 30, maxLifetimeSeconds: 3600, maxBytes: 16 * 1024 },
    google: { issuerComparison: 'exact', algorithms: ['RS256', 'ES256'], jwksCacheSeconds: 300, refetchOnUnknownKid: true, clockToleranceSeconds: 0, maxLifetimeSeconds: 86_400 },
    azure: { issuerComparison: 'exact', algorithms: ['RS256'], jwksCacheSeconds: 300, refetchOnUnknownKid: true, clockToleranceSeconds: 0, maxLifetimeSeconds: 25 * 3600 },
  } as const;
  const trust = new IssuerTrust({ issuer: options.issuer, now: options.now, ...policies[kind], algorithms: [...policies[kind].algorithms] });
  const usedJTIs = new Set<string>();
  const federatedPrincipals = new Map<string, { subject: string; expiresAt: Date }>();
  const ids = {
    identityProviderId: 'wip_fake123',
    serviceAccountId: kind === 'anthropic' ? 'svac_fake123' : 'sa_fake123',
    federationRuleId: 'fdrl_fake123',
    organizationId: '00000000-0000-4000-8000-000000000001',
    projectNumber: '123456789012',
    poolId: 'gatehouse-pool',
    providerId: 'gatehouse-oidc',
    serviceAccountEmail: 'vertex-caller@example-project.iam.gserviceaccount.com',
    tenantId: '11111111-2222-4333-8444-555555555555',
    clientId: '66666666-7777-4888-8999-000000000000',
  };
  const openAIAudience = 'https://api.openai.com/v1';
  const anthropicAudience = 'https://api.anthropic.com';
  const googleAudience = `//iam.googleapis.com/projects/${ids.projectNumber}/locations/global/workloadIdentityPools/${ids.poolId}/providers/${ids.providerId}`;

  const fake = {
    kind,
    trust,
    apiKey: { openai: 'sk-proj-', anthropic: 'sk-ant-api03-', google: 'AIzaSy', azure: 'azk' }[kind] + fakeToken('').slice(0, 32),
    expectedSubject: undefined as string | undefined,
    issuedTokens: new Map<string, Date>(),
    rejectIssuedTokens: false,
    tokenFaults: [] as Fault[],
    modelFaults: [] as Fault[],
  } as FakeProvider;

  const issue = (prefix: string, seconds: number) => {
    const token = fakeToken(prefix);
    fake.issuedTokens.set(token, new Date(options.now().getTime() + seconds * 1000));
    return token;
  };
  const tokenIsValid = (token: string | undefined) => {
    if (!token || fake.rejectIssuedTokens) return false;
    const expiresAt = fake.issuedTokens.get(token);
    return expiresAt !== undefined && expiresAt > options.now();
  };
  const subjectMatches = (subject: unknown) =>
    typeof subject === 'string' && (fake.acceptSubject ? fake.acceptSubject(subject) : fake.expectedSubject !== undefined && subject === fake.expectedSubject);

  const isTokenPath = (path: string) =>
    path === '/oauth/token' || path === '/v1/oauth/token' || path === '/v1/token' || path.endsWith(':generateAccessToken') || /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path);

  // OpenAI: RFC 8693 with JSON; provider id and service account must match a configured mapping.
  const openAIToken = async (request: ReceivedRequest): Promise<FakeAnswer> => {
    if (!(header(request, 'content-type') ?? '').startsWith('application/json')) return oauthError(400, 'invalid_request', 'Content-Type must be application/json.');
    const body = jsonBody(request) ?? {};
    for (const name of ['grant_type', 'subject_token_type', 'subject_token', 'identity_provider_id', 'service_account_id']) {
      if (typeof body[name] !== 'string' || body[name] === '') return oauthError(400, 'invalid_request', `Missing required parameter: ${name}.`);
    }
    if (body.grant_type !== TOKEN_EXCHANGE) return oauthError(400, 'unsupported_grant_type', 'Unsupported grant_type.');
    if (!JWT_TYPES.includes(body.subject_token_type as string)) return oauthError(400, 'invalid_request', 'Unsupported subject_token_type.');
    if (body.identity_provider_id !== ids.identityProviderId) return oauthError(400, 'invalid_request', 'Unknown identity provider.');
    let claims;
    try {
      claims = await trust.verify(body.subject_token as string, [openAIAudience]);
    } catch (error) {
      return oauthError(400, 'invalid_grant', `Subject token verification failed: ${(error as TrustRejected).message}`);
    }
    if (body.service_account_id !== ids.serviceAccountId || !subjectMatches(claims.sub)) return oauthError(400, 'invalid_grant', 'No service account mapping matches the token.');
    const lifetime = Math.min(3600, claims.exp! - Math.floor(options.now().getTime() / 1000));
    return { status: 200, body: { access_token: issue('oai-wif-', lifetime), issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: lifetime } };
  };

  // Anthropic: RFC 7523 jwt-bearer with JSON; the named rule decides; single-use jti (check_jti on).
  const anthropicToken = async (request: ReceivedRequest): Promise<FakeAnswer> => {
    const body = jsonBody(request);
    if (!body) return oauthError(400, 'invalid_request', 'Body must be JSON.');
    for (const name of ['grant_type', 'assertion', 'federation_rule_id', 'organization_id', 'service_account_id']) {
      if (typeof body[name] !== 'string' || body[name] === '') return oauthError(400, 'invalid_request', `${name} is required.`);
    }
    if (body.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return oauthError(400, 'invalid_request', 'Unsupported grant_type.');
    let claims;
    try {
      claims = await trust.verify(body.assertion as string, [anthropicAudience]);
    } catch {
      return oauthError(400, 'invalid_grant', 'The assertion was rejected.');
    }
    if (typeof claims.jti === 'string') {
      if (usedJTIs.has(claims.jti)) return oauthError(400, 'invalid_grant', 'The assertion was rejected.');
      usedJTIs.add(claims.jti);
    }
    if (body.federation_rule_id !== ids.federationRuleId || body.organization_id !== ids.organizationId || body.service_account_id !== ids.serviceAccountId || !subjectMatches(claims.sub)) {
      return oauthError(400, 'invalid_grant', 'The assertion was rejected.');
    }
    const remaining = claims.exp! - Math.floor(options.now().getTime() / 1000);
    const lifetime = Math.max(60, Math.min(3600, 2 * remaining));
    return { status: 200, body: { access_token: issue('sk-ant-oat01-', lifetime), token_type: 'Bearer', expires_in: lifetime, scope: 'workspace:inference' } };
  };

  // Google STS: form-encoded, no Authorization header; aud must be the pool provider's resource name.
  const googleSTS = async (request: ReceivedRequest): Promise<FakeAnswer> => {
    if (header(request, 'authorization') !== undefined) return oauthError(400, 'invalid_request', 'The token exchange must not carry an Authorization header.');
    if (!(header(request, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) return oauthError(400, 'invalid_request', 'Unsupported content type.');
    const body = formBody(request);
    if (body.grant_type !== TOKEN_EXCHANGE) return oauthError(400, 'unsupported_grant_type', 'Invalid grant_type.');
    if (body.audience !== googleAudience && body.audience !== `https:${googleAudience}`) return oauthError(400, 'invalid_request', 'Invalid audience.');
    if (!(body.scope ?? '').split(' ').includes('https://www.googleapis.com/auth/cloud-platform')) return oauthError(400, 'invalid_scope', 'Scope must include cloud-platform.');
    if (body.requested_token_type !== 'urn:ietf:params:oauth:token-type:access_token') return oauthError(400, 'invalid_request', 'Invalid requested_token_type.');
    if (!JWT_TYPES.includes(body.subject_token_type ?? '') || !body.subject_token) return oauthError(400, 'invalid_request', 'Invalid subject token.');
    let claims;
    try {
      claims = await trust.verify(body.subject_token, [googleAudience, `https:${googleAudience}`]);
    } catch (error) {
      return oauthError(400, 'invalid_grant', `The given subject token is invalid: ${(error as TrustRejected).message}`);
    }
    if (Buffer.byteLength(String(claims.sub)) > 127) return oauthError(400, 'invalid_grant', 'google.subject is longer than 127 bytes.');
    const token = issue('ya29.federated-', 3600);
    federatedPrincipals.set(token, { subject: String(claims.sub), expiresAt: new Date(options.now().getTime() + 3600_000) });
    fake.issuedTokens.delete(token);
    return { status: 200, body: { access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 } };
  };

  // Google IAM Credentials: the federated principal must hold roles/iam.workloadIdentityUser on the SA.
  const googleImpersonation = async (request: ReceivedRequest): Promise<FakeAnswer> => {
    const googleError = (code: number, status: string, message: string): FakeAnswer => ({ status: code, body: { error: { code, message, status } } });
    const principal = federatedPrincipals.get(bearer(request) ?? '');
    if (!principal || principal.expiresAt <= options.now()) return googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const email = decodeURIComponent(/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(request.path)?.[1] ?? '');
    if (email !== ids.serviceAccountEmail || !subjectMatches(principal.subject)) return googleError(403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
    const body = jsonBody(request);
    const scopes = body?.scope;
    if (!Array.isArray(scopes) || !scopes.includes('https://www.googleapis.com/auth/cloud-platform')) return googleError(400, 'INVALID_ARGUMENT', 'Scope required.');
    const lifetime = /^([0-9]+)s$/.exec(String(body?.lifetime ?? '3600s'))?.[1];
    if (!lifetime || Number(lifetime) > 3600) return googleError(400, 'INVALID_ARGUMENT', 'The lifetime must be at most 3600s.');
    const token = issue('ya29.sa-', Number(lifetime));
    return { status: 200, body: { accessToken: token, expireTime: fake.issuedTokens.get(token)!.toISOString() } };
  };

  // Entra ID: client credentials with a jwt-bearer client assertion, form-encoded; RS256 only.
  const azureToken = async (request: ReceivedRequest): Promise<FakeAnswer> => {
    const entraError = (error: string, code: number, text: string): FakeAnswer =>
      oauthError(400, error, `AADSTS${code}: ${text}`, { error_codes: [code], timestamp: options.now().toISOString().replace('T', ' ').slice(0, 19) + 'Z', trace_id: 'fake-trace', correlation_id: 'fake-correlation' });
    const tenant = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(request.path)?.[1];
    if (tenant !== ids.tenantId) return entraError('invalid_request', 90002, `Tenant '${tenant}' not found.`);
    const body = formBody(request);
    if (body.grant_type !== 'client_credentials') return entraError('unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (body.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || !body.client_assertion) return entraError('invalid_request', 900144, "The request body must contain the parameter: 'client_assertion'.");
    if (!(body.scope ?? '').endsWith('/.default')) return entraError('invalid_scope', 1002012, 'The provided value for scope is not valid.');
    if (body.client_id !== ids.clientId) return entraError('unauthorized_client', 700016, 'Application not found in the directory.');
    let claims;
    try {
      claims = await trust.verify(body.client_assertion, ['api://AzureADTokenExchange']);
    } catch (error) {
      const message = (error as TrustRejected).message;
      if (/exp|expired/i.test(message)) return entraError('invalid_client', 700024, 'Client assertion is not within its valid time range.');
      return entraError('invalid_client', 70021, 'No matching federated identity record found for presented assertion.');
    }
    if (!subjectMatches(claims.sub)) return entraError('invalid_client', 70021, 'No matching federated identity record found for presented assertion subject.');
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issue('eyJ0eXAiOiJKV1Qi.fake-entra-', 3599) } };
  };

  const tokenEndpoint = (request: ReceivedRequest): Promise<FakeAnswer> => {
    if (request.method !== 'POST') return Promise.resolve({ status: 405, body: { error: 'invalid_request' } });
    if (kind === 'openai') return openAIToken(request);
    if (kind === 'anthropic') return anthropicToken(request);
    if (kind === 'google') return request.path === '/v1/token' ? googleSTS(request) : googleImpersonation(request);
    return azureToken(request);
  };

  const modelAPI = async (request: ReceivedRequest): Promise<FakeAnswer> => {
    const now = options.now();
    const text = `Hello from ${kind}`;
    if (kind === 'openai') {
      if (request.path !== '/v1/chat/completions') return { status: 404, body: { error: { message: 'Unknown path', type: 'invalid_request_error', param: null, code: null } } };
      const credential = bearer(request);
      if (credential !== fake.apiKey && !tokenIsValid(credential)) {
        return { status: 401, body: { error: { message: `Incorrect API key provided: ${credential?.slice(0, 8)}...${credential?.slice(-4)}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } };
      }
      return chatCompletion(request, text, now);
    }
    if (kind === 'anthropic') {
      const apiKey = header(request, 'x-api-key');
      const token = bearer(request);
      const authorized = apiKey !== undefined ? apiKey === fake.apiKey : tokenIsValid(token) && (header(request, 'anthropic-beta') ?? '').split(',').includes('oauth-2025-04-20');
      if (!authorized) return { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } };
      if (request.path === '/v1/messages') {
        if (!header(request, 'anthropic-version')) return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } } };
        return anthropicMessage(request, text);
      }
      if (request.path === '/v1/chat/completions') return chatCompletion(request, text, now);
      return { status: 404, body: { type: 'error', error: { type: 'not_found_error', message: 'Not found' } } };
    }
    if (kind === 'google') {
      if (!/^\/v1\/projects\/[^/]+\/locations\/[^/]+\/endpoints\/openapi\/chat\/completions$/.test(request.path)) return { status: 404, body: { error: { code: 404, message: 'Not found', status: 'NOT_FOUND' } } };
      const apiKey = header(request, 'x-goog-api-key');
      const authorized = apiKey !== undefined ? apiKey === fake.apiKey : tokenIsValid(bearer(request));
      if (!authorized) return { status: 401, body: { error: { code: 401, message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', status: 'UNAUTHENTICATED' } } };
      const model = jsonBody(request)?.model;
      if (typeof model !== 'string' || !model.startsWith('google/')) return { status: 400, body: { error: { code: 400, message: 'Model must be publisher/model, such as google/gemini-2.0-flash.', status: 'INVALID_ARGUMENT' } } };
      return chatCompletion(request, text, now);
    }
    if (request.path !== '/openai/v1/chat/completions') return { status: 404, body: { error: { code: '404', message: 'Resource not found' } } };
    const apiKey = header(request, 'api-key');
    const authorized = apiKey !== undefined ? apiKey === fake.apiKey : tokenIsValid(bearer(request));
    if (!authorized) return { status: 401, body: { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' } } };
    return chatCompletion(request, text, now);
  };

  const server = await startFakeServer(
    (request) => (isTokenPath(request.path) ? tokenEndpoint(request) : modelAPI(request)),
    (request) => (isTokenPath(request.path) ? fake.tokenFaults.shift() : fake.modelFaults.shift()),
  );

  fake.server = server;
  fake.tokenRequests = () => server.received.filter((request) => isTokenPath(request.path));
  fake.modelRequests = () => server.received.filter((request) => !isTokenPath(request.path));
  fake.close = () => server.close();
  switch (kind) {
    case 'openai':
      fake.baseURL = `${server.url}/v1`;
      fake.federation = { identity_provider_id: ids.identityProviderId, service_account_id: ids.serviceAccountId, token_url: `${server.url}/oauth/token` };
      break;
    case 'anthropic':
      fake.baseURL = server.url;
      fake.federation = { federation_rule_id: ids.federationRuleId, organization_id: ids.organizationId, service_account_id: ids.serviceAccountId };
      break;
    case 'google':
      fake.baseURL = `${server.url}/v1/projects/example-project/locations/us-central1/endpoints/openapi`;
      fake.federation = { project_number: ids.projectNumber, pool_id: ids.poolId, provider_id: ids.providerId, service_account_email: ids.serviceAccountEmail, sts_url: `${server.url}/v1/token`, iam_credentials_url: server.url };
      break;
    case 'azure':
      fake.baseURL = `${server.url}/openai/v1`;
      fake.federation = { tenant_id: ids.tenantId, client_id: ids.clientId, authority_url: server.url };
      break;
  }
  return fake;
}
