import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import { addMembership } from '../../src/model/memberships.js';
import { createUser } from '../../src/model/users.js';
import type { BuiltinRole } from '../../src/db/schema.js';
import { createOneTimeLink } from '../../src/setup/one-time-links.js';
import { BrowserClient, readForm } from './browser-client.js';
import type { TestGatehouse } from './gatehouse.js';

/** Generates a PKCE verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Registers a client through dynamic registration and returns the response body. */
export async function registerClient(gatehouse: TestGatehouse, metadata: Record<string, unknown>): Promise<Record<string, unknown> & { client_id: string; client_secret?: string }> {
  const response = await fetch(`${gatehouse.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  const body = (await response.json()) as Record<string, unknown> & { client_id: string; client_secret?: string };
  assert.equal(response.status, 201, JSON.stringify(body));
  return body;
}

/** Builds an authorization URL with PKCE S256 and the MCP resource; `overrides` replace or (with undefined) drop parameters. */
export function authorizationURL(
  gatehouse: TestGatehouse,
  input: { clientId: string; redirectURI: string; challenge: string; state?: string; scope?: string },
  overrides: Record<string, string | undefined> = {},
): string {
  const parameters: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: input.clientId,
    redirect_uri: input.redirectURI,
    code_challenge: input.challenge,
    code_challenge_method: 'S256',
    state: input.state ?? 'state-1',
    scope: input.scope,
    resource: `${gatehouse.url}/mcp`,
    ...overrides,
  };
  const url = new URL(`${gatehouse.url}/oauth/authorize`);
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

/**
 * Opens the consent page with the browser's session, allows it for `organizationId` and returns the
 * redirect to the client, parsed.
 */
export async function consent(browser: BrowserClient, authorizeURL: string, organizationId: string, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
  const page = await browser.request(authorizeURL);
  const body = await page.text();
  assert.equal(page.status, 200, body);
  const form = readForm(body, decision === 'allow' ? '/oauth/authorize' : '?deny');
  const origin = new URL(authorizeURL).origin;
  const answered = await browser.request(new URL(form.action, origin).href, {
    form: { ...form.fields, ...(decision === 'allow' ? { organization_id: organizationId } : {}) },
    headers: { origin },
  });
  assert.equal(answered.status, 303, await answered.text());
  return new URL(answered.headers.get('location')!);
}

/** Posts a form to the token endpoint and returns status, headers and the JSON body. */
export async function tokenRequest(
  gatehouse: TestGatehouse,
  form: Record<string, string>,
  headers: Record<string, string> = {},
  path = '/oauth/token',
): Promise<{ status: number; headers: Headers; body: Record<string, unknown>; text: string }> {
  const response = await fetch(`${gatehouse.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

/** Sends one JSON-RPC tools/call to /mcp with a bearer token and returns status, headers and body text. */
export async function callTool(
  gatehouse: TestGatehouse,
  token: string | undefined,
  name: string,
  args: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${gatehouse.url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Adds a user to the organization in the group of `role` and signs them in with a fresh browser through an operator sign-in link. */
export async function signInAsNewMember(gatehouse: TestGatehouse, organizationId: string, email: string, role: BuiltinRole): Promise<{ browser: BrowserClient; userId: string }> {
  const { db } = gatehouse.app.context.store;
  const now = gatehouse.clock.now();
  const user = await createUser(db, { email, name: null, now });
  const group = await db.selectFrom('permission_groups').select('id').where('organization_id', '=', organizationId).where('role', '=', role).executeTakeFirstOrThrow();
  await addMembership(db, { organizationId, userId: user.id, groupId: group.id, now });

  const browser = new BrowserClient();
  const link = await createOneTimeLink(gatehouse.app.context, { purpose: 'sign_in', userId: user.id });
  const page = await browser.follow(link.url);
  const form = readForm(page.body, '/signin/link');
  const signedIn = await browser.request(new URL(form.action, gatehouse.url).href, { form: form.fields });
  assert.equal(signedIn.status, 303, await signedIn.text());
  return { browser, userId: user.id };
}

/** Starts an HTTP server on 127.0.0.1 that serves fixed responses by path, such as client ID metadata documents or a redirect target. */
export async function startDocumentServer(): Promise<{
  origin: string;
  serve(path: string, response: { status?: number; body: string; headers?: Record<string, string>; delayMilliseconds?: number }): void;
  requests: string[];
  close(): Promise<void>;
}> {
  const routes = new Map<string, { status?: number; body: string; headers?: Record<string, string>; delayMilliseconds?: number }>();
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const route = routes.get((request.url ?? '').split('?')[0]!);
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    const send = () => response.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers }).end(route.body);
    if (route.delayMilliseconds) setTimeout(send, route.delayMilliseconds).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('document server has no address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    serve(path, response) {
      routes.set(path, response);
    },
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Tokens and the client they were issued to, from obtainTokens. */
export interface IssuedTokens {
  clientId: string;
  accessToken: string;
  refreshToken: string;
  redirectURI: string;
}

/**
 * Registers a public client, runs consent in the signed-in browser and redeems the code. Tests of what
 * happens after the code exchange use it to get a valid access and refresh token.
 */
export async function obtainTokens(
  gatehouse: TestGatehouse,
  browser: BrowserClient,
  organizationId: string,
  options: { scope?: string; resource?: string } = {},
): Promise<IssuedTokens> {
  const resource = options.resource ?? `${gatehouse.url}/mcp`;
  const redirectURI = 'http://127.0.0.1:40000/callback';
  const client = await registerClient(gatehouse, { client_name: 'Test tool', redirect_uris: [redirectURI] });
  const pkce = pkcePair();
  const callback = await consent(browser, authorizationURL(gatehouse, { clientId: client.client_id, redirectURI, challenge: pkce.challenge, ...(options.scope ? { scope: options.scope } : {}) }, { resource }), organizationId);
  const code = callback.searchParams.get('code');
  assert.ok(code, callback.href);
  const token = await tokenRequest(gatehouse, {
    grant_type: 'authorization_code',
    code,
    code_verifier: pkce.verifier,
    redirect_uri: redirectURI,
    client_id: client.client_id,
    resource,
  });
  assert.equal(token.status, 200, token.text);
  return { clientId: client.client_id, accessToken: String(token.body.access_token), refreshToken: String(token.body.refresh_token), redirectURI };
}
