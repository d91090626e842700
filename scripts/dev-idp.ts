/**
 * Development-only OpenID Connect provider built on oidc-provider, with one confidential client,
 * three demo users and plain HTML sign-in pages. `npx tsx scripts/dev-idp.ts --help` lists the
 * options. Once listening, it prints one JSON line on stdout (issuer, client, users) that tests
 * read. Everything else goes to stderr.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';

export interface DevIdpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Behave like Google: Google's demo accounts, `hd` for Workspace accounts, one unverified address. */
  google?: boolean;
}

export interface DevIdp {
  /** `http://HOST:PORT` with the bound port and no trailing slash. */
  issuer: string;
  close(): Promise<void>;
}

export const DEMO_PASSWORD = 'password';
export const DEMO_USERS = [
  { sub: 'user-alice', email: 'alice@example.com', name: 'Alice Example' },
  { sub: 'user-bob', email: 'bob@example.com', name: 'Bob Example' },
  { sub: 'user-carol', email: 'carol@other.test', name: 'Carol Other' },
] as const;

/** Accounts in --google mode: Workspace (with `hd`), consumer, and an address Google has not verified. */
export const GOOGLE_DEMO_USERS: readonly DemoUser[] = [
  { sub: '108000000000000000001', email: 'alice@example.com', name: 'Alice Example', hd: 'example.com' },
  { sub: '108000000000000000002', email: 'dana@example.com', name: 'Dana Example', hd: 'example.com' },
  { sub: '108000000000000000003', email: 'erin@gmail.com', name: 'Erin Consumer' },
  { sub: '108000000000000000004', email: 'grace@example.com', name: 'Grace Personal' },
  { sub: '108000000000000000005', email: 'frank@example.com', name: 'Frank Unverified', hd: 'example.com', emailVerified: false },
];

interface DemoUser {
  sub: string;
  email: string;
  name: string;
  hd?: string;
  emailVerified?: boolean;
}

const DEFAULTS: DevIdpOptions = {
  host: '127.0.0.1', port: 3900, clientId: 'gatehouse-dev', clientSecret: 'gatehouse-dev-secret',
  redirectUris: ['http://localhost:3000/signin/callback'],
};
const SCOPES = ['openid', 'email', 'profile'];
const MAX_FORM_BYTES = 16 * 1024;
const INTERACTION_ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/;

