import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { decodeProtectedHeader } from 'jose';

import { mintIdentityToken } from '../../src/issuer/identity-tokens.js';
import { PREPUBLISH_SECONDS, RETENTION_SECONDS } from '../../src/issuer/signing-keys.js';
import { databaseCases } from '../support/databases.js';
import { IssuerTrust } from '../support/fakes/issuer-trust.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

const DAY = 86_400;
const ROTATION = 30 * DAY;

for (const database of databaseCases) {
  suite(`federation issuer keys (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let issuer: string;

    const jwksKids = async (): Promise<string[]> => {
      const response = await fetch(`${issuer}/jwks.json`);
      assert.equal(response.status, 200);
      return ((await response.json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
    };
    const mint = () => mintIdentityToken(gatehouse.app.context, { subject: 'org:test:provider:test', audience: 'api://AzureADTokenExchange' });
    const azureLikeTrust = () =>
      new IssuerTrust({ issuer, issuerComparison: 'exact', algorithms: ['RS256'], jwksCacheSeconds: 0, refetchOnUnknownKid: true, clockToleranceSeconds: 0, maxLifetimeSeconds: 25 * 3600, now: gatehouse.clock.now });

    before(async () => {
      gatehouse = await startGatehouse(database, { deployment: 'hosted', issuerKeyRotationSeconds: ROTATION });
      issuer = `${gatehouse.url}/federation`;
    });
    after(async () => {
      await gatehouse?.close();
    });

    it('publishes a discovery document with the exact issuer', async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`);
      assert.equal(response.status, 200);
      const discovery = (await response.json()) as Record<string, unknown>;
      assert.equal(discovery.issuer, issuer);
      assert.equal(discovery.jwks_uri, `${issuer}/jwks.json`);
      assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);
      assert.ok(!String(discovery.issuer).endsWith('/'));
    });

    it('signs tokens with the claims providers require', async () => {
      const token = await mint();
      const header = decodeProtectedHeader(token);
      assert.equal(header.alg, 'RS256');
      assert.equal(header.typ, 'JWT');
      assert.deepEqual(await jwksKids(), [header.kid]);

      const claims = await azureLikeTrust().verify(token, ['api://AzureADTokenExchange']);
      assert.equal(claims.iss, issuer);
      assert.equal(claims.sub, 'org:test:provider:test');
      assert.equal(claims.exp! - claims.iat!, 300);
      assert.equal(claims.nbf, claims.iat);
      assert.match(String(claims.jti), /^[A-Za-z0-9_-]{22}$/);
      assert.notEqual((await azureLikeTrust().verify(await mint(), ['api://AzureADTokenExchange'])).jti, claims.jti);
    });

    it('publishes the JWKS without private key material', async () => {
      const response = await fetch(`${issuer}/jwks.json`);
      const keys = ((await response.json()) as { keys: Array<Record<string, unknown>> }).keys;
      assert.deepEqual(Object.keys(keys[0]!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
      assert.equal(keys[0]!.use, 'sig');
      const row = await gatehouse.app.context.store.db.selectFrom('issuer_signing_keys').selectAll().executeTakeFirstOrThrow();
      assert.ok(!row.private_key_sealed.includes('PRIVATE KEY'), 'no PEM in the stored key');
      assert.match(row.private_key_sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/, 'the stored key is an AES-GCM record');
      assert.equal(row.key_encryption_key_id, 'derived');
    });

    it('publishes the next key a day before it signs', async () => {
      const [first] = await jwksKids();
      gatehouse.clock.advance(ROTATION - PREPUBLISH_SECONDS - 60);
      assert.deepEqual(await jwksKids(), [first], 'no successor before the prepublication window');

      // The successor is created at the first request in the window and signs a full day later.
      gatehouse.clock.advance(60);
      const kids = await jwksKids();
      assert.equal(kids.length, 2);
      assert.equal(kids[0], first);
      const next = kids[1]!;
      assert.equal(decodeProtectedHeader(await mint()).kid, first, 'the published successor does not sign yet');

      gatehouse.clock.advance(PREPUBLISH_SECONDS - 10);
      const beforeRotation = await mint();
      assert.equal(decodeProtectedHeader(beforeRotation).kid, first);

      gatehouse.clock.advance(20);
      const afterRotation = await mint();
      assert.equal(decodeProtectedHeader(afterRotation).kid, next, 'the successor signs after the rotation time');

      const trust = azureLikeTrust();
      assert.equal((await trust.verify(beforeRotation, ['api://AzureADTokenExchange'])).sub, 'org:test:provider:test', 'a token signed just before rotation still verifies');
      assert.equal((await trust.verify(afterRotation, ['api://AzureADTokenExchange'])).sub, 'org:test:provider:test');
    });

    it('removes a retired key once its tokens have expired', async () => {
      const kids = await jwksKids();
      assert.equal(kids.length, 2);
      gatehouse.clock.advance(RETENTION_SECONDS - 60);
      assert.deepEqual(await jwksKids(), kids, 'kept while its tokens may be in use');
      gatehouse.clock.advance(120);
      assert.deepEqual(await jwksKids(), [kids[1]]);
    });
  });
}
