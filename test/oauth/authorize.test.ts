import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { authorizationURL, consent, pkcePair, registerClient, startDocumentServer } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`authorization endpoint (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    let clientId: string;
    let documents: Awaited<ReturnType<typeof startDocumentServer>>;
    const redirectURI = 'http://127.0.0.1:33418/callback';
    const pkce = pkcePair();
    const url = (overrides: Record<string, string | undefined> = {}, input: { clientId?: string; redirectURI?: string } = {}) =>
      authorizationURL(gatehouse, { clientId: input.clientId ?? clientId, redirectURI: input.redirectURI ?? redirectURI, challenge: pkce.challenge }, overrides);

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
      clientId = (await registerClient(gatehouse, { client_name: 'Claude Code', redirect_uris: [redirectURI, 'https://app.example/cb'] })).client_id;
      documents = await startDocumentServer();
    });
    after(async () => {
      await documents?.close();
      await gatehouse?.close();
    });

    /** Requests an authorization URL with the signed-in browser and returns the redirect to the client. */
    async function clientRedirect(authorizeURL: string): Promise<URL> {
      const response = await browser.request(authorizeURL);
      assert.equal(response.status, 303, await response.text());
      return new URL(response.headers.get('location')!);
    }

    it('no session redirects to sign-in with return_to', async () => {
      const authorizeURL = url();
      const response = await fetch(authorizeURL, { redirect: 'manual' });
      assert.equal(response.status, 303);
      const path = authorizeURL.slice(gatehouse.url.length);
      assert.equal(response.headers.get('location'), `/signin?return_to=${encodeURIComponent(path)}`);
    });

    it('consent page names the client and warns', async () => {
      const response = await browser.request(url());
      const body = await response.text();
      assert.equal(response.status, 200, body);
      assert.match(body, /<strong id="client-name">Claude Code<\/strong> wants to act as you/);
      assert.match(body, /<strong id="redirect-host">127\.0\.0\.1:33418<\/strong>/);
      assert.match(body, /This application registered itself/);
      assert.match(body, /Access goes to a program on this computer/);
      assert.match(body, /<li>See your profile, the organization and its projects<\/li>/);
      assert.equal(
        response.headers.get('content-security-policy'),
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http://127.0.0.1:33418; frame-ancestors 'none'; base-uri 'none'",
      );
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
    });

    it('private-use scheme redirect is allowed by the CSP', async () => {
      const cursor = await registerClient(gatehouse, { client_name: 'Cursor', redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'] });
      const response = await browser.request(url({}, { clientId: cursor.client_id, redirectURI: 'cursor://anysphere.cursor-mcp/oauth/callback' }));
      const body = await response.text();
      assert.equal(response.status, 200, body);
      assert.match(body, /<strong id="redirect-host">cursor:\/\/anysphere\.cursor-mcp<\/strong>/);
      assert.match(response.headers.get('content-security-policy') ?? '', /form-action 'self' cursor:;/);

      const callback = await consent(browser, url({}, { clientId: cursor.client_id, redirectURI: 'cursor://anysphere.cursor-mcp/oauth/callback' }), organizationId);
      assert.equal(callback.protocol, 'cursor:');
      assert.ok(callback.searchParams.get('code'));
      assert.equal(callback.searchParams.get('iss'), gatehouse.url);
    });

    it('allow redirects with code, state and iss', async () => {
      const callback = await consent(browser, url({ state: 'xyz' }), organizationId);
      assert.equal(callback.origin + callback.pathname, redirectURI);
      assert.match(callback.searchParams.get('code') ?? '', /^ghcode_/);
      assert.equal(callback.searchParams.get('state'), 'xyz');
      assert.equal(callback.searchParams.get('iss'), gatehouse.url);
    });

    it('deny redirects with access_denied and iss', async () => {
      const callback = await consent(browser, url({ state: 'no' }), organizationId, 'deny');
      assert.equal(callback.searchParams.get('error'), 'access_denied');
      assert.equal(callback.searchParams.get('state'), 'no');
      assert.equal(callback.searchParams.get('iss'), gatehouse.url);
      assert.equal(callback.searchParams.get('code'), null);
    });

    it('loopback redirect with another port is accepted', async () => {
      const callback = await consent(browser, url({}, { redirectURI: 'http://127.0.0.1:59656/callback' }), organizationId);
      assert.equal(callback.origin, 'http://127.0.0.1:59656');
      assert.ok(callback.searchParams.get('code'));
    });

    for (const [label, candidate] of [
      ['localhost for 127.0.0.1', 'http://localhost:33418/callback'],
      ['another path', 'http://127.0.0.1:33418/other'],
      ['https with another host', 'https://evil.example/cb'],
      ['https with another port', 'https://app.example:8443/cb'],
    ] as const) {
      it(`unregistered redirect (${label}) is shown, not followed`, async () => {
        const response = await browser.request(url({}, { redirectURI: candidate }));
        const body = await response.text();
        assert.equal(response.status, 400);
        assert.equal(response.headers.get('location'), null);
        assert.match(body, /The redirect_uri is not registered for this application/);
      });
    }

    it('unknown client is shown, not followed', async () => {
      const response = await browser.request(url({}, { clientId: 'ghc_unknown' }));
      assert.equal(response.status, 400);
      assert.equal(response.headers.get('location'), null);
      assert.match(await response.text(), /not registered with Gatehouse \(unknown client_id\)/);
    });

    it('repeated parameter is shown, not followed', async () => {
      const response = await browser.request(`${url()}&state=second`);
      assert.equal(response.status, 400);
      assert.match(await response.text(), /The parameter state was sent more than once/);
    });

    for (const [label, overrides, code, description] of [
      ['missing PKCE', { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request', 'code_challenge is required: this server requires PKCE with S256.'],
      ['plain PKCE', { code_challenge_method: 'plain' }, 'invalid_request', 'code_challenge_method must be S256.'],
      ['token response type', { response_type: 'token' }, 'unsupported_response_type', 'Only response_type=code is supported.'],
      ['unknown scope', { scope: 'gatehouse:read admin' }, 'invalid_scope', 'Unknown scope "admin". Supported scopes: gatehouse:read, gatehouse:write.'],
      ['other resource', { resource: 'https://other.example/mcp' }, 'invalid_target', 'The resource must be one of RESOURCE, API.'],
      ['resource with fragment', { resource: 'https://other.example/mcp#x' }, 'invalid_target', 'The resource must not contain a fragment.'],
      ['prompt none', { prompt: 'none' }, 'consent_required', 'Gatehouse always asks for consent; retry without prompt=none.'],
    ] as const) {
      it(`${label} is sent back as ${code}`, async () => {
        const callback = await clientRedirect(url({ state: 's1', ...overrides }));
        assert.equal(callback.origin + callback.pathname, redirectURI);
        assert.equal(callback.searchParams.get('error'), code);
        assert.equal(callback.searchParams.get('error_description'), description.replace('RESOURCE', `${gatehouse.url}/mcp`).replace('API', `${gatehouse.url}/v1`));
        assert.equal(callback.searchParams.get('state'), 's1');
        assert.equal(callback.searchParams.get('iss'), gatehouse.url);
      });
    }

    it('offline_access and prompt=consent are tolerated', async () => {
      const response = await browser.request(url({ scope: 'gatehouse:read offline_access', prompt: 'consent' }));
      const body = await response.text();
      assert.equal(response.status, 200, body);
      assert.match(body, /<ul id="scopes"><li>See your profile, the organization and its projects<\/li><\/ul>/, 'offline_access is not listed');
    });

    it('registration scope does not limit later requests', async () => {
      const narrow = await registerClient(gatehouse, { redirect_uris: [redirectURI], scope: 'gatehouse:read' });
      const response = await browser.request(url({ scope: 'gatehouse:read gatehouse:write' }, { clientId: narrow.client_id }));
      const body = await response.text();
      assert.equal(response.status, 200, body);
      assert.match(body, /<li>Create projects in the organization, where your permission group allows it<\/li>/);
    });

    it('resource with uppercase host is accepted', async () => {
      const resource = `${gatehouse.url.replace('localhost', 'LOCALHOST')}/mcp`;
      const response = await browser.request(url({ resource }));
      assert.equal(response.status, 200);
    });

    it('consent without CSRF token is rejected', async () => {
      const page = await browser.follow(url());
      const form = readForm(page.body, '/oauth/authorize');
      const answered = await browser.request(`${gatehouse.url}/oauth/authorize`, {
        form: { ...form.fields, csrf_token: '0'.repeat(64), organization_id: organizationId },
        headers: { origin: gatehouse.url },
      });
      assert.equal(answered.status, 403);
      assert.equal(answered.headers.get('location'), null);
    });

    it('consent posted from another site is rejected', async () => {
      const page = await browser.follow(url());
      const form = readForm(page.body, '/oauth/authorize');
      const answered = await browser.request(`${gatehouse.url}/oauth/authorize`, {
        form: { ...form.fields, organization_id: organizationId },
        headers: { origin: 'https://evil.example' },
      });
      assert.equal(answered.status, 403);
      assert.equal(answered.headers.get('location'), null);
    });

    it('consent for a foreign organization is rejected', async () => {
      const page = await browser.follow(url());
      const form = readForm(page.body, '/oauth/authorize');
      const answered = await browser.request(`${gatehouse.url}/oauth/authorize`, {
        form: { ...form.fields, organization_id: 'org_other' },
        headers: { origin: gatehouse.url },
      });
      assert.equal(answered.status, 403);
      assert.equal(answered.headers.get('location'), null);
    });

    it('metadata document client is fetched once and cached', async () => {
      const documentURL = `${documents.origin}/tool.json`;
      documents.serve('/tool.json', {
        body: JSON.stringify({ client_id: documentURL, client_name: 'Doc Tool', redirect_uris: ['http://localhost/callback'] }),
        headers: { 'cache-control': 'max-age=600' },
      });
      const first = await browser.request(url({}, { clientId: documentURL, redirectURI: 'http://localhost:49567/callback' }));
      const body = await first.text();
      assert.equal(first.status, 200, body);
      assert.match(body, /<strong id="client-name">Doc Tool<\/strong>/);
      assert.match(body, /identified by <strong>127\.0\.0\.1:\d+<\/strong>/);

      const second = await browser.request(url({}, { clientId: documentURL, redirectURI: 'http://localhost:49568/callback' }));
      assert.equal(second.status, 200);
      assert.equal(documents.requests.filter((path) => path === '/tool.json').length, 1, 'the second request used the cache');

      gatehouse.clock.advance(601);
      const third = await browser.request(url({}, { clientId: documentURL, redirectURI: 'http://localhost:49569/callback' }));
      assert.equal(third.status, 200);
      assert.equal(documents.requests.filter((path) => path === '/tool.json').length, 2, 'an expired cache entry is fetched again');
    });

    for (const [label, path, response, message] of [
      ['client_id mismatch', '/mismatch.json', { body: JSON.stringify({ client_id: 'https://other.example/client.json', client_name: 'X', redirect_uris: ['http://localhost/cb'] }) }, 'names a different client_id than its URL'],
      ['redirect', '/moved.json', { status: 302, body: '', headers: { location: '/tool.json' } }, 'returned HTTP 302 (redirects are not followed)'],
      ['not JSON', '/html.json', { body: '<html></html>' }, 'is not valid JSON'],
      ['no client_name', '/nameless.json', { body: JSON.stringify({ client_id: 'SELF', redirect_uris: ['http://localhost/cb'] }) }, 'has no client_name'],
      ['secret auth method', '/secret.json', { body: JSON.stringify({ client_id: 'SELF', client_name: 'X', redirect_uris: ['http://localhost/cb'], token_endpoint_auth_method: 'client_secret_post' }) }, 'is not supported. Use one of: none.'],
      ['oversized', '/large.json', { body: JSON.stringify({ client_id: 'SELF', client_name: 'x'.repeat(20_000), redirect_uris: ['http://localhost/cb'] }) }, 'is larger than 16 KB'],
    ] as const) {
      it(`metadata document with ${label} is rejected`, async () => {
        const documentURL = `${documents.origin}${path}`;
        documents.serve(path, { ...response, body: response.body.replaceAll('SELF', documentURL) });
        const answer = await browser.request(url({}, { clientId: documentURL, redirectURI: 'http://localhost:5000/cb' }));
        const body = await answer.text();
        assert.equal(answer.status, 400);
        assert.equal(answer.headers.get('location'), null);
        assert.ok(body.includes(message), body);
      });
    }

    it('slow metadata document times out', async () => {
      const documentURL = `${documents.origin}/slow.json`;
      documents.serve('/slow.json', {
        body: JSON.stringify({ client_id: documentURL, client_name: 'Slow', redirect_uris: ['http://localhost/cb'] }),
        delayMilliseconds: 6000,
      });
      const started = Date.now();
      const answer = await browser.request(url({}, { clientId: documentURL, redirectURI: 'http://localhost:5000/cb' }));
      const body = await answer.text();
      assert.equal(answer.status, 400);
      assert.ok(body.includes('The URL did not answer within 5 s.'), body);
      assert.ok(Date.now() - started < 5900, 'Gatehouse gave up before the document arrived');
    });

    it('metadata document redirect outside its list is rejected', async () => {
      const documentURL = `${documents.origin}/strict.json`;
      documents.serve('/strict.json', { body: JSON.stringify({ client_id: documentURL, client_name: 'Strict', redirect_uris: ['https://strict.example/cb'] }) });
      const answer = await browser.request(url({}, { clientId: documentURL, redirectURI: 'https://evil.example/cb' }));
      assert.equal(answer.status, 400);
      assert.match(await answer.text(), /The redirect_uri is not registered/);
    });
  });

  suite(`metadata documents without the loopback setting (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let documents: Awaited<ReturnType<typeof startDocumentServer>>;

    before(async () => {
      gatehouse = await startGatehouse(database, { allowLoopbackFetch: false });
      browser = new BrowserClient();
      await setupOrganization(browser, gatehouse);
      documents = await startDocumentServer();
    });
    after(async () => {
      await documents?.close();
      await gatehouse?.close();
    });

    it('http loopback client_id is rejected', async () => {
      const documentURL = `${documents.origin}/tool.json`;
      documents.serve('/tool.json', { body: JSON.stringify({ client_id: documentURL, client_name: 'Doc Tool', redirect_uris: ['http://localhost/callback'] }) });
      const answer = await browser.request(authorizationURL(gatehouse, { clientId: documentURL, redirectURI: 'http://localhost:5000/callback', challenge: pkcePair().challenge }));
      assert.equal(answer.status, 400);
      assert.match(await answer.text(), /A client_id URL must use https/);
      assert.equal(documents.requests.length, 0, 'nothing was fetched');
    });

    it('https client_id on a private address is rejected', async () => {
      const answer = await browser.request(authorizationURL(gatehouse, { clientId: 'https://127.0.0.1:9/tool.json', redirectURI: 'http://localhost:5000/callback', challenge: pkcePair().challenge }));
      assert.equal(answer.status, 400);
      assert.match(await answer.text(), /resolves to a private or reserved address/);
    });
  });
}
