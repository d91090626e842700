import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import type { Browser, BrowserContext, Page } from 'playwright-core';

import { chromiumSkip, launchChromium } from '../support/chromium.js';
import { databaseCases } from '../support/databases.js';
import { tableCounts } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { simpleSAMLphpSkip, startSimpleSAMLphp, type RunningSimpleSAMLphp } from '../support/simplesamlphp.js';
import { suite } from '../support/skip.js';

const CONNECTION_NAME = 'SimpleSAMLphp';
const IDP_INITIATED_OFF = 'Sign-in started at the identity provider is turned off for this connection. Start at the Gatehouse sign-in page.';
const CONNECTION_OFF = 'This SAML connection is turned off. Ask your administrator.';
const TEST_TIMEOUT = 60_000;
const STEP_TIMEOUT = 15_000;

/** The parts of GET /v1/whoami that these tests read. */
interface WhoamiBody {
  user: { email: string; name: string | null };
  organizations: { id: string; group: { name: string } }[];
  authentication: { method: string };
}

/**
 * Marks a promise that is awaited only after later steps as handled, so that it cannot crash the
 * run as an unhandled rejection when one of those steps fails first. Awaiting it still throws.
 */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

for (const database of databaseCases) {
  suite(`SAML sign-in against SimpleSAMLphp in Chromium (${database.name})`, chromiumSkip || simpleSAMLphpSkip || database.skip, () => {
    let browser: Browser;
    let gatehouse: TestGatehouse;
    let idp: RunningSimpleSAMLphp;
    let owner: Page;
    let organizationId = '';
    let connectionId = '';
    let spEntityId = '';
    let acsURL = '';
    /** URLs that pages requested on a host other than 127.0.0.1 or localhost. Each request was aborted. */
    const offHostRequests: string[] = [];

    before(async () => {
      browser = await launchChromium();
      gatehouse = await startGatehouse(database);
      idp = await startSimpleSAMLphp();
    }, { timeout: TEST_TIMEOUT });

    after(async () => {
      // Each step runs even when an earlier one throws, so that no PHP process outlives the suite.
      const results = await Promise.allSettled([browser?.close(), idp?.stop()]);
      await gatehouse?.close();
      for (const result of results) if (result.status === 'rejected') throw result.reason;
    });

    /** Opens a browser context with no cookies, bounded waits and no way off loopback. */
    async function freshContext(): Promise<{ context: BrowserContext; page: Page }> {
      const context = await browser.newContext();
      context.setDefaultTimeout(STEP_TIMEOUT);
      context.setDefaultNavigationTimeout(STEP_TIMEOUT);
      await context.route(
        (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
        (route) => {
          offHostRequests.push(route.request().url());
          return route.abort();
        },
      );
      return { context, page: await context.newPage() };
    }

    /** Fills in SimpleSAMLphp's own username/password form, which must be showing. */
    async function logInAtSimpleSAMLphp(page: Page, username: string): Promise<void> {
      await page.waitForURL((url) => url.origin === idp.url && url.pathname === '/module.php/core/loginuserpass.php');
      const user = idp.users.find((entry) => entry.username === username);
      assert.ok(user, `SimpleSAMLphp has no user ${username}`);
      await page.locator('input#username').fill(user.username);
      await page.locator('input#password').fill(user.password);
      await page.locator('button#submit_button').click();
    }

    /** Waits for the POST that SimpleSAMLphp's auto-submitting form sends to the ACS URL and returns its status. */
    function acsResponse(page: Page): Promise<number> {
      return settledLater(
        page.waitForResponse((response) => response.url() === acsURL && response.request().method() === 'POST').then((response) => response.status()),
      );
    }

    /** Waits for the POST to the ACS URL and returns the SAML Response XML it carried. */
    function postedSAMLResponse(page: Page): Promise<string> {
      return settledLater(
        page
          .waitForRequest((request) => request.url() === acsURL && request.method() === 'POST')
          .then((request) => Buffer.from(new URLSearchParams(request.postData() ?? '').get('SAMLResponse') ?? '', 'base64').toString('utf8')),
      );
    }

    async function hasSessionCookie(context: BrowserContext): Promise<boolean> {
      return (await context.cookies(gatehouse.url)).some((cookie) => cookie.name === 'gatehouse_session');
    }

    /** GET /v1/whoami in the page, so that Chromium sends the session cookie exactly as it stored it. */
    async function whoamiInPage(page: Page): Promise<WhoamiBody> {
      const response = await page.goto(`${gatehouse.url}/v1/whoami`);
      assert.ok(response, 'whoami answered');
      assert.equal(response.status(), 200, await response.text());
      return (await response.json()) as WhoamiBody;
    }

    /** Returns the <dd> that follows the <dt> whose whole text is `term`. */
    function definition(page: Page, term: string) {
      return page.locator('dt').filter({ hasText: new RegExp(`^${term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }).locator('xpath=following-sibling::dd[1]');
    }

    async function alertText(page: Page): Promise<string> {
      return ((await page.getByRole('alert').textContent()) ?? '').trim();
    }

    /** Runs a test body and, when it fails, adds what the IdP and Gatehouse logged. */
    function explained(body: () => Promise<void>): () => Promise<void> {
      return async () => {
        try {
          await body();
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`${message}\n\n${idp.diagnostics()}\n\nGatehouse log (last 20 lines):\n${gatehouse.logs.slice(-20).join('\n')}`, { cause: error });
        }
      };
    }

    function requireConnection(): void {
      assert.ok(connectionId, 'the connection from the first test exists');
    }

    it('adds connection from metadata URL', { timeout: TEST_TIMEOUT }, explained(async () => {
      const { page } = await freshContext();
      owner = page;
      await page.goto(await gatehouse.setupLink());
      await page.getByLabel('Organization name').fill('Acme');
      await page.getByLabel('Your name').fill('Olivia Owner');
      await page.getByLabel('Your work email').fill('owner@acme.test');
      await page.getByRole('button', { name: 'Create organization' }).click();
      await page.waitForURL(/\/orgs\/org_[^/]+\/settings\/connections$/);
      organizationId = /\/orgs\/([^/]+)\//.exec(page.url())![1]!;

      await page.goto(`${gatehouse.url}/orgs/${organizationId}/settings/saml`);
      await page.getByLabel('Name', { exact: true }).fill(CONNECTION_NAME);
      await page.getByLabel('Identity provider', { exact: true }).selectOption({ label: 'Other SAML 2.0 identity provider' });
      await page.getByLabel('Email domains').fill('example.com');
      await page.getByLabel('Metadata URL').fill(idp.metadataURL);
      await page.getByRole('button', { name: 'Add SAML connection' }).click();
      await page.getByText(`SAML connection "${CONNECTION_NAME}" added. Enter the values below at your identity provider.`).waitFor();

      const codeAfter = async (term: string) => ((await definition(page, term).locator('code').first().textContent()) ?? '').trim();
      spEntityId = await codeAfter('SP entity ID (Audience)');
      acsURL = await codeAfter('ACS URL (Reply URL)');
      const match = /^http:\/\/localhost:\d+\/saml\/(saml[0-9a-f]+)\/metadata$/.exec(spEntityId);
      assert.ok(match, `unexpected SP entity ID ${spEntityId}`);
      connectionId = match[1]!;
      assert.equal(acsURL, `${gatehouse.url}/saml/${connectionId}/acs`);
      // What Gatehouse took from SimpleSAMLphp's metadata.
      assert.equal(await codeAfter('IdP entity ID'), idp.idpEntityId);
      assert.equal(await codeAfter('IdP SSO URL'), idp.ssoURL);
      assert.match((await definition(page, 'IdP SSO URL').textContent()) ?? '', /\(HTTP-Redirect\)$/);

      const stored = await gatehouse.app.context.store.db.selectFrom('saml_connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow();
      assert.equal(stored.preset, 'custom');
      assert.equal(stored.signature_policy, 'both');
      assert.equal(stored.allow_idp_initiated, 0);
      assert.equal(stored.sso_binding, 'redirect');
      const metadataCertificate = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(await (await fetch(idp.metadataURL, { signal: AbortSignal.timeout(STEP_TIMEOUT) })).text())?.[1];
      assert.ok(metadataCertificate);
      assert.equal((JSON.parse(stored.certificates) as string[]).map((pem) => pem.replace(/-----[A-Z ]+-----|\s/g, '')).join(), metadataCertificate);

      idp.addServiceProvider({ entityId: spEntityId, acsURL });
    }));

    it('signs in from Gatehouse sign-in page', { timeout: TEST_TIMEOUT }, explained(async () => {
      requireConnection();
      const before = await tableCounts(gatehouse);
      const { context, page } = await freshContext();
      await page.goto(`${gatehouse.url}/signin`);
      await page.getByLabel('Work email').fill('alice@example.com');
      await page.getByRole('button', { name: 'Continue' }).click();
      const posted = postedSAMLResponse(page);
      await logInAtSimpleSAMLphp(page, 'alice');
      await page.waitForURL(`${gatehouse.url}/orgs/${organizationId}/settings`);

      // What SimpleSAMLphp actually sent, so that this test keeps covering the configuration it claims to.
      const response = await posted;
      assert.match(response, /^<samlp:Response [^>]*InResponseTo="_[0-9a-f]{40}"/);
      assert.equal(response.match(/<(?:\w+:)?SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"\s*\/>/g)?.length, 2, 'the Response and the Assertion are signed with RSA-SHA256');
      assert.match(response, /<saml:NameID [^>]*Format="urn:oasis:names:tc:SAML:1\.1:nameid-format:emailAddress"[^>]*>alice@example\.com<\/saml:NameID>/);
      assert.match(response, /<saml:Attribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2\.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">alice@example\.com</);
      assert.equal(await definition(page, 'Signed in as').textContent(), 'alice@example.com');
      assert.equal(await definition(page, 'Your group').textContent(), 'Engineers');

      const me = await whoamiInPage(page);
      assert.equal(me.user.email, 'alice@example.com');
      assert.equal(me.user.name, 'Alice Example');
      assert.equal(me.authentication.method, 'session');
      assert.deepEqual(me.organizations.map((entry) => [entry.id, entry.group.name]), [[organizationId, 'Engineers']]);

      const identity = await gatehouse.app.context.store.db.selectFrom('saml_identities').selectAll().where('connection_id', '=', connectionId).executeTakeFirstOrThrow();
      assert.equal(identity.name_id, 'alice@example.com');
      const after = await tableCounts(gatehouse);
      assert.deepEqual(after, { ...before, users: before.users + 1, memberships: before.memberships + 1, membership_joins: before.membership_joins + 1, sessions: before.sessions + 1, saml_identities: before.saml_identities + 1 });
      assert.equal((await context.cookies(`${gatehouse.url}/saml/`)).some((cookie) => cookie.name === 'gatehouse_saml'), false, 'the binding cookie is cleared');
      await context.close();
    }));

    it('rejects IdP-initiated sign-in by default', { timeout: TEST_TIMEOUT }, explained(async () => {
      requireConnection();
      const before = await tableCounts(gatehouse);
      const { context, page } = await freshContext();
      await page.goto(idp.idpInitiatedURL(spEntityId));
      const answered = acsResponse(page);
      await logInAtSimpleSAMLphp(page, 'bob');
      assert.equal(await answered, 400);
      await page.waitForURL(acsURL);
      assert.equal(await alertText(page), IDP_INITIATED_OFF);
      assert.equal(await hasSessionCookie(context), false);
      assert.deepEqual(await tableCounts(gatehouse), before);
      await context.close();
    }));

    it('confirms allowed IdP-initiated sign-in', { timeout: TEST_TIMEOUT }, explained(async () => {
      requireConnection();
      // The settings form offers this switch only when a connection is created, so the test sets it directly.
      await gatehouse.app.context.store.db.updateTable('saml_connections').set({ allow_idp_initiated: 1 }).where('id', '=', connectionId).execute();
      await owner.goto(`${gatehouse.url}/orgs/${organizationId}/settings/saml`);
      await owner.locator('dd', { hasText: 'allowed, with a confirmation page' }).waitFor();

      const before = await tableCounts(gatehouse);
      const { context, page } = await freshContext();
      await page.goto(idp.idpInitiatedURL(spEntityId));
      const answered = acsResponse(page);
      await logInAtSimpleSAMLphp(page, 'bob');
      assert.equal(await answered, 200);
      const confirm = page.getByRole('button', { name: 'Continue as bob@example.com', exact: true });
      await confirm.waitFor();
      assert.equal(await hasSessionCookie(context), false, 'no session before the person confirms');
      assert.deepEqual(await tableCounts(gatehouse), before, 'nothing is stored before the person confirms');

      await confirm.click();
      await page.waitForURL(`${gatehouse.url}/orgs/${organizationId}/settings`);
      const me = await whoamiInPage(page);
      assert.equal(me.user.email, 'bob@example.com');
      assert.equal(me.user.name, 'Bob Example');
      assert.deepEqual(me.organizations.map((entry) => [entry.id, entry.group.name]), [[organizationId, 'Engineers']]);
      assert.deepEqual(await tableCounts(gatehouse), {
        ...before,
        users: before.users + 1,
        memberships: before.memberships + 1,
        membership_joins: before.membership_joins + 1,
        sessions: before.sessions + 1,
        saml_identities: before.saml_identities + 1,
      });
      await context.close();
    }));

    it('turned-off connection rejects every sign-in', { timeout: TEST_TIMEOUT }, explained(async () => {
      requireConnection();
      // Two sign-ins start while the connection is on. One waits at the confirmation page, one at the IdP's login page.
      const pending = await freshContext();
      await pending.page.goto(idp.idpInitiatedURL(spEntityId));
      await logInAtSimpleSAMLphp(pending.page, 'bob');
      const confirm = pending.page.getByRole('button', { name: 'Continue as bob@example.com', exact: true });
      await confirm.waitFor();
      const inFlight = await freshContext();
      await inFlight.page.goto(`${gatehouse.url}/signin`);
      await inFlight.page.getByLabel('Work email').fill('alice@example.com');
      await inFlight.page.getByRole('button', { name: 'Continue' }).click();
      await inFlight.page.waitForURL((url) => url.origin === idp.url);

      await owner.goto(`${gatehouse.url}/orgs/${organizationId}/settings/saml`);
      await owner.getByRole('button', { name: `Turn off ${CONNECTION_NAME}` }).click();
      await owner.getByText('Connection turned off. It rejects every sign-in until you turn it on.').waitFor();
      await owner.getByRole('heading', { name: `${CONNECTION_NAME} (Other SAML 2.0 identity provider, off)` }).waitFor();
      const before = await tableCounts(gatehouse);

      await confirm.click();
      await pending.page.waitForURL(`${gatehouse.url}/saml/${connectionId}/confirm`);
      assert.equal(await alertText(pending.page), CONNECTION_OFF);
      assert.equal(await hasSessionCookie(pending.context), false);

      const answeredInFlight = acsResponse(inFlight.page);
      await logInAtSimpleSAMLphp(inFlight.page, 'alice');
      assert.equal(await answeredInFlight, 400);
      assert.equal(await alertText(inFlight.page), CONNECTION_OFF);
      assert.equal(await hasSessionCookie(inFlight.context), false);

      // A new SP-initiated attempt stops at Gatehouse and never reaches the IdP.
      const spInitiated = await freshContext();
      await spInitiated.page.goto(`${gatehouse.url}/signin`);
      await spInitiated.page.getByLabel('Work email').fill('alice@example.com');
      const [signInAnswer] = await Promise.all([
        spInitiated.page.waitForResponse((response) => response.url() === `${gatehouse.url}/signin` && response.request().method() === 'POST'),
        spInitiated.page.getByRole('button', { name: 'Continue' }).click(),
      ]);
      assert.equal(signInAnswer.status(), 400);
      assert.equal(spInitiated.page.url(), `${gatehouse.url}/signin`);
      assert.equal(await alertText(spInitiated.page), CONNECTION_OFF);
      assert.equal(await hasSessionCookie(spInitiated.context), false);

      const idpInitiated = await freshContext();
      await idpInitiated.page.goto(idp.idpInitiatedURL(spEntityId));
      const answered = acsResponse(idpInitiated.page);
      await logInAtSimpleSAMLphp(idpInitiated.page, 'bob');
      assert.equal(await answered, 400);
      assert.equal(await alertText(idpInitiated.page), CONNECTION_OFF);
      assert.equal(await hasSessionCookie(idpInitiated.context), false);

      assert.deepEqual(await tableCounts(gatehouse), before);
      for (const { context } of [pending, inFlight, spInitiated, idpInitiated]) await context.close();
    }));

    it('keeps the browser on loopback', () => {
      assert.deepEqual(offHostRequests, []);
    });
  });
}
