import assert from 'node:assert/strict';

import { BrowserClient, readForm } from './browser-client.js';
import type { TestGatehouse } from './gatehouse.js';
import type { RunningIdP } from './idp.js';

/** Opens the setup link, creates the organization and returns its id; the browser is then signed in as owner. */
export async function setupOrganization(
  browser: BrowserClient,
  gatehouse: TestGatehouse,
  owner = { organization: 'Acme', name: 'Alice Example', email: 'alice@example.com' },
): Promise<string> {
  const page = await browser.follow(await gatehouse.setupLink());
  assert.equal(page.response.status, 200, page.body);
  const form = readForm(page.body, '/setup');
  const created = await browser.request(new URL(form.action, gatehouse.url).href, {
    form: { ...form.fields, organization_name: owner.organization, owner_name: owner.name, owner_email: owner.email },
  });
  assert.equal(created.status, 303, await created.text());
  const match = /^\/orgs\/([^/]+)\/settings\/connections$/.exec(created.headers.get('location') ?? '');
  assert.ok(match, `unexpected redirect ${created.headers.get('location')}`);
  return match[1]!;
}

/** Adds an OIDC connection through the settings form and returns the response page. */
export async function addConnection(
  browser: BrowserClient,
  gatehouse: TestGatehouse,
  organizationId: string,
  fields: { name?: string; issuer: string; clientId: string; clientSecret: string; domains: string; scopes?: string },
): Promise<{ status: number; body: string }> {
  const path = `/orgs/${organizationId}/settings/connections`;
  const page = await browser.follow(`${gatehouse.url}${path}`);
  const form = readForm(page.body, path);
  const response = await browser.request(`${gatehouse.url}${path}`, {
    form: {
      ...form.fields,
      name: fields.name ?? 'Example IdP',
      issuer: fields.issuer,
      client_id: fields.clientId,
      client_secret: fields.clientSecret,
      scopes: fields.scopes ?? 'openid email profile',
      domains: fields.domains,
    },
  });
  return { status: response.status, body: await response.text() };
}

/**
 * Submits the development IdP's login form on `loginPage` and follows the redirects back to
 * Gatehouse. Returns the final response.
 */
export async function loginAtIdP(
  browser: BrowserClient,
  loginPage: { url: string; body: string },
  credentials: { email: string; password: string },
): Promise<{ response: Response; url: string; body: string }> {
  const form = readForm(loginPage.body, '/login');
  return browser.follow(new URL(form.action, loginPage.url).href, { form: { ...form.fields, ...credentials } });
}

/** Starts sign-in at Gatehouse with an email and returns the provider's login page (redirects followed). */
export async function startSignIn(browser: BrowserClient, gatehouse: TestGatehouse, email: string): Promise<{ response: Response; url: string; body: string }> {
  const page = await browser.follow(`${gatehouse.url}/signin`);
  const form = readForm(page.body, '/signin');
  return browser.follow(`${gatehouse.url}/signin`, { form: { ...form.fields, email } });
}

/**
 * Signs in through the provider and returns the final page after the callback. When the provider
 * still has a session from an earlier sign-in, it redirects back without showing its login page.
 */
export async function signIn(
  browser: BrowserClient,
  gatehouse: TestGatehouse,
  idp: RunningIdP,
  email: string,
): Promise<{ response: Response; url: string; body: string }> {
  const loginPage = await startSignIn(browser, gatehouse, email);
  if (new URL(loginPage.url).origin !== idp.issuer) return loginPage;
  return loginAtIdP(browser, loginPage, { email, password: idp.password });
}

/** Links the signed-in owner's account to a connection through the provider. */
export async function linkAccount(
  browser: BrowserClient,
  gatehouse: TestGatehouse,
  idp: RunningIdP,
  organizationId: string,
  email: string,
): Promise<{ response: Response; url: string; body: string }> {
  const path = `/orgs/${organizationId}/settings/connections`;
  const page = await browser.follow(`${gatehouse.url}${path}`);
  const form = readForm(page.body, '/link');
  const loginPage = await browser.follow(`${gatehouse.url}${form.action}`, { form: form.fields });
  return loginAtIdP(browser, loginPage, { email, password: idp.password });
}

/** Creates an API key through the settings page and returns the key shown once. */
export async function createKeyInUI(browser: BrowserClient, gatehouse: TestGatehouse, organizationId: string, name: string): Promise<string> {
  const path = `/orgs/${organizationId}/settings/api-keys`;
  const page = await browser.follow(`${gatehouse.url}${path}`);
  const form = readForm(page.body, path);
  const created = await browser.request(`${gatehouse.url}${path}`, { form: { ...form.fields, name } });
  assert.equal(created.status, 303, await created.text());
  assert.equal(created.headers.get('location'), path);
  const shown = await browser.request(`${gatehouse.url}${path}`);
  const body = await shown.text();
  assert.equal(shown.status, 200, body);
  const key = /<code class="secret" id="new-api-key">([^<]+)<\/code>/.exec(body)?.[1];
  assert.ok(key, 'the page shows the new key');
  return key;
}

