import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { SignJWT } from 'jose';

import { issuerURL } from '../../src/issuer/identity-tokens.js';
import { activeSigningKey } from '../../src/issuer/signing-keys.js';
import { databaseCases } from '../support/databases.js';
import { startFakeProvider, type FakeKind, type FakeProvider } from '../support/fakes/providers.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

const SUBJECT = 'org:org_test:provider:prv_test';

/**
 * These tests sign tokens with Gatehouse's real signing key but break one rule at a time, to show
 * that each fake rejects what the real provider documents as rejected.
 */
for (const database of databaseCases) {
  suite(`fake provider token checks (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    const fakes = {} as Record<FakeKind, FakeProvider>;

    before(async () => {
      gatehouse = await startGatehouse(database, { deployment: 'hosted' });
      for (const kind of ['openai', 'anthropic', 'google', 'azure'] as const) {
        fakes[kind] = await startFakeProvider(kind, { issuer: issuerURL(gatehouse.app.context), now: gatehouse.clock.now });
        fakes[kind].expectedSubject = SUBJECT;
      }
    });
    after(async () => {
      for (const fake of Object.values(fakes)) await fake.close();
      await gatehouse?.close();
    });

    /** Signs a token with the active key; `changes` replace claims or header fields. */
    const sign = async (audience: string, changes: { claims?: Record<string, unknown>; header?: Record<string, unknown>; lifetime?: number } = {}) => {
      const { kid, privateKey } = await activeSigningKey(gatehouse.app.context);
      const now = Math.floor(gatehouse.clock.now().getTime() / 1000);
      return new SignJWT({ iss: issuerURL(gatehouse.app.context), sub: SUBJECT, aud: audience, iat: now, nbf: now, exp: now + (changes.lifetime ?? 300), jti: crypto.randomUUID(), ...changes.claims })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT', ...changes.header })
        .sign(privateKey);
    };
    const post = async (url: string, body: Record<string, string>, encoding: 'json' | 'form', headers: Record<string, string> = {}) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded', ...headers },
        body: encoding === 'json' ? JSON.stringify(body) : new URLSearchParams(body).toString(),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    const openAIExchange = async (token: string, overrides: Record<string, string> = {}, encoding: 'json' | 'form' = 'json') =>
      post(fakes.openai.federation.token_url!, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: token,
        identity_provider_id: fakes.openai.federation.identity_provider_id!,
        service_account_id: fakes.openai.federation.service_account_id!,
        ...overrides,
      }, encoding);
    const anthropicExchange = async (token: string) =>
      post(`${fakes.anthropic.baseURL}/v1/oauth/token`, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: token,
        federation_rule_id: fakes.anthropic.federation.federation_rule_id!,
        organization_id: fakes.anthropic.federation.organization_id!,
        service_account_id: fakes.anthropic.federation.service_account_id!,
      }, 'json');
    const googleAudience = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/gatehouse-pool/providers/gatehouse-oidc';
    const googleExchange = async (token: string, headers: Record<string, string> = {}) =>
      post(fakes.google.federation.sts_url!, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: googleAudience,
        scope: 'https://www.googleapis.com/auth/cloud-platform',
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: token,
      }, 'form', headers);
    const azureExchange = async (token: string) =>
      post(`${fakes.azure.federation.authority_url}/${fakes.azure.federation.tenant_id}/oauth2/v2.0/token`, {
        client_id: fakes.azure.federation.client_id!,
        scope: 'https://cognitiveservices.azure.com/.default',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: token,
        grant_type: 'client_credentials',
      }, 'form');

    it('openai accepts a valid token', async () => {
      const answer = await openAIExchange(await sign('https://api.openai.com/v1'));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.token_type, 'Bearer');
      assert.equal(answer.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    });

    it('openai ignores a trailing issuer slash', async () => {
      const answer = await openAIExchange(await sign('https://api.openai.com/v1', { claims: { iss: `${issuerURL(gatehouse.app.context)}/` } }));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    });

    it('openai rejects bad requests and tokens', async () => {
      const valid = await sign('https://api.openai.com/v1');
      const wrongAudience = await openAIExchange(await sign('https://example.com'));
      assert.equal(wrongAudience.status, 400);
      assert.equal(wrongAudience.body.error, 'invalid_grant');
      const missing = await openAIExchange(valid, { identity_provider_id: '' });
      assert.deepEqual(missing.body, { error: 'invalid_request', error_description: 'Missing required parameter: identity_provider_id.' });
      const form = await openAIExchange(valid, {}, 'form');
      assert.equal(form.body.error, 'invalid_request');
      const idType = await openAIExchange(valid, { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' });
      assert.equal(idType.body.error, 'invalid_request');
      const noKid = await openAIExchange(await sign('https://api.openai.com/v1', { header: { kid: undefined } }));
      assert.equal(noKid.body.error, 'invalid_grant');
      assert.match(String(noKid.body.error_description), /kid missing/);
    });

    it('anthropic rejects a reused jti', async () => {
      const token = await sign('https://api.anthropic.com');
      assert.equal((await anthropicExchange(token)).status, 200);
      const replay = await anthropicExchange(token);
      assert.deepEqual(replay, { status: 400, body: { error: 'invalid_grant', error_description: 'The assertion was rejected.' } });
    });

    it('anthropic compares the issuer byte for byte', async () => {
      const answer = await anthropicExchange(await sign('https://api.anthropic.com', { claims: { iss: `${issuerURL(gatehouse.app.context)}/` } }));
      assert.equal(answer.body.error, 'invalid_grant');
    });

    it('anthropic rejects long-lived and symmetric tokens', async () => {
      const long = await anthropicExchange(await sign('https://api.anthropic.com', { lifetime: 7200 }));
      assert.equal(long.body.error, 'invalid_grant');
      assert.match(fakes.anthropic.trust.rejections.at(-1)!, /token lifetime too long/);
      const hmac = await new SignJWT({ iss: issuerURL(gatehouse.app.context), sub: SUBJECT, aud: 'https://api.anthropic.com' })
        .setProtectedHeader({ alg: 'HS256', kid: 'x' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new Uint8Array(32));
      assert.equal((await anthropicExchange(hmac)).body.error, 'invalid_grant');
      assert.match(fakes.anthropic.trust.rejections.at(-1)!, /algorithm HS256 not accepted/);
    });

    it('anthropic allows 30 seconds of clock skew', async () => {
      const now = Math.floor(gatehouse.clock.now().getTime() / 1000);
      const skewed = await anthropicExchange(await sign('https://api.anthropic.com', { claims: { iat: now + 20, nbf: now + 20, exp: now + 320 } }));
      assert.equal(skewed.status, 200, JSON.stringify(skewed.body));
      const future = await anthropicExchange(await sign('https://api.anthropic.com', { claims: { iat: now + 60, nbf: now + 60, exp: now + 360 } }));
      assert.equal(future.body.error, 'invalid_grant');
    });

    it('google rejects an Authorization header', async () => {
      const answer = await googleExchange(await sign(googleAudience), { authorization: 'Bearer something' });
      assert.deepEqual(answer.body, { error: 'invalid_request', error_description: 'The token exchange must not carry an Authorization header.' });
    });

    it('google requires the pool provider audience', async () => {
      assert.equal((await googleExchange(await sign(googleAudience))).status, 200);
      assert.equal((await googleExchange(await sign(`https:${googleAudience}`))).status, 200);
      const other = await googleExchange(await sign('https://api.openai.com/v1'));
      assert.equal(other.body.error, 'invalid_grant');
      const long = await googleExchange(await sign(googleAudience, { lifetime: 25 * 3600 }));
      assert.equal(long.body.error, 'invalid_grant');
    });

    it('google impersonation needs the federated token', async () => {
      const url = `${fakes.google.federation.iam_credentials_url}/v1/projects/-/serviceAccounts/${encodeURIComponent(fakes.google.federation.service_account_email!)}:generateAccessToken`;
      const response = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' }, body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] }) });
      assert.equal(response.status, 401);
      assert.deepEqual(await response.json(), { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
    });

    it('azure accepts only RS256 and the exact subject', async () => {
      const valid = await azureExchange(await sign('api://AzureADTokenExchange'));
      assert.equal(valid.status, 200, JSON.stringify(valid.body));
      assert.equal(valid.body.expires_in, 3599);
      // Entra checks the algorithm before the signature, so a relabelled header is enough here.
      const [header, payload, signature] = (await sign('api://AzureADTokenExchange')).split('.');
      const relabelled = { ...(JSON.parse(Buffer.from(header!, 'base64url').toString()) as Record<string, unknown>), alg: 'RS384' };
      const rs384 = await azureExchange([Buffer.from(JSON.stringify(relabelled)).toString('base64url'), payload, signature].join('.'));
      assert.equal(rs384.body.error, 'invalid_client');
      assert.match(fakes.azure.trust.rejections.at(-1)!, /algorithm RS384 not accepted/);
      const subject = await azureExchange(await sign('api://AzureADTokenExchange', { claims: { sub: `${SUBJECT}-other` } }));
      assert.deepEqual(subject.body.error_codes, [70021]);
      const now = Math.floor(gatehouse.clock.now().getTime() / 1000);
      const expired = await azureExchange(await sign('api://AzureADTokenExchange', { claims: { iat: now - 600, nbf: now - 600, exp: now - 300 } }));
      assert.deepEqual(expired.body.error_codes, [700024]);
      assert.match(String(expired.body.error_description), /^AADSTS700024: /);
    });
  });
}