// oidc-provider ships no type declarations and @types/oidc-provider is not a dependency, so the
// part of its API used here is declared by hand.
interface Interaction {
  uid: string;
  prompt: { name: string; details: { missingOIDCClaims?: string[] } };
  params: Record<string, unknown>;
  session?: { accountId: string };
  grantId?: string;
}
interface Grant {
  accountId: string;
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
type InteractionResult =
  | { login?: { accountId: string }; consent?: { grantId: string } }
  | { error: string; error_description: string };
interface Provider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResult,
    options?: { mergeWithLastSubmission: boolean }): Promise<void>;
  Grant: { new (init: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> };
  Client: { find(id: string): Promise<unknown> };
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => Provider;

async function loadProviderClass(): Promise<ProviderClass> {
  // A non-literal specifier keeps tsc from looking for the missing declarations.
  const specifier: string = 'oidc-provider';
  const loaded = (await import(specifier)) as { default: ProviderClass };
  return loaded.default;
}

/**
 * Listens on `options.host:options.port`, then builds the provider with the bound port in its
 * issuer. Keys, cookie secrets and all state live in memory and are lost when the process exits.
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const Provider = await loadProviderClass();
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: `dev-${randomBytes(8).toString('hex')}`, alg: 'RS256', use: 'sig' };

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const issuer = `http://${host}:${port}`;

  let provider: Provider;
  try {
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: options.clientId,
          client_secret: options.clientSecret,
          redirect_uris: options.redirectUris,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          // A client registers one method, but oidc-provider 9 accepts client_secret_post for a
          // client_secret_basic client too. So openid-client 6 works with ClientSecretBasic and with
          // ClientSecretPost, which it uses by default when given only a secret.
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      responseTypes: ['code'],
      jwks: { keys: [signingKey] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { required: () => true },
      scopes: SCOPES,
      claims: { openid: ['sub', 'hd'], email: ['email', 'email_verified'], profile: ['name'] },
      // By default oidc-provider puts only `sub` in the ID token of a code flow and serves email
      // and name from userinfo, but the relying parties under test read them from the ID token.
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: false } },
      // Plain numbers, because most of oidc-provider's default TTL functions print a notice on stdout.
      ttl: { AccessToken: 3600, IdToken: 3600, Interaction: 3600, Session: 86400, Grant: 86400 },
      findAccount: (_ctx: unknown, sub: string) => {
        const user = usersOf(options).find((candidate) => candidate.sub === sub);
        return user && {
          accountId: user.sub,
          claims: () => ({
            sub: user.sub,
            email: user.email,
            email_verified: user.emailVerified ?? true,
            name: user.name,
            ...(user.hd ? { hd: user.hd } : {}),
          }),
        };
      },
      renderError: (ctx: { type: string; body: string }, out: Record<string, unknown>) => {
        ctx.type = 'html';
        const text = [out.error, out.error_description].filter(Boolean).join(': ');
        ctx.body = page('Sign-in error', `<p>${escapeHtml(text)}</p>`);
      },
    });
    // oidc-provider validates static clients on first use, so look the client up now to fail at
    // start on metadata it rejects, such as a malformed --redirect-uri.
    await provider.Client.find(options.clientId);
  } catch (error) {
    server.close();
    throw error;
  }

  const handleProvider = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = INTERACTION_ROUTE.exec(new URL(req.url ?? '/', issuer).pathname);
    if (!match?.[1]) {
      handleProvider(req, res);
      return;
    }
    handleInteraction(provider, usersOf(options), req, res, match[1], match[2]).catch((error: unknown) => sendError(res, error));
  });

  const close = () => new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
  return { issuer, close };
}

function usersOf(options: DevIdpOptions): readonly DemoUser[] {
  return options.google ? GOOGLE_DEMO_USERS : DEMO_USERS;
}

async function handleInteraction(provider: Provider, users: readonly DemoUser[], req: IncomingMessage, res: ServerResponse,
  uid: string, action: string | undefined): Promise<void> {
  const interaction = await provider.interactionDetails(req, res);
  if (interaction.uid !== uid) {
    sendHtml(res, 400, page('Sign-in error', '<p>This sign-in page does not belong to the current sign-in.</p>'));
    return;
  }
  const method = action === undefined ? 'GET' : 'POST';
  if (req.method !== method) {
    res.writeHead(405, { allow: method }).end();
    return;
  }
  const prompt = interaction.prompt.name;

  if (action === 'abort') {
    const result = { error: 'access_denied', error_description: 'The user cancelled the sign-in' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } else if (prompt === 'consent' && interaction.session && action === undefined) {
    const grantId = await grantRequested(provider, interaction, interaction.session.accountId);
    await provider.interactionFinished(req, res, { consent: { grantId } });
  } else if (prompt === 'login' && action === undefined) {
    const hint = interaction.params.login_hint;
    sendHtml(res, 200, loginPage(users, uid, typeof hint === 'string' ? hint : ''));
  } else if (prompt === 'login' && action === 'login') {
    const form = await readForm(req);
    if (!form) {
      sendHtml(res, 413, page('Sign-in error', '<p>The form was too large.</p>'));
      return;
    }
    const email = form.get('email')?.trim() ?? '';
    const user = users.find((candidate) => candidate.email === email.toLowerCase());
    if (!user || form.get('password') !== DEMO_PASSWORD) {
      sendHtml(res, 401, loginPage(users, uid, email, 'Unknown user or wrong password.'));
      return;
    }
    const grantId = await grantRequested(provider, interaction, user.sub);
    const result = { login: { accountId: user.sub }, consent: { grantId } };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } else {
    sendHtml(res, 400, page('Sign-in error', `<p>Cannot handle the ${escapeHtml(prompt)} step here.</p>`));
  }
}

/** Grants the client every supported scope it requested, on the user's behalf, and returns the grant id. */
async function grantRequested(provider: Provider, interaction: Interaction, accountId: string): Promise<string> {
  const clientId = String(interaction.params.client_id);
  const found = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
  // A forced re-login can switch accounts, and the previous account's grant must not carry over.
  const grant = found?.accountId === accountId ? found : new provider.Grant({ accountId, clientId });
  const requested = typeof interaction.params.scope === 'string' ? interaction.params.scope.split(' ') : [];
  grant.addOIDCScope(requested.filter((scope) => SCOPES.includes(scope)).join(' '));
  // oidc-provider sets this only for the claims request parameter, which is disabled here.
  const claims = interaction.prompt.details.missingOIDCClaims;
  if (claims) grant.addOIDCClaims(claims);
  return grant.save();
}

/** Reads a URL-encoded body, or resolves to undefined when it exceeds MAX_FORM_BYTES. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Drains an oversized body instead of stopping early, so the client still gets the 413.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_FORM_BYTES) chunks.push(chunk);
  }
  return size > MAX_FORM_BYTES ? undefined : new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(demoUsers: readonly DemoUser[], uid: string, email: string, error?: string): string {
  const base = `/interaction/${encodeURIComponent(uid)}`;
  const errorText = error ? ` <strong id="password-error" role="alert">${escapeHtml(error)}</strong>` : '';
  const users = demoUsers.map((user) => escapeHtml(user.email)).join(', ');
  return page(
    'Sign in',
    `<h1>Development identity provider</h1>
<p>Demo users: ${users}. Password: ${escapeHtml(DEMO_PASSWORD)}.</p>
<form method="post" action="${escapeHtml(base)}/login">
<p><label for="email">Email</label> <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(email)}"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password"${error ? ' aria-describedby="password-error"' : ''}>${errorText}</p>
<p><button type="submit">Sign in</button></p>
</form>
<form method="post" action="${escapeHtml(base)}/abort">
<p><button type="submit">Cancel</button></p>
</form>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
${body}
</body></html>
`;
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'",
  });
  res.end(html);
}

/** Logs an interaction error and sends it as a page, showing the text only of oidc-provider's 4xx errors. */
function sendError(res: ServerResponse, error: unknown): void {
  const { statusCode, error_description: description } = (error ?? {}) as { statusCode?: number; error_description?: string };
  const known = statusCode !== undefined && statusCode >= 400 && statusCode < 500 && description !== undefined;
  console.error(known ? `interaction request failed: ${statusCode} ${description}` : error);
  if (res.headersSent) return void res.destroy();
  sendHtml(res, known ? statusCode : 500, page('Sign-in error', `<p>${escapeHtml(known ? description : 'Something went wrong.')}</p>`));
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

const HELP = `Usage: npx tsx scripts/dev-idp.ts [options]

  --host <host>             address to listen on (default ${DEFAULTS.host})
  --port <port>             port to listen on, 0 picks a free one (default ${DEFAULTS.port})
  --client-id <id>          client id (default ${DEFAULTS.clientId})
  --client-secret <secret>  client secret (default ${DEFAULTS.clientSecret})
  --redirect-uri <uri>      allowed redirect URI, repeatable (default ${DEFAULTS.redirectUris.join(' ')})
  --google                  act like Google sign-in: Google demo accounts with hd claims, one unverified
  --help                    print this help
`;

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      host: { type: 'string', default: DEFAULTS.host },
      port: { type: 'string', default: String(DEFAULTS.port) },
      'client-id': { type: 'string', default: DEFAULTS.clientId },
      'client-secret': { type: 'string', default: DEFAULTS.clientSecret },
      'redirect-uri': { type: 'string', multiple: true, default: DEFAULTS.redirectUris },
      google: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!/^\d+$/.test(args.port) || Number(args.port) > 65535) {
    throw new Error(`invalid --port ${args.port}: expected an integer from 0 to 65535`);
  }
  const clientId = args['client-id'];
  const clientSecret = args['client-secret'];
  const google = args.google;
  // Without --redirect-uri, Google mode registers Gatehouse's Google callback instead of the OIDC one.
  const redirectUris = google && args['redirect-uri'] === DEFAULTS.redirectUris
    ? ['http://localhost:3000/signin/google/callback']
    : args['redirect-uri'];

  console.error('WARNING: this is a development OpenID provider with demo users and a shared password. Do not use it in production.');
  const idp = await startDevIdp({ host: args.host, port: Number(args.port), clientId, clientSecret, redirectUris, google });
  const users = (google ? GOOGLE_DEMO_USERS : DEMO_USERS).map((user) => user.email);
  const { issuer } = idp;
  process.stdout.write(`${JSON.stringify({ issuer, clientId, clientSecret, redirectUris, users, password: DEMO_PASSWORD })}\n`);
  const instructions = google
    ? [
        'Start Gatehouse with these settings to use this provider as "Continue with Google":',
        `  GATEHOUSE_GOOGLE_ISSUER=${issuer} GATEHOUSE_GOOGLE_CLIENT_ID=${clientId} GATEHOUSE_GOOGLE_CLIENT_SECRET=${clientSecret} npm start`,
        `Accounts: ${users.join(', ')}; the password is "${DEMO_PASSWORD}".`,
        'alice and dana are Workspace accounts of example.com (hd claim), erin is a consumer account,',
        'grace has no hd claim, and Google has not verified frank\'s address.',
      ]
    : [
        'In Gatehouse, open Settings > Sign-in connections and add a connection with:',
        `  Issuer URL:     ${issuer}`,
        `  Client ID:      ${clientId}`,
        `  Client secret:  ${clientSecret}`,
        '  Email domains:  example.com',
        `Then sign in as alice@example.com or bob@example.com with the password "${DEMO_PASSWORD}".`,
      ];
  console.error(['', ...instructions, `This provider only accepts the redirect URIs ${redirectUris.join(', ')}.`, ''].join('\n'));

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void idp.close().finally(() => process.exit(0)));
  }
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    // oidc-provider errors carry the detail in error_description.
    const { message, error_description: detail } = error as { message?: string; error_description?: string };
    console.error(detail ? `${message}: ${detail}` : (message ?? error));
    process.exit(1);
  });
}
