import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { authorizationURL, callTool, consent, obtainTokens, pkcePair, registerClient, signInAsNewMember, tokenRequest } from '../support/oauth.js';
import { suite } from '../support/skip.js';

const invalidGrant = { error: 'invalid_grant', error_description: 'The authorization code or refresh token is invalid, expired or revoked.' };
const invalidClient = { error: 'invalid_client', error_description: 'Client authentication failed.' };

for (const database of databaseCases) {
  suite(`token endpoint (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    const redirectURI = 'http://127.0.0.1:40000/callback';

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
    });
    after(async () => {
      await gatehouse?.close();
    });

    /** Registers a client with `method` and returns it with a fresh code and its verifier. */
    async function codeFor(method: 'none' | 'client_secret_post' | 'client_secret_basic' = 'none', scope?: string) {
      const client = await registerClient(gatehouse, { client_name: `Client ${method}`, redirect_uris: [redirectURI], token_endpoint_auth_method: method });
      const pkce = pkcePair();
      const callback = await consent(browser, authorizationURL(gatehouse, { clientId: client.client_id, redirectURI, challenge: pkce.challenge, ...(scope ? { scope } : {}) }), organizationId);
      return { client, code: callback.searchParams.get('code')!, verifier: pkce.verifier };
    }

    const codeForm = (grant: { client: { client_id: string }; code: string; verifier: string }, extra: Record<string, string> = {}) => ({
      grant_type: 'authorization_code',
      code: grant.code,
      code_verifier: grant.verifier,
      redirect_uri: redirectURI,
      client_id: grant.client.client_id,
      resource: `${gatehouse.url}/mcp`,
      ...extra,
    });

    const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });

    it('code exchange response shape', async () => {
      const grant = await codeFor();
      const answer = await tokenRequest(gatehouse, codeForm(grant));
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.equal(answer.headers.get('pragma'), 'no-cache');
      assert.deepEqual(Object.keys(answer.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
      assert.equal(answer.body.token_type, 'Bearer');
      assert.equal(answer.body.expires_in, 600);
      assert.equal(answer.body.scope, 'gatehouse:read');
      assert.ok(!answer.text.includes('null'));
    });

    it('Basic credentials without client_id in the body', async () => {
      const grant = await codeFor('client_secret_basic');
      const form = codeForm(grant);
      delete (form as Record<string, string>).client_id;
      const answer = await tokenRequest(gatehouse, form, basic(grant.client.client_id, grant.client.client_secret!));
      assert.equal(answer.status, 200, answer.text);
    });

    it('client_secret_post in the body', async () => {
      const grant = await codeFor('client_secret_post');
      const answer = await tokenRequest(gatehouse, codeForm(grant, { client_secret: grant.client.client_secret! }));
      assert.equal(answer.status, 200, answer.text);
    });

    it('Basic and body naming different clients', async () => {
      const grant = await codeFor('client_secret_basic');
      const answer = await tokenRequest(gatehouse, codeForm(grant, { client_id: 'ghc_someone_else' }), basic(grant.client.client_id, grant.client.client_secret!));
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, invalidClient);
      assert.equal(answer.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
    });

    it('secret in both header and body', async () => {
      const grant = await codeFor('client_secret_basic');
      const answer = await tokenRequest(gatehouse, codeForm(grant, { client_secret: grant.client.client_secret! }), basic(grant.client.client_id, grant.client.client_secret!));
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error, 'invalid_request');
    });

    it('wrong secret gets invalid_client', async () => {
      const grant = await codeFor('client_secret_post');
      const answer = await tokenRequest(gatehouse, codeForm(grant, { client_secret: 'ghs_wrong' }));
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, invalidClient);
      assert.equal(answer.headers.get('www-authenticate'), null);

      const basicAnswer = await tokenRequest(gatehouse, codeForm(grant), basic(grant.client.client_id, 'ghs_wrong'));
      assert.equal(basicAnswer.status, 401);
      assert.equal(basicAnswer.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
    });

    it('registered method is enforced', async () => {
      const confidential = await codeFor('client_secret_basic');
      const withoutSecret = await tokenRequest(gatehouse, codeForm(confidential));
      assert.equal(withoutSecret.status, 401);
      assert.deepEqual(withoutSecret.body, invalidClient);

      const publicClient = await codeFor('none');
      const withSecret = await tokenRequest(gatehouse, codeForm(publicClient, { client_secret: 'anything' }));
      assert.equal(withSecret.status, 401);
      assert.deepEqual(withSecret.body, invalidClient);
    });

    it('missing client_id gets invalid_client', async () => {
      const grant = await codeFor();
      const form = codeForm(grant);
      delete (form as Record<string, string>).client_id;
      const answer = await tokenRequest(gatehouse, form);
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, invalidClient);
    });

    it('replayed code revokes what it produced', async () => {
      const grant = await codeFor();
      const first = await tokenRequest(gatehouse, codeForm(grant));
      assert.equal(first.status, 200);
      assert.equal((await callTool(gatehouse, String(first.body.access_token), 'whoami')).status, 200);

      const replay = await tokenRequest(gatehouse, codeForm(grant));
      assert.equal(replay.status, 400);
      assert.deepEqual(replay.body, invalidGrant);
      assert.equal((await callTool(gatehouse, String(first.body.access_token), 'whoami')).status, 401, 'the first access token is revoked');
      const refresh = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token), client_id: grant.client.client_id });
      assert.equal(refresh.status, 400);
      assert.deepEqual(refresh.body, invalidGrant);
    });

    it('one code redeemed twice at once', async () => {
      const grant = await codeFor();
      const answers = await Promise.all([tokenRequest(gatehouse, codeForm(grant)), tokenRequest(gatehouse, codeForm(grant))]);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400]);
      const winner = answers.find((answer) => answer.status === 200)!;
      const loser = answers.find((answer) => answer.status === 400)!;
      assert.deepEqual(loser.body, invalidGrant);
      assert.equal((await callTool(gatehouse, String(winner.body.access_token), 'whoami')).status, 401, 'the replay revoked the winner too');
      const grants = await gatehouse.app.context.store.db.selectFrom('oauth_grants').select('revoked_at').where('client_id', '=', grant.client.client_id).execute();
      assert.equal(grants.length, 1, 'exactly one grant was created');
      assert.notEqual(grants[0]!.revoked_at, null);
    });

    it('expired code gets invalid_grant', async () => {
      const grant = await codeFor();
      gatehouse.clock.advance(61);
      const answer = await tokenRequest(gatehouse, codeForm(grant));
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, invalidGrant);
    });

    it('wrong PKCE verifier gets invalid_grant', async () => {
      const grant = await codeFor();
      const answer = await tokenRequest(gatehouse, codeForm(grant, { code_verifier: pkcePair().verifier }));
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, invalidGrant);
      const retry = await tokenRequest(gatehouse, codeForm(grant));
      assert.equal(retry.status, 200, 'a failed verifier does not burn the code');
    });

    it('missing PKCE verifier gets invalid_request', async () => {
      const grant = await codeFor();
      const form = codeForm(grant);
      delete (form as Record<string, string>).code_verifier;
      const answer = await tokenRequest(gatehouse, form);
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, { error: 'invalid_request', error_description: 'code_verifier is required: this server requires PKCE.' });
    });

    it('different redirect_uri gets invalid_grant', async () => {
      const grant = await codeFor();
      const answer = await tokenRequest(gatehouse, codeForm(grant, { redirect_uri: 'http://127.0.0.1:40001/callback' }));
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, invalidGrant);
    });

    it('different resource gets invalid_target', async () => {
      const grant = await codeFor();
      const answer = await tokenRequest(gatehouse, codeForm(grant, { resource: 'https://other.example/mcp' }));
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, { error: 'invalid_target', error_description: 'The resource differs from the one in the authorization request.' });
    });

    it('code of another client gets invalid_grant', async () => {
      const grant = await codeFor();
      const other = await registerClient(gatehouse, { redirect_uris: [redirectURI] });
      const answer = await tokenRequest(gatehouse, codeForm(grant, { client_id: other.client_id }));
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, invalidGrant);
    });

    it('unsupported and missing grant types', async () => {
      const client = await registerClient(gatehouse, { redirect_uris: [redirectURI] });
      const unsupported = await tokenRequest(gatehouse, { grant_type: 'client_credentials', client_id: client.client_id });
      assert.equal(unsupported.status, 400);
      assert.deepEqual(unsupported.body, { error: 'unsupported_grant_type', error_description: 'The grant type "client_credentials" is not supported. Use authorization_code or refresh_token.' });

      const missing = await tokenRequest(gatehouse, { client_id: client.client_id });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body, { error: 'invalid_request', error_description: 'grant_type is required.' });
    });

    it('refresh by a client without the grant type', async () => {
      const client = await registerClient(gatehouse, { redirect_uris: [redirectURI], grant_types: ['authorization_code'] });
      const answer = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: 'ghr_anything', client_id: client.client_id });
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, { error: 'unauthorized_client', error_description: 'The client is not registered for the refresh_token grant.' });
    });

    it('code exchange without refresh grant type issues no refresh token', async () => {
      const client = await registerClient(gatehouse, { redirect_uris: [redirectURI], grant_types: ['authorization_code'] });
      const pkce = pkcePair();
      const callback = await consent(browser, authorizationURL(gatehouse, { clientId: client.client_id, redirectURI, challenge: pkce.challenge }), organizationId);
      const answer = await tokenRequest(gatehouse, codeForm({ client, code: callback.searchParams.get('code')!, verifier: pkce.verifier }));
      assert.equal(answer.status, 200, answer.text);
      assert.equal('refresh_token' in answer.body, false);
    });

    it('JSON body gets invalid_request', async () => {
      const response = await fetch(`${gatehouse.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'refresh_token' }) });
      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), { error: 'invalid_request', error_description: 'The body must be application/x-www-form-urlencoded.' });
    });

    it('refresh rotates and keeps the grant scope', async () => {
      const grant = await codeFor('none', 'gatehouse:read gatehouse:write');
      const first = await tokenRequest(gatehouse, codeForm(grant));
      const refreshed = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token), client_id: grant.client.client_id, resource: `${gatehouse.url}/mcp` });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal(refreshed.headers.get('cache-control'), 'no-store');
      assert.notEqual(refreshed.body.refresh_token, first.body.refresh_token);
      assert.equal(refreshed.body.scope, 'gatehouse:read gatehouse:write');
      assert.equal((await callTool(gatehouse, String(refreshed.body.access_token), 'whoami')).status, 200);
    });

    it('refresh may narrow but not widen the scope', async () => {
      const grant = await codeFor('none', 'gatehouse:read gatehouse:write');
      const first = await tokenRequest(gatehouse, codeForm(grant));
      const narrowed = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token), client_id: grant.client.client_id, scope: 'gatehouse:read' });
      assert.equal(narrowed.status, 200, narrowed.text);
      assert.equal(narrowed.body.scope, 'gatehouse:read');
      const write = await callTool(gatehouse, String(narrowed.body.access_token), 'create_project', { organization_id: organizationId, name: 'Narrow' });
      assert.equal(write.status, 403);

      const readOnly = await codeFor('none', 'gatehouse:read');
      const readTokens = await tokenRequest(gatehouse, codeForm(readOnly));
      const widened = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: String(readTokens.body.refresh_token), client_id: readOnly.client.client_id, scope: 'gatehouse:read gatehouse:write' });
      assert.equal(widened.status, 400);
      assert.deepEqual(widened.body, { error: 'invalid_scope', error_description: 'A refresh request may only ask for scopes of the original grant.' });
    });

    it('reused refresh token revokes the family', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const rotated = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
      assert.equal(rotated.status, 200);

      const reused = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
      assert.equal(reused.status, 400);
      assert.deepEqual(reused.body, invalidGrant);

      assert.equal((await callTool(gatehouse, String(rotated.body.access_token), 'whoami')).status, 401);
      const next = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: String(rotated.body.refresh_token), client_id: tokens.clientId });
      assert.equal(next.status, 400);
      assert.deepEqual(next.body, invalidGrant);
    });

    it('one refresh token used twice at once', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const form = { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId };
      const answers = await Promise.all([tokenRequest(gatehouse, form), tokenRequest(gatehouse, form)]);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400]);
      const winner = answers.find((answer) => answer.status === 200)!;
      assert.deepEqual(answers.find((answer) => answer.status === 400)!.body, invalidGrant);
      assert.equal((await callTool(gatehouse, String(winner.body.access_token), 'whoami')).status, 401, 'the family is revoked');
      const tokensLeft = await gatehouse.app.context.store.db
        .selectFrom('oauth_tokens')
        .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_tokens.grant_id')
        .select('oauth_tokens.token_hash')
        .where('oauth_grants.client_id', '=', tokens.clientId)
        .execute();
      assert.equal(tokensLeft.length, 0);
    });

    it('refresh of another client gets invalid_grant', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const other = await registerClient(gatehouse, { redirect_uris: [redirectURI] });
      const answer = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: other.client_id });
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, invalidGrant);
      const own = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
      assert.equal(own.status, 200, 'the failed attempt did not burn the token');
    });

    it('refresh after removal from the organization fails', async () => {
      const member = await signInAsNewMember(gatehouse, organizationId, `frank-${database.name}@example.com`, 'viewers');
      const tokens = await obtainTokens(gatehouse, member.browser, organizationId);
      const { removeMember } = await import('../../src/model/remove-member.js');
      await removeMember(gatehouse.app.context, organizationId, member.userId);
      const answer = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, invalidGrant);
    });

    it('revoking an access token ends only that token', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const revoked = await tokenRequest(gatehouse, { token: tokens.accessToken, token_type_hint: 'access_token', client_id: tokens.clientId }, {}, '/oauth/revoke');
      assert.equal(revoked.status, 200);
      assert.equal(revoked.text, '');
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 401);
      const refreshed = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
      assert.equal(refreshed.status, 200);
    });

    it('revoking a refresh token ends the grant', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const revoked = await tokenRequest(gatehouse, { token: tokens.refreshToken, client_id: tokens.clientId }, {}, '/oauth/revoke');
      assert.equal(revoked.status, 200);
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 401);
      const refreshed = await tokenRequest(gatehouse, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
      assert.equal(refreshed.status, 400);
    });

    it('revoking unknown or foreign tokens changes nothing', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const other = await registerClient(gatehouse, { redirect_uris: [redirectURI] });
      const foreign = await tokenRequest(gatehouse, { token: tokens.refreshToken, client_id: other.client_id }, {}, '/oauth/revoke');
      assert.equal(foreign.status, 200);
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 200, 'another client cannot revoke it');

      const unknown = await tokenRequest(gatehouse, { token: 'ghr_unknown', client_id: tokens.clientId }, {}, '/oauth/revoke');
      assert.equal(unknown.status, 200);
    });

    it('revocation requires client authentication', async () => {
      const tokens = await obtainTokens(gatehouse, browser, organizationId);
      const answer = await tokenRequest(gatehouse, { token: tokens.refreshToken }, {}, '/oauth/revoke');
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, invalidClient);
      assert.equal((await callTool(gatehouse, tokens.accessToken, 'whoami')).status, 200);
    });

    it('tokens and secrets stay out of the log', async () => {
      const grant = await codeFor('client_secret_post');
      const answer = await tokenRequest(gatehouse, codeForm(grant, { client_secret: grant.client.client_secret! }));
      const logs = gatehouse.logs.join('\n');
      for (const secret of [grant.code, grant.verifier, grant.client.client_secret!, String(answer.body.access_token), String(answer.body.refresh_token)]) {
        assert.ok(!logs.includes(secret), 'a secret reached the log');
      }
    });
  });
}
