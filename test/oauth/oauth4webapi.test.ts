import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import * as oauth from 'oauth4webapi';

import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { callTool, consent } from '../support/oauth.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`strict standards client (oauth4webapi, ${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let browser: BrowserClient;
    let organizationId: string;
    // oauth4webapi rejects plain http unless this option is set, and the test server runs on loopback http.
    const insecure = { [oauth.allowInsecureRequests]: true } as const;

    before(async () => {
      gatehouse = await startGatehouse(database);
      browser = new BrowserClient();
      organizationId = await setupOrganization(browser, gatehouse);
    });
    after(async () => {
      await gatehouse?.close();
    });

    for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
      it(`discovery, registration, code, refresh and revocation with ${method}`, async () => {
        const resourceURL = new URL(`${gatehouse.url}/mcp`);
        const resource = await oauth.processResourceDiscoveryResponse(resourceURL, await oauth.resourceDiscoveryRequest(resourceURL, insecure));
        assert.equal(resource.resource, resourceURL.href);
        const issuer = new URL(resource.authorization_servers![0]!);

        // processDiscoveryResponse rejects metadata whose issuer differs from the URL it was asked for.
        const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
        assert.equal(as.issuer, resource.authorization_servers![0]);

        const redirectURI = 'http://127.0.0.1:41000/callback';
        const registered = await oauth.processDynamicClientRegistrationResponse(
          await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [redirectURI], client_name: `oauth4webapi ${method}`, token_endpoint_auth_method: method }, insecure),
        );
        const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: method };
        let clientAuth = oauth.None();
        if (method === 'client_secret_basic') clientAuth = oauth.ClientSecretBasic(String(registered.client_secret));
        if (method === 'client_secret_post') clientAuth = oauth.ClientSecretPost(String(registered.client_secret));

        const verifier = oauth.generateRandomCodeVerifier();
        const state = oauth.generateRandomState();
        const authorizeURL = new URL(as.authorization_endpoint!);
        authorizeURL.search = new URLSearchParams({
          response_type: 'code',
          client_id: client.client_id,
          redirect_uri: redirectURI,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          scope: 'gatehouse:read',
          resource: resourceURL.href,
        }).toString();
        const callback = await consent(browser, authorizeURL.href, organizationId);

        // validateAuthResponse checks iss, because the metadata announces it (RFC 9207).
        const parameters = oauth.validateAuthResponse(as, client, callback, state);
        const codeResponse = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, parameters, redirectURI, verifier, {
          additionalParameters: { resource: resourceURL.href },
          ...insecure,
        });
        const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse);
        assert.equal(tokens.token_type, 'bearer');
        assert.equal(tokens.scope, 'gatehouse:read');
        assert.equal((await callTool(gatehouse, tokens.access_token, 'whoami')).status, 200);

        const refreshed = await oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, { additionalParameters: { resource: resourceURL.href }, ...insecure }),
        );
        assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
        assert.equal((await callTool(gatehouse, refreshed.access_token, 'whoami')).status, 200);

        await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token!, insecure));
        assert.equal((await callTool(gatehouse, refreshed.access_token, 'whoami')).status, 401);

        const afterRevocation = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, insecure);
        await assert.rejects(oauth.processRefreshTokenResponse(as, client, afterRevocation), (error: unknown) => {
          assert.ok(error instanceof oauth.ResponseBodyError);
          assert.equal(error.error, 'invalid_grant');
          assert.equal(error.status, 400);
          return true;
        });
      });
    }

    it('error response carries iss that validates', async () => {
      const issuer = new URL(gatehouse.url);
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
      const redirectURI = 'http://127.0.0.1:41000/callback';
      const registered = await oauth.processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [redirectURI] }, insecure));
      const client: oauth.Client = { client_id: registered.client_id };
      const callback = await consent(
        browser,
        `${as.authorization_endpoint}?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectURI, code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256', state: 'denied' })}`,
        organizationId,
        'deny',
      );
      assert.throws(() => oauth.validateAuthResponse(as, client, callback, 'denied'), (error: unknown) => {
        assert.ok(error instanceof oauth.AuthorizationResponseError);
        assert.equal(error.error, 'access_denied');
        return true;
      });
    });
  });
}
