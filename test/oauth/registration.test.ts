import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { databaseCases } from '../support/databases.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`dynamic client registration (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;

    before(async () => {
      gatehouse = await startGatehouse(database);
    });
    after(async () => {
      await gatehouse?.close();
    });

    async function register(body: unknown): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
      const response = await fetch(`${gatehouse.url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
    }

    it('minimal body becomes a public client', async () => {
      const answer = await register({ redirect_uris: ['http://127.0.0.1:33418'], client_name: 'test' });
      assert.equal(answer.status, 201);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.match(String(answer.body.client_id), /^ghc_[A-Za-z0-9_-]{22}$/);
      assert.equal(typeof answer.body.client_id_issued_at, 'number');
      assert.deepEqual({ ...answer.body, client_id: 'x', client_id_issued_at: 0 }, {
        client_id: 'x',
        client_id_issued_at: 0,
        redirect_uris: ['http://127.0.0.1:33418'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_name: 'test',
      });
    });

    it('unknown members and empty logo are ignored', async () => {
      const answer = await register({
        redirect_uris: ['https://app.example/callback'],
        resource: 'https://elsewhere.example',
        logo_uri: '',
        application_type: 'native',
        software_id: 'vscode',
        software_version: '1.99',
        scope: 'gatehouse:read',
        jwks: { keys: [] },
      });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal('resource' in answer.body, false);
      assert.equal('logo_uri' in answer.body, false);
      assert.equal('jwks' in answer.body, false);
      assert.equal(answer.body.application_type, 'native');
      assert.equal(answer.body.software_id, 'vscode');
      assert.equal(answer.body.scope, 'gatehouse:read');
    });

    it('confidential client gets a secret with its expiry', async () => {
      const answer = await register({ redirect_uris: ['https://app.example/callback'], token_endpoint_auth_method: 'client_secret_basic' });
      assert.equal(answer.status, 201);
      assert.match(String(answer.body.client_secret), /^ghs_[A-Za-z0-9_-]{43}$/);
      assert.equal(answer.body.client_secret_expires_at, 0);
      assert.equal(answer.body.token_endpoint_auth_method, 'client_secret_basic');
      assert.ok(!JSON.stringify(answer.body).includes('null'), 'no null members');

      const stored = await gatehouse.app.context.store.db.selectFrom('oauth_clients').select('secret_hash').where('client_id', '=', String(answer.body.client_id)).executeTakeFirstOrThrow();
      assert.notEqual(stored.secret_hash, answer.body.client_secret, 'only a hash is stored');
    });

    it('loopback http and private-use schemes are accepted', async () => {
      const answer = await register({
        redirect_uris: ['http://localhost/callback', 'http://[::1]:8080/cb', 'cursor://anysphere.cursor-mcp/oauth/callback'],
      });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
    });

    for (const [uri, message] of [
      ['http://app.example/callback', 'must use https; plain http is allowed only for 127.0.0.1, [::1] and localhost.'],
      ['javascript:alert(1)', 'uses the scheme javascript:, which is not allowed.'],
      ['data:text/html,hi', 'uses the scheme data:, which is not allowed.'],
      ['file:///etc/passwd', 'uses the scheme file:, which is not allowed.'],
      ['https://app.example/cb#fragment', 'must not contain a fragment.'],
      ['/relative', 'is not an absolute URI.'],
    ] as const) {
      it(`redirect URI ${uri.slice(0, 24)} is rejected`, async () => {
        const answer = await register({ redirect_uris: ['https://ok.example/cb', uri] });
        assert.equal(answer.status, 400);
        assert.equal(answer.body.error, 'invalid_redirect_uri');
        assert.ok(String(answer.body.error_description).endsWith(message), String(answer.body.error_description));
        assert.ok(String(answer.body.error_description).includes(`"${uri}"`), 'the description names the offending URI');
      });
    }

    it('missing redirect_uris is invalid_redirect_uri', async () => {
      const answer = await register({ client_name: 'no redirects' });
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, { error: 'invalid_redirect_uri', error_description: 'redirect_uris is required: a JSON array of at least one redirect URI.' });
    });

    it('unsupported auth method is invalid_client_metadata', async () => {
      const answer = await register({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'private_key_jwt' });
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, {
        error: 'invalid_client_metadata',
        error_description: 'token_endpoint_auth_method "private_key_jwt" is not supported. Use one of: none, client_secret_post, client_secret_basic.',
      });
    });

    it('unsupported grant type is invalid_client_metadata', async () => {
      const answer = await register({ redirect_uris: ['https://app.example/cb'], grant_types: ['client_credentials'] });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error, 'invalid_client_metadata');
    });

    it('non-JSON body is invalid_request', async () => {
      const response = await fetch(`${gatehouse.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'redirect_uris=x' });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
    });

    it('rejected registration stores nothing', async () => {
      const before = await gatehouse.app.context.store.db.selectFrom('oauth_clients').select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
      await register({ redirect_uris: ['https://ok.example/cb', 'javascript:x'] });
      const after = await gatehouse.app.context.store.db.selectFrom('oauth_clients').select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
      assert.equal(Number(after.count), Number(before.count));
    });
  });
}

suite('dynamic client registration limit', databaseCases[0]!.skip, () => {
  it('third registration in the window gets 429', async () => {
    const gatehouse = await startGatehouse(databaseCases[0]!, { oauthRegistrationLimit: 2 });
    try {
      const register = () =>
        fetch(`${gatehouse.url}/oauth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:33418/callback'] }),
        });
      assert.equal((await register()).status, 201);
      assert.equal((await register()).status, 201);

      const limited = await register();
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '600');
      assert.equal(limited.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await limited.json(), {
        error: 'too_many_attempts',
        error_description: 'Too many client registrations from this address. Try again in 600 seconds.',
      });
      const clients = await gatehouse.app.context.store.db.selectFrom('oauth_clients').select('client_id').execute();
      assert.equal(clients.length, 2);
    } finally {
      await gatehouse.close();
    }
  });
});
