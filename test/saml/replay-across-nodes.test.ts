import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';

import { createOrganization } from '../../src/model/organizations.js';
import { createSAMLConnection } from '../../src/sso/saml/connections.js';
import { acsURL, spEntityId } from '../../src/sso/saml/service-provider.js';
import type { SAMLConnection } from '../../src/db/schema.js';
import { BrowserClient } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { buildResponse, encodeResponse, signAssertion, signResponse, testIdPKeys } from '../support/saml-idp.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`SAML replay across nodes (${database.name})`, database.skip, () => {
    let first: TestGatehouse;
    let second: TestGatehouse;
    let connection: SAMLConnection;
    let idp: Awaited<ReturnType<typeof testIdPKeys>>;

    before(async () => {
      const secret = randomBytes(32);
      first = await startGatehouse(database, { secret });
      second = await startGatehouse(database, { secret }, first);
      idp = await testIdPKeys();
      const { context } = first.app;
      const organizationId = (await createOrganization(context.store.db, { name: 'Acme', plan: 'enterprise', now: new Date() })).organization.id;
      connection = await createSAMLConnection(context, organizationId, {
        name: 'Portal', preset: 'okta', domains: 'example.com', metadataXML: '', metadataURL: '', entityId: 'https://idp.example.test/entity',
        ssoURL: 'https://idp.example.test/sso', ssoBinding: 'redirect', certificates: idp.certificatePem, signaturePolicy: '', allowSHA1: false,
        allowIdPInitiated: true, signRequests: false, extraAudiences: '', clockSkewSeconds: '', attributeEmail: '', attributeFirstName: '',
        attributeLastName: '', attributeGroups: '', groupMappings: '',
      });
    });
    after(async () => {
      await second?.close();
      await first?.close();
    });

    it('rejects at one node an assertion already used at another', async () => {
      // The test nodes listen on different ports; the response names the first node's ACS URL.
      const xml = signResponse(
        signAssertion(
          buildResponse({
            idpEntityId: connection.idp_entity_id,
            acsURL: acsURL(first.app.context, connection),
            audience: spEntityId(first.app.context, connection),
            nameId: 'alice@example.com',
            attributes: { email: ['alice@example.com'] },
          }),
          idp,
        ),
        idp,
      );
      const body = { SAMLResponse: encodeResponse(xml) };
      const accepted = await new BrowserClient().request(`${first.url}/saml/${connection.id}/acs`, { form: body });
      assert.equal(accepted.status, 200);
      assert.match(await accepted.text(), /Continue as alice@example\.com/);

      // The second node is configured with the first node's public URL, as nodes behind one load balancer are.
      second.app.context.config.publicUrl = first.url;
      const replayed = await new BrowserClient().request(`${second.url}/saml/${connection.id}/acs`, { form: body });
      assert.equal(replayed.status, 400);
      assert.match(await replayed.text(), /This SAML assertion was already used/);
    });
  });
}
