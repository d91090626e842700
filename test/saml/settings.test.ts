import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';

import { setPlan } from '../../src/model/organizations.js';
import { findSAMLConnection } from '../../src/sso/saml/connections.js';
import { acsURL, spEntityId } from '../../src/sso/saml/service-provider.js';
import { generateSPCredentials } from '../../src/sso/saml/sp-credentials.js';
import { buildResponse, encodeResponse, requestIdFromRedirect, signAssertion, signResponse } from '../support/saml-idp.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization, tableCounts } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

function fieldError(body: string, field: string): string | undefined {
  return new RegExp(`<p class="error" id="field-${field}-error" role="alert">([^<]*)</p>`).exec(body)?.[1];
}

for (const database of databaseCases) {
  suite(`SAML connection settings (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let owner: BrowserClient;
    let organizationId: string;
    let metadataServer: Server;
    let metadataURL: string;
    let certificate: string;
    let idpKeys: Awaited<ReturnType<typeof generateSPCredentials>>;

    before(async () => {
      gatehouse = await startGatehouse(database);
      owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse, { organization: 'Acme', name: 'Owner', email: 'owner@acme.test' });
      idpKeys = await generateSPCredentials('Metadata IdP', new Date(Date.now() - 60_000));
      certificate = idpKeys.certificatePem;
      const body = certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
      const xml = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.test/entity"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
      metadataServer = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/xml' }).end(xml));
      await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
      metadataURL = `http://127.0.0.1:${(metadataServer.address() as AddressInfo).port}/metadata`;
    });
    after(async () => {
      metadataServer?.close();
      await gatehouse?.close();
    });

    async function submit(fields: Record<string, string>) {
      const path = `/orgs/${organizationId}/settings/saml`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, path);
      const response = await owner.request(`${gatehouse.url}${path}`, { form: { ...form.fields, name: 'Acme IdP', preset: 'okta', ...fields } });
      return { status: response.status, body: await response.text() };
    }

    it('imports metadata from a URL', async () => {
      const answer = await submit({ domains: 'example.com', metadata_url: metadataURL });
      assert.equal(answer.status, 201, answer.body);
      assert.match(answer.body, /SAML connection &quot;Acme IdP&quot; added/);
      const id = /\/saml\/(saml[0-9a-f]+)\/metadata/.exec(answer.body)?.[1];
      assert.ok(id, 'the page links the SP metadata');
      assert.match(answer.body, new RegExp(`<dt>ACS URL \\(Reply URL\\)</dt><dd><code>${gatehouse.url}/saml/${id}/acs</code>`));
      assert.match(answer.body, /<dt>IdP entity ID<\/dt><dd><code>https:\/\/idp\.example\.test\/entity<\/code>/);

      const metadata = await fetch(`${gatehouse.url}/saml/${id}/metadata`);
      assert.equal(metadata.status, 200);
      assert.equal(metadata.headers.get('content-type'), 'application/samlmetadata+xml; charset=utf-8');
      const xml = await metadata.text();
      assert.match(xml, new RegExp(`entityID="${gatehouse.url}/saml/${id}/metadata"`));
      assert.match(xml, new RegExp(`Location="${gatehouse.url}/saml/${id}/acs"`));
      assert.match(xml, /<KeyDescriptor use="encryption">/);
    });

    it('rejects an expired certificate next to the field', async () => {
      const before = await tableCounts(gatehouse);
      const expired = (await generateSPCredentials('Old', new Date('2010-01-01T00:00:00Z'))).certificatePem;
      const answer = await submit({ domains: 'old.example', entity_id: 'https://old.example/idp', sso_url: 'https://old.example/sso', certificates: expired });
      assert.equal(answer.status, 400);
      assert.equal(fieldError(answer.body, 'certificates'), 'Certificate 1: The certificate expired on 2020-01-01. Download the current one from your identity provider.');
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('refuses a connection without any certificate', async () => {
      const before = await tableCounts(gatehouse);
      const answer = await submit({ domains: 'nocert.example', entity_id: 'https://nocert.example/idp', sso_url: 'https://nocert.example/sso' });
      assert.equal(answer.status, 400);
      assert.equal(fieldError(answer.body, 'certificates'), 'Add at least one signing certificate of the identity provider.');
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('rejects a metadata URL on a private address', async () => {
      const answer = await submit({ domains: 'private.example', metadata_url: 'https://10.0.0.8/metadata' });
      assert.equal(answer.status, 400);
      assert.match(fieldError(answer.body, 'metadata_url') ?? '', /resolves to a private or reserved address/);
    });

    it('rejects a domain another connection serves', async () => {
      const answer = await submit({ domains: 'EXAMPLE.com', metadata_url: metadataURL });
      assert.equal(answer.status, 409);
      assert.equal(fieldError(answer.body, 'domains'), 'Another connection already serves example.com.');
    });

    it('sends SAML domains to the IdP with an AuthnRequest', async () => {
      const browser = new BrowserClient();
      const page = await browser.follow(`${gatehouse.url}/signin`);
      const form = readForm(page.body, '/signin');
      const answer = await browser.request(`${gatehouse.url}/signin`, { form: { ...form.fields, email: 'alice@example.com' } });
      assert.equal(answer.status, 303);
      const location = new URL(answer.headers.get('location')!);
      assert.equal(`${location.origin}${location.pathname}`, 'https://idp.example.test/sso');
      assert.ok(location.searchParams.get('SAMLRequest'));
      const cookie = answer.headers.getSetCookie().find((header) => header.startsWith('gatehouse_saml='));
      assert.match(cookie ?? '', /Path=\/saml\/; HttpOnly; Secure; SameSite=None/);
    });

    it('refuses to link an IdP identity with another email', async () => {
      const path = `/orgs/${organizationId}/settings/saml`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, '/link');
      const started = await owner.request(`${gatehouse.url}${form.action}`, { form: form.fields });
      assert.equal(started.status, 303);
      const requestId = requestIdFromRedirect(started.headers.get('location')!);
      const id = /\/saml\/(saml[0-9a-f]+)\/link/.exec(form.action)![1]!;
      const connection = (await findSAMLConnection(gatehouse.app.context, id))!;

      const xml = signResponse(
        signAssertion(
          buildResponse({
            idpEntityId: connection.idp_entity_id,
            acsURL: acsURL(gatehouse.app.context, connection),
            audience: spEntityId(gatehouse.app.context, connection),
            inResponseTo: requestId,
            nameId: 'owner-at-idp',
            attributes: { email: ['owner@example.com'] },
          }),
          idpKeys,
        ),
        idpKeys,
      );
      const before = await tableCounts(gatehouse);
      const answer = await owner.request(`${gatehouse.url}/saml/${id}/acs`, { form: { SAMLResponse: encodeResponse(xml) } });
      assert.equal(answer.status, 400);
      assert.match(await answer.text(), /Your identity provider signed you in as owner@example\.com, but this account is owner@acme\.test\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('replaces the trusted certificates for a rollover', async () => {
      const path = `/orgs/${organizationId}/settings/saml`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      assert.match(page.body, /<dt>Trusted IdP certificates<\/dt><dd><div>CN=Metadata IdP, valid until \d{4}-\d{2}-\d{2}, SHA-256 <code>[0-9A-F:]+<\/code><\/div>/);
      const form = readForm(page.body, '/certificates');
      const next = (await generateSPCredentials('Next IdP', new Date(Date.now() - 60_000))).certificatePem;

      const bad = await owner.request(`${gatehouse.url}${form.action}`, { form: { ...form.fields, certificates: 'garbage!' } });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /Certificate 1: The certificate is not base64 or PEM/);

      const replaced = await owner.request(`${gatehouse.url}${form.action}`, { form: { ...form.fields, certificates: `${certificate}\n${next}` } });
      assert.equal(replaced.status, 200);
      const body = await replaced.text();
      assert.match(body, /Certificates replaced\./);
      assert.match(body, /CN=Metadata IdP[\s\S]*CN=Next IdP/);
    });

    it('turns a connection off so that sign-in is refused', async () => {
      const path = `/orgs/${organizationId}/settings/saml`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, '/disable');
      const answer = await owner.request(`${gatehouse.url}${form.action}`, { form: form.fields });
      assert.equal(answer.status, 200);
      assert.match(await answer.text(), /Connection turned off/);

      const browser = new BrowserClient();
      const signIn = await browser.follow(`${gatehouse.url}/signin`);
      const signInForm = readForm(signIn.body, '/signin');
      const refused = await browser.request(`${gatehouse.url}/signin`, { form: { ...signInForm.fields, email: 'alice@example.com' } });
      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /This SAML connection is turned off/);
    });

    it('refuses SAML on a plan without it', async () => {
      await setPlan(gatehouse.app.context.store.db, organizationId, 'pro');
      try {
        const page = await owner.follow(`${gatehouse.url}/orgs/${organizationId}/settings/saml`);
        assert.match(page.body, /SAML single sign-on needs the Enterprise plan/);
      } finally {
        await setPlan(gatehouse.app.context.store.db, organizationId, 'enterprise');
      }
    });
  });
}
