import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { SAMLConnection } from '../../src/db/schema.js';
import { createOrganization } from '../../src/model/organizations.js';
import { createSAMLConnection, setSAMLConnectionEnabled, type SAMLConnectionInput } from '../../src/sso/saml/connections.js';
import { acsURL, spEntityId } from '../../src/sso/saml/service-provider.js';
import type { SPCredentials } from '../../src/sso/saml/sp-credentials.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { tableCounts } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { buildResponse, encodeResponse, encryptAssertion, requestIdFromRedirect, signAssertion, signResponse, testIdPKeys, type ResponseFields } from '../support/saml-idp.js';
import { suite } from '../support/skip.js';

const ENTRA = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

for (const database of databaseCases) {
  suite(`SAML ACS (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let idp: SPCredentials;
    let attacker: SPCredentials;
    let organizationId: string;
    const connections: Record<string, SAMLConnection> = {};

    const input = (overrides: Partial<SAMLConnectionInput>): SAMLConnectionInput => ({
      name: 'IdP',
      preset: 'custom',
      domains: 'example.com',
      metadataXML: '',
      metadataURL: '',
      entityId: 'https://idp.example.test/metadata',
      ssoURL: 'https://idp.example.test/sso',
      ssoBinding: 'redirect',
      certificates: idp.certificatePem,
      signaturePolicy: '',
      allowSHA1: false,
      allowIdPInitiated: false,
      signRequests: false,
      extraAudiences: '',
      clockSkewSeconds: '',
      attributeEmail: '',
      attributeFirstName: '',
      attributeLastName: '',
      attributeGroups: '',
      groupMappings: '',
      ...overrides,
    });

    before(async () => {
      gatehouse = await startGatehouse(database);
      idp = await testIdPKeys('Test IdP');
      attacker = await testIdPKeys('Attacker');
      const { context } = gatehouse.app;
      organizationId = (await createOrganization(context.store.db, { name: 'Acme', plan: 'enterprise', now: new Date() })).organization.id;
      connections.okta = await createSAMLConnection(context, organizationId, input({ name: 'Okta', preset: 'okta', domains: 'example.com', entityId: 'http://www.okta.com/exk1' }));
      connections.entra = await createSAMLConnection(context, organizationId, input({ name: 'Entra', preset: 'entra', domains: 'entra.example', entityId: 'https://sts.windows.net/tenant/', extraAudiences: 'spn:11111111-2222-3333-4444-555555555555' }));
      connections.google = await createSAMLConnection(context, organizationId, input({ name: 'Google', preset: 'google', domains: 'google.example', entityId: 'https://accounts.google.com/o/saml2?idpid=C01' }));
      connections.strict = await createSAMLConnection(context, organizationId, input({ name: 'Strict', preset: 'entra', signaturePolicy: 'both', domains: 'strict.example', entityId: 'https://sts.windows.net/strict/' }));
      connections.idpInitiated = await createSAMLConnection(context, organizationId, input({ name: 'IdP-initiated', domains: 'portal.example', entityId: 'https://portal.example.test/idp', allowIdPInitiated: true }));
      connections.sha1 = await createSAMLConnection(context, organizationId, input({ name: 'Legacy', domains: 'legacy.example', entityId: 'https://legacy.example.test/idp', allowSHA1: true }));
      connections.rotating = await createSAMLConnection(context, organizationId, input({ name: 'Rotating', domains: 'rotate.example', entityId: 'https://rotate.example.test/idp', certificates: `${attacker.certificatePem}\n${idp.certificatePem}`, signaturePolicy: 'assertion' }));
      connections.grouped = await createSAMLConnection(context, organizationId, input({ name: 'Grouped', domains: 'groups.example', entityId: 'https://groups.example.test/idp', signaturePolicy: 'assertion', attributeGroups: 'groups', groupMappings: 'readers = Viewers\nplatform-admins = Owners' }));
      connections.signing = await createSAMLConnection(context, organizationId, input({ name: 'Signing', domains: 'signed.example', entityId: 'https://signed.example.test/idp', signRequests: true }));
      connections.postBinding = await createSAMLConnection(context, organizationId, input({ name: 'ADFS', domains: 'post.example', entityId: 'https://adfs.example.test/adfs/services/trust', ssoURL: 'https://adfs.example.test/adfs/ls/', ssoBinding: 'post' }));
      connections.disabled = await createSAMLConnection(context, organizationId, input({ name: 'Off', domains: 'off.example', entityId: 'https://off.example.test/idp', allowIdPInitiated: true }));
    });
    after(async () => {
      await gatehouse?.close();
    });

    /** Starts SP-initiated sign-in for an email and returns the AuthnRequest ID and the browser. */
    async function start(email: string): Promise<{ browser: BrowserClient; requestId: string }> {
      const browser = new BrowserClient();
      const page = await browser.follow(`${gatehouse.url}/signin`);
      const form = readForm(page.body, '/signin');
      const response = await browser.request(`${gatehouse.url}/signin`, { form: { ...form.fields, email } });
      assert.equal(response.status, 303, await response.text());
      return { browser, requestId: requestIdFromRedirect(response.headers.get('location')!) };
    }

    function fields(connection: SAMLConnection, overrides: Partial<ResponseFields> = {}): ResponseFields {
      const { context } = gatehouse.app;
      return {
        idpEntityId: connection.idp_entity_id,
        acsURL: acsURL(context, connection),
        audience: spEntityId(context, connection),
        nameId: 'alice@example.com',
        attributes: { email: ['alice@example.com'], firstName: ['Alice'], lastName: ['Example'] },
        ...overrides,
      };
    }

    async function post(browser: BrowserClient, connection: SAMLConnection, xml: string) {
      const response = await browser.request(`${gatehouse.url}/saml/${connection.id}/acs`, { form: { SAMLResponse: encodeResponse(xml) } });
      return { status: response.status, location: response.headers.get('location'), body: await response.text() };
    }

    /** Posts a response that must be rejected, and checks that no user, membership or session was created. */
    async function assertRejected(browser: BrowserClient, connection: SAMLConnection, xml: string, message: RegExp) {
      const before = await tableCounts(gatehouse);
      const answer = await post(browser, connection, xml);
      assert.equal(answer.status, 400, answer.body);
      assert.match(answer.body, message);
      assert.deepEqual(await tableCounts(gatehouse), before);
    }

    it('accepts an Okta-shaped response signed twice', async () => {
      const { browser, requestId } = await start('alice@example.com');
      const xml = signResponse(signAssertion(buildResponse(fields(connections.okta!, { inResponseTo: requestId, nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', nameId: '00u1abcd' })), idp), idp);
      const answer = await post(browser, connections.okta!, xml);
      assert.equal(answer.status, 303, answer.body);
      assert.equal(answer.location, '/');
      const me = await browser.request(`${gatehouse.url}/v1/whoami`);
      const body = (await me.json()) as { user: { email: string; name: string }; organizations: Array<{ group: { role: string } }> };
      assert.equal(body.user.email, 'alice@example.com');
      assert.equal(body.user.name, 'Alice Example');
      assert.equal(body.organizations[0]!.group.role, 'engineers');
    });

    it('rejects an Okta-shaped response without its Response signature', async () => {
      const { browser, requestId } = await start('carol@example.com');
      const xml = signAssertion(buildResponse(fields(connections.okta!, { inResponseTo: requestId, nameId: 'carol@example.com', attributes: { email: ['carol@example.com'] } })), idp);
      await assertRejected(browser, connections.okta!, xml, /requires a signed SAML Response/);
    });

    it('accepts an Entra-shaped response with only the assertion signed', async () => {
      const { browser, requestId } = await start('dan@entra.example');
      const xml = signAssertion(
        buildResponse(
          fields(connections.entra!, {
            inResponseTo: requestId,
            nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
            nameId: 'AAAAAAAAAAAAAAAAAAAAAKf2xHv0dGQk',
            audience: 'spn:11111111-2222-3333-4444-555555555555',
            attributes: { [`${ENTRA}/emailaddress`]: ['Dan@Entra.Example'], [`${ENTRA}/givenname`]: ['Dan'], [`${ENTRA}/surname`]: ['Entra'] },
          }),
        ),
        idp,
      );
      const answer = await post(browser, connections.entra!, xml);
      assert.equal(answer.status, 303, answer.body);
    });

    it('rejects the Entra shape under a policy that requires both signatures', async () => {
      const { browser, requestId } = await start('erin@strict.example');
      const xml = signAssertion(buildResponse(fields(connections.strict!, { inResponseTo: requestId, nameId: 'erin@strict.example', attributes: { [`${ENTRA}/emailaddress`]: ['erin@strict.example'] } })), idp);
      await assertRejected(browser, connections.strict!, xml, /requires a signed SAML Response/);
    });

    it('accepts a Google-shaped response with the email as NameID', async () => {
      const { browser, requestId } = await start('gina@google.example');
      const xml = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'gina@google.example', attributes: {} })), idp);
      const answer = await post(browser, connections.google!, xml);
      assert.equal(answer.status, 303, answer.body);
    });

    it('accepts an encrypted, signed assertion', async () => {
      const { browser, requestId } = await start('enc@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'enc@google.example', attributes: {} })), idp);
      const xml = await encryptAssertion(signed, connections.google!.sp_certificate);
      assert.doesNotMatch(xml, /enc@google\.example/);
      const answer = await post(browser, connections.google!, xml);
      assert.equal(answer.status, 303, answer.body);
    });

    it('rejects an encrypted assertion that is not signed inside', async () => {
      const { browser, requestId } = await start('encunsigned@google.example');
      const xml = await encryptAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'encunsigned@google.example', attributes: {} })), connections.google!.sp_certificate);
      await assertRejected(browser, connections.google!, xml, /could not be verified/);
    });

    it('trusts every configured certificate during a rollover', async () => {
      const { browser, requestId } = await start('roll@rotate.example');
      const xml = signAssertion(buildResponse(fields(connections.rotating!, { inResponseTo: requestId, nameId: 'roll@rotate.example', attributes: {} })), idp);
      assert.equal((await post(browser, connections.rotating!, xml)).status, 303);
    });

    it('puts a new member into the group their IdP group maps to', async () => {
      const { browser, requestId } = await start('lead@groups.example');
      const xml = signAssertion(buildResponse(fields(connections.grouped!, { inResponseTo: requestId, nameId: 'lead@groups.example', attributes: { groups: ['readers', 'platform-admins', 'unmapped'] } })), idp);
      assert.equal((await post(browser, connections.grouped!, xml)).status, 303);
      const me = (await (await browser.request(`${gatehouse.url}/v1/whoami`)).json()) as { organizations: Array<{ group: { role: string } }> };
      assert.equal(me.organizations[0]!.group.role, 'owners', 'the most privileged mapped group wins');
    });

    it('signs AuthnRequests when the connection asks for it', async () => {
      const browser = new BrowserClient();
      const page = await browser.follow(`${gatehouse.url}/signin`);
      const form = readForm(page.body, '/signin');
      const response = await browser.request(`${gatehouse.url}/signin`, { form: { ...form.fields, email: 'sig@signed.example' } });
      const location = new URL(response.headers.get('location')!);
      assert.equal(location.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      assert.ok(location.searchParams.get('Signature'));
      const unsigned = await start('plain@example.com');
      assert.ok(unsigned.requestId);
    });

    it('rejects a broken assertion signature inside a valid Response signature', async () => {
      const { browser, requestId } = await start('inner@example.com');
      const assertionSigned = signAssertion(buildResponse(fields(connections.okta!, { inResponseTo: requestId, nameId: 'inner@example.com', attributes: { email: ['inner@example.com'] } })), idp);
      const broken = assertionSigned.replace(/<SignatureValue>([A-Za-z0-9+/])/, (_match, first: string) => `<SignatureValue>${first === 'A' ? 'B' : 'A'}`);
      assert.notEqual(broken, assertionSigned);
      await assertRejected(browser, connections.okta!, signResponse(broken, idp), /could not be verified/);
    });

    it('rejects an unsigned assertion in a signed Response', async () => {
      const { browser, requestId } = await start('outer@google.example');
      const xml = signResponse(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'outer@google.example', attributes: {} })), idp);
      await assertRejected(browser, connections.google!, xml, /requires a signed assertion, and the assertion is not signed/);
    });

    it('rejects a signature with two References or a comment in SignedInfo', async () => {
      const { browser, requestId } = await start('refs@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'refs@google.example', attributes: {} })), idp);
      const reference = /<Reference[\s\S]*?<\/Reference>/.exec(signed)![0];
      await assertRejected(browser, connections.google!, signed.replace(reference, `${reference}${reference.replace(/URI="[^"]*"/, 'URI=""')}`), /exactly one Reference/);
      const commented = signed.replace(/<DigestValue>([^<]{4})/, '<DigestValue>$1<!-- x -->');
      await assertRejected(browser, connections.google!, commented, /SignedInfo contains a comment/);
    });

    it('rejects a used assertion wrapped in a new Response', async () => {
      const original = signResponse(signAssertion(buildResponse(fields(connections.idpInitiated!, { nameId: 'wrap@portal.example', attributes: { email: ['wrap@portal.example'] } })), idp), idp);
      assert.equal((await post(new BrowserClient(), connections.idpInitiated!, original)).status, 200);
      const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(original)![0];
      const fresh = buildResponse(fields(connections.idpInitiated!, { nameId: 'other@portal.example', attributes: { email: ['other@portal.example'] } }));
      const rewrapped = signResponse(fresh.replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, assertion), idp);
      await assertRejected(new BrowserClient(), connections.idpInitiated!, rewrapped, /assertion was already used/);
    });

    it('sends the AuthnRequest as a form when the IdP takes only POST', async () => {
      const browser = new BrowserClient();
      const page = await browser.follow(`${gatehouse.url}/signin`);
      const form = readForm(page.body, '/signin');
      const response = await browser.request(`${gatehouse.url}/signin`, { form: { ...form.fields, email: 'pat@post.example' } });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/adfs\.example\.test/);
      const body = await response.text();
      const idpForm = readForm(body, 'https://adfs.example.test/adfs/ls/');
      assert.ok(idpForm.fields.SAMLRequest);
      assert.match(body, /<button type="submit">Continue to ADFS<\/button>/);
    });

    it('rejects a response with every signature removed', async () => {
      const { browser, requestId } = await start('unsigned@example.com');
      const xml = buildResponse(fields(connections.okta!, { inResponseTo: requestId, nameId: 'unsigned@example.com', attributes: { email: ['unsigned@example.com'] } }));
      await assertRejected(browser, connections.okta!, xml, /requires a signed SAML Response/);
    });

    it('rejects an assertion changed after signing', async () => {
      const { browser, requestId } = await start('mallory@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'mallory@google.example', attributes: {} })), idp);
      await assertRejected(browser, connections.google!, signed.replace('mallory@google.example', 'gina@google.example'), /could not be verified/);
    });

    it('rejects a signature by a key from KeyInfo', async () => {
      const { browser, requestId } = await start('keyinfo@example.com');
      const xml = signResponse(signAssertion(buildResponse(fields(connections.okta!, { inResponseTo: requestId, nameId: 'keyinfo@example.com', attributes: { email: ['keyinfo@example.com'] } })), attacker), attacker);
      await assertRejected(browser, connections.okta!, xml, /could not be verified/);
    });

    it('rejects SHA-1 unless the connection allows it', async () => {
      const { browser, requestId } = await start('sha1@example.com');
      const xml = signResponse(signAssertion(buildResponse(fields(connections.okta!, { inResponseTo: requestId, nameId: 'sha1@example.com', attributes: { email: ['sha1@example.com'] } })), idp, { sha1: true }), idp, { sha1: true });
      await assertRejected(browser, connections.okta!, xml, /signed with SHA-1, which this connection does not allow/);

      const legacy = await start('old@legacy.example');
      const allowed = signResponse(signAssertion(buildResponse(fields(connections.sha1!, { inResponseTo: legacy.requestId, nameId: 'old@legacy.example', attributes: { email: ['old@legacy.example'] } })), idp, { sha1: true }), idp, { sha1: true });
      assert.equal((await post(legacy.browser, connections.sha1!, allowed)).status, 303);
    });

    it('shows the IdP error status before anything else', async () => {
      const { browser, requestId } = await start('denied@example.com');
      const xml = buildResponse(fields(connections.okta!, {
        inResponseTo: requestId,
        status: { code: 'urn:oasis:names:tc:SAML:2.0:status:Responder', subCode: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed', message: 'User is not assigned to this application' },
      }));
      await assertRejected(browser, connections.okta!, xml, /could not sign you in \(urn:oasis:names:tc:SAML:2\.0:status:AuthnFailed: User is not assigned to this application\)/);
    });

    it('rejects a response carrying two assertions', async () => {
      const { browser, requestId } = await start('two@google.example');
      const one = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'two@google.example', attributes: {} })), idp);
      const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(one)![0];
      const forged = assertion.replace(/ID="[^"]+"/, 'ID="_forged"').replace('two@google.example', 'admin@google.example');
      await assertRejected(browser, connections.google!, one.replace('</samlp:Response>', `${forged}</samlp:Response>`), /exactly one assertion/);
    });

    it('rejects a signed assertion moved under Extensions next to a forged one (XSW)', async () => {
      const { browser, requestId } = await start('xsw@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'xsw@google.example', attributes: {} })), idp);
      const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(signed)![0];
      const forged = assertion.replace(/<(ds:)?Signature[\s\S]*<\/(ds:)?Signature>/, '').replace('xsw@google.example', 'admin@google.example');
      const wrapped = signed.replace(assertion, `<samlp:Extensions>${assertion}</samlp:Extensions>${forged}`);
      await assertRejected(browser, connections.google!, wrapped, /assertion outside the expected place|exactly one assertion/);
    });

    it('rejects a forged assertion hidden in ds:Object', async () => {
      const { browser, requestId } = await start('object@example.com');
      const signed = signResponse(signAssertion(buildResponse(fields(connections.okta!, { inResponseTo: requestId, nameId: 'object@example.com', attributes: { email: ['object@example.com'] } })), idp), idp);
      const hidden = signed.replace(/<\/(ds:)?SignatureValue>/, '</SignatureValue><Object xmlns="http://www.w3.org/2000/09/xmldsig#"><saml:Assertion ID="_hidden"><saml:Issuer>x</saml:Issuer></saml:Assertion></Object>');
      assert.notEqual(hidden, signed);
      await assertRejected(browser, connections.okta!, hidden, /assertion outside the expected place|ds:Object/);
    });

    it('rejects two elements with the same ID', async () => {
      const { browser, requestId } = await start('dup@google.example');
      const responseId = '_same';
      const xml = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'dup@google.example', attributes: {}, responseId, assertionId: responseId })), idp);
      await assertRejected(browser, connections.google!, xml, /share the same ID/);
    });

    it('rejects a document with a second root element', async () => {
      const { browser, requestId } = await start('root@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'root@google.example', attributes: {} })), idp);
      await assertRejected(browser, connections.google!, `${signed}${signed}`, /not well-formed|exactly one root/);
    });

    it('rejects a comment inside the NameID', async () => {
      const { browser, requestId } = await start('comment@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'admin@google.example.evil.com', attributes: {} })), idp);
      const commented = signed.replace('admin@google.example.evil.com', 'admin@google.example<!---->.evil.com');
      // Canonicalisation drops the comment, so the identity read is the whole signed text, never the
      // part before the comment. That address is outside the connection's domains.
      await assertRejected(browser, connections.google!, commented, /does not serve google\.example\.evil\.com/);
    });

    it('rejects a DOCTYPE', async () => {
      const { browser, requestId } = await start('doctype@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'doctype@google.example', attributes: {} })), idp);
      await assertRejected(browser, connections.google!, `<!DOCTYPE r [<!ENTITY e "x">]>${signed}`, /DOCTYPE/);
    });

    it('rejects an unknown, replayed or foreign InResponseTo', async () => {
      const { browser, requestId } = await start('replay@google.example');
      const xml = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'replay@google.example', attributes: {} })), idp);
      assert.equal((await post(browser, connections.google!, xml)).status, 303);
      await assertRejected(browser, connections.google!, xml, /does not belong to a sign-in started here, or it was already used/);

      const unknown = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: '_never-issued', nameId: 'replay@google.example', attributes: {} })), idp);
      await assertRejected(browser, connections.google!, unknown, /does not belong to a sign-in started here/);

      const okta = await start('foreign@example.com');
      const foreign = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: okta.requestId, nameId: 'foreign@google.example', attributes: {} })), idp);
      await assertRejected(okta.browser, connections.google!, foreign, /does not belong to a sign-in started here/);
    });

    it('rejects a response posted in another browser', async () => {
      const { requestId } = await start('moved@google.example');
      const xml = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'moved@google.example', attributes: {} })), idp);
      await assertRejected(new BrowserClient(), connections.google!, xml, /started in another browser/);
    });

    it('rejects IdP-initiated sign-in unless the connection allows it', async () => {
      const xml = signAssertion(buildResponse(fields(connections.google!, { nameId: 'idp@google.example', attributes: {} })), idp);
      await assertRejected(new BrowserClient(), connections.google!, xml, /Sign-in started at the identity provider is turned off/);
    });

    it('confirms an allowed IdP-initiated sign-in and rejects its replay', async () => {
      const browser = new BrowserClient();
      const xml = signResponse(signAssertion(buildResponse(fields(connections.idpInitiated!, { nameId: 'pat@portal.example', attributes: { email: ['pat@portal.example'] } })), idp), idp);
      const before = await tableCounts(gatehouse);
      const answer = await post(browser, connections.idpInitiated!, xml);
      assert.equal(answer.status, 200, answer.body);
      assert.match(answer.body, /wants to sign you in as <strong>pat@portal\.example<\/strong>/);
      assert.deepEqual(await tableCounts(gatehouse), before, 'nothing happens before the confirmation');

      const form = readForm(answer.body, '/confirm');
      const confirmed = await browser.request(`${gatehouse.url}${form.action}`, { form: form.fields });
      assert.equal(confirmed.status, 303);
      assert.equal((await tableCounts(gatehouse)).sessions, before.sessions + 1);

      const resubmitted = await browser.request(`${gatehouse.url}${form.action}`, { form: form.fields });
      assert.equal(resubmitted.status, 400);
      assert.match(await resubmitted.text(), /This confirmation was already used/);
      assert.equal((await tableCounts(gatehouse)).sessions, before.sessions + 1, 'a resubmitted confirmation creates no second session');

      await assertRejected(new BrowserClient(), connections.idpInitiated!, xml, /assertion was already used/);
      const csrfLess = await new BrowserClient().request(`${gatehouse.url}${form.action}`, { form: { pending: form.fields.pending! } });
      assert.equal(csrfLess.status, 403, 'the confirmation needs this browser’s CSRF token');
    });

    it('rejects every flow of a disabled connection', async () => {
      await setSAMLConnectionEnabled(gatehouse.app.context, organizationId, connections.disabled!.id, false);
      const xml = signResponse(signAssertion(buildResponse(fields(connections.disabled!, { nameId: 'x@off.example', attributes: { email: ['x@off.example'] } })), idp), idp);
      await assertRejected(new BrowserClient(), connections.disabled!, xml, /This SAML connection is turned off/);
    });

    it('applies the clock skew to NotBefore and expiry', async () => {
      const early = await start('early@google.example');
      const twoMinutes = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: early.requestId, nameId: 'early@google.example', attributes: {}, notBeforeOffsetSeconds: 120 })), idp);
      assert.equal((await post(early.browser, connections.google!, twoMinutes)).status, 303);

      const tooEarly = await start('later@google.example');
      const tenMinutes = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: tooEarly.requestId, nameId: 'later@google.example', attributes: {}, notBeforeOffsetSeconds: 600, lifetimeSeconds: 900 })), idp);
      await assertRejected(tooEarly.browser, connections.google!, tenMinutes, /could not be verified|not yet valid/);

      const expired = await start('expired@google.example');
      const old = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: expired.requestId, nameId: 'expired@google.example', attributes: {}, now: new Date(Date.now() - 3_600_000) })), idp);
      await assertRejected(expired.browser, connections.google!, old, /could not be verified|expired/);

      const noExpiry = await start('noexpiry@google.example');
      const open = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: noExpiry.requestId, nameId: 'noexpiry@google.example', attributes: {}, omitConfirmationExpiry: true })), idp);
      // node-saml rejects it before Gatehouse's own check does; either refusal is correct.
      await assertRejected(noExpiry.browser, connections.google!, open, /has no NotOnOrAfter|could not be verified/);
    });

    it('compares audience, destination, recipient and issuer exactly', async () => {
      const cases: Array<[Partial<ResponseFields>, RegExp]> = [
        [{ audience: `${spEntityId(gatehouse.app.context, connections.google!)}/` }, /another audience/],
        [{ audience: 'https://other.example/sp' }, /another audience/],
        [{ destination: 'https://evil.example/acs' }, /Destination is not this connection/],
        [{ destination: null }, /has no Destination/],
        [{ recipient: 'https://evil.example/acs' }, /Recipient is not this connection/],
        [{ responseIssuer: 'https://evil.example/idp' }, /Response Issuer is not this connection/],
      ];
      for (const [overrides, message] of cases) {
        const { browser, requestId } = await start('aud@google.example');
        const xml = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'aud@google.example', attributes: {}, ...overrides })), idp);
        await assertRejected(browser, connections.google!, xml, message);
      }
    });

    it('rejects an email outside the connection’s domains', async () => {
      const { browser, requestId } = await start('out@google.example');
      const xml = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'ceo@acme.com.evil.com', attributes: {} })), idp);
      await assertRejected(browser, connections.google!, xml, /does not serve acme\.com\.evil\.com/);
    });

    it('rejects a response with too many elements before verifying it', async () => {
      const { browser, requestId } = await start('many@google.example');
      const signed = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: requestId, nameId: 'many@google.example', attributes: {} })), idp);
      const xml = signed.replace('</saml:Issuer>', `</saml:Issuer><samlp:Extensions>${'<x/>'.repeat(3_100)}</samlp:Extensions>`);
      await assertRejected(browser, connections.google!, xml, /more than 3000 elements/);

      const attributeHeavy = await start('attrs@google.example');
      const extra = Array.from({ length: 6_100 }, (_, index) => `a${index}="x"`).join(' ');
      const padded = signAssertion(buildResponse(fields(connections.google!, { inResponseTo: attributeHeavy.requestId, nameId: 'attrs@google.example', attributes: {} })), idp).replace('<saml:AuthnStatement ', `<saml:AuthnStatement ${extra} `);
      await assertRejected(attributeHeavy.browser, connections.google!, padded, /more than 6000 XML attributes/);
    });

    it('rejects an oversized or non-base64 SAMLResponse', async () => {
      const before = await tableCounts(gatehouse);
      const huge = await new BrowserClient().request(`${gatehouse.url}/saml/${connections.google!.id}/acs`, { form: { SAMLResponse: 'A'.repeat(360_000) } });
      assert.equal(huge.status, 400);
      assert.match(await huge.text(), /too large/);
      const garbage = await new BrowserClient().request(`${gatehouse.url}/saml/${connections.google!.id}/acs`, { form: { SAMLResponse: '<xml>' } });
      assert.equal(garbage.status, 400);
      assert.match(await garbage.text(), /not base64/);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });
  });
}