/** Calls GET /v1/whoami with a bearer key. */
export async function whoami(gatehouse: TestGatehouse, key: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${gatehouse.url}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Runs sign-in up to the provider's redirect back to Gatehouse and returns the callback URL without
 * requesting it, so a test can replay, alter or move it.
 */
export async function callbackURLFor(browser: BrowserClient, gatehouse: TestGatehouse, idp: RunningIdP, email: string): Promise<string> {
  const page = await browser.follow(`${gatehouse.url}/signin`);
  const form = readForm(page.body, '/signin');
  let response = await browser.request(`${gatehouse.url}/signin`, { form: { ...form.fields, email } });
  let current = `${gatehouse.url}/signin`;
  for (let hop = 0; hop < 20; hop += 1) {
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, current).href;
      if (next.startsWith(`${gatehouse.url}/signin/callback`)) return next;
      current = next;
      response = await browser.request(current);
      continue;
    }
    const body = await response.text();
    const login = readForm(body, '/login');
    current = new URL(login.action, current).href;
    response = await browser.request(current, { form: { ...login.fields, email, password: idp.password } });
  }
  throw new Error('the provider never redirected back to Gatehouse');
}

const countedTables = ['organizations', 'users', 'memberships', 'membership_joins', 'identities', 'google_identities', 'sessions', 'api_keys', 'oidc_connections', 'sso_domains', 'saml_identities'] as const;

/** Row counts of the tables that sign-in and key management write, to assert that nothing changed. */
export async function tableCounts(gatehouse: TestGatehouse): Promise<Record<(typeof countedTables)[number], number>> {
  const db = gatehouse.app.context.store.db;
  const counts = {} as Record<(typeof countedTables)[number], number>;
  const tables = countedTables;
  for (const table of tables) {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
    counts[table] = Number(row.count);
  }
  return counts;
}

/** Claims `domain` on Settings → Domains, publishes its TXT record on the test DNS server and verifies it. */
export async function verifyDomainInUI(owner: BrowserClient, gatehouse: TestGatehouse, dns: { txt: Map<string, string[]> }, organizationId: string, domain: string): Promise<void> {
  const path = `/orgs/${organizationId}/settings/domains`;
  const page = await owner.follow(`${gatehouse.url}${path}`);
  const claimed = await owner.request(`${gatehouse.url}${path}`, { form: { ...readForm(page.body, path).fields, domain } });
  const body = await claimed.text();
  assert.equal(claimed.status, 201, body);
  const value = new RegExp(`<td>${domain.replaceAll('.', '\\.')}</td>[\\s\\S]*?Value <code>(gatehouse-domain-verification=[^<]+)</code>`).exec(body)![1]!;
  dns.txt.set(`_gatehouse-challenge.${domain}`, [value]);
  const verify = readForm(body, '/verify');
  const verified = await owner.request(`${gatehouse.url}${verify.action}`, { form: { ...verify.fields, domain } });
  assert.match(await verified.text(), new RegExp(`${domain.replaceAll('.', '\\.')} is verified`));
}

/** Maps a verified domain to a built-in group on Settings → Domains. */
export async function mapDomainInUI(owner: BrowserClient, gatehouse: TestGatehouse, organizationId: string, domain: string, role: 'owners' | 'engineers' | 'viewers'): Promise<void> {
  const page = await owner.follow(`${gatehouse.url}/orgs/${organizationId}/settings/domains`);
  const form = readForm(page.body, '/mapping');
  const saved = await owner.request(`${gatehouse.url}${form.action}`, { form: { ...form.fields, domain, role } });
  assert.match(await saved.text(), new RegExp(`New members from ${domain.replaceAll('.', '\\.')} join`));
}

/**
 * Turns on "Continue with Google" against a Google-like provider. The redirect URI contains the port,
 * which is known only once Gatehouse listens, so the setting is applied to the running instance.
 */
export function useGoogleProvider(gatehouse: TestGatehouse, idp: RunningIdP): void {
  gatehouse.app.context.config.google = { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret };
}

/** Clicks "Continue with Google" and signs in at the Google-like provider; returns the final page. */
export async function signInWithGoogle(
  browser: BrowserClient,
  gatehouse: TestGatehouse,
  idp: RunningIdP,
  email: string,
  start = '/signin',
): Promise<{ response: Response; url: string; body: string }> {
  const page = await browser.follow(`${gatehouse.url}${start}`);
  const form = readForm(page.body, '/signin/google');
  const loginPage = await browser.follow(`${gatehouse.url}${form.action}`, { form: form.fields });
  if (new URL(loginPage.url).origin !== idp.issuer) return loginPage;
  return loginAtIdP(browser, loginPage, { email, password: idp.password });
}
