/**
 * Throughput and latency of the OAuth token endpoint (refresh grant) and of an authenticated MCP
 * tool call, each next to unauthenticated `GET /healthz`, on the same server in the same run.
 *
 *   npx tsx bench/mcp-oauth.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N]
 *                              [--rounds N] [--warmup SECONDS] [--tokens N] [--profile DIR]
 *
 * Like whoami.ts, the script forks itself into a server child and a load-generating parent. A refresh
 * token is single use (it rotates), so the child issues a pool of `--tokens` refresh tokens before
 * the run and every refresh request takes the next one. The run fails if the pool runs out; raise
 * `--tokens` then. The MCP request is `tools/call whoami` with an OAuth access token, the same body
 * every time, against the stateless Streamable HTTP endpoint.
 */
import { fileURLToPath } from 'node:url';

import { addSeconds } from '../src/app/context.js';
import { newId, randomToken, sha256Hex } from '../src/crypto/tokens.js';
import { addMembership } from '../src/model/memberships.js';
import { createOrganization } from '../src/model/organizations.js';
import { createUser } from '../src/model/users.js';
import { registerClient } from '../src/oauth/registration.js';
import { ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX } from '../src/oauth/tokens.js';
import { loadOptionSpecs, optionReaders, parseArguments, readLoadOptions } from './lib/cli.js';
import type { DatabaseKind } from './lib/database.js';
import { serveGatehouse } from './lib/gatehouse-server.js';
import { load, type RequestFeed, type Route } from './lib/load.js';
import { commandLine, machineLine, perRoundLine, routeTable } from './lib/report.js';
import { alternateRounds, summarizeRounds } from './lib/rounds.js';
import { startServer, stopChild } from './lib/server-process.js';

interface Options {
  database: DatabaseKind;
  durationSeconds: number;
  connections: number;
  rounds: number;
  warmupSeconds: number;
  tokens: number;
  profileDir: string | undefined;
}

/** Message the server child sends once Gatehouse listens and the tokens exist. */
interface ServerReady {
  type: 'ready';
  url: string;
  clientId: string;
  accessToken: string;
  refreshTokens: string[];
}

/** Parses and validates the command line, and exits with a usage message on an invalid value. */
function parseOptions(argv: string[]): Options & { serve: boolean } {
  const values = parseArguments(argv, { ...loadOptionSpecs, tokens: { type: 'string', default: '60000' } }, usage);
  const { integerOption } = optionReaders(usage);
  return {
    ...readLoadOptions(values, usage, { maxConnections: 1000, minRounds: 2 }),
    tokens: integerOption('--tokens', values.tokens, 1_000_000, 100),
    serve: values.serve,
  };
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npx tsx bench/mcp-oauth.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N] [--rounds N] [--warmup SECONDS] [--tokens N] [--profile DIR]`,
  );
  process.exit(2);
}

/**
 * Runs the server role: one organization, one member, one public client with one grant, one access
 * token and `--tokens` refresh tokens of that grant. The tokens are inserted directly in batches,
 * because redeeming that many codes through the endpoint would take longer than the run.
 */
async function serve(options: Options): Promise<void> {
  await serveGatehouse(options.database, {
    async setUp(app, config): Promise<ServerReady> {
      const { db } = app.context.store;
      const now = app.context.clock();
      const { organization, groups } = await createOrganization(db, { name: 'Bench Org', plan: 'pro', now });
      const user = await createUser(db, { email: 'bench@example.com', name: 'Bench User', now });
      await addMembership(db, { organizationId: organization.id, userId: user.id, groupId: groups.engineers, now });
      const client = await registerClient(app.context, { client_name: 'Bench tool', redirect_uris: ['http://127.0.0.1/callback'] });
      const clientId = String(client.client_id);

      const grantId = newId('grant');
      await db
        .insertInto('oauth_grants')
        .values({ id: grantId, client_id: clientId, user_id: user.id, organization_id: organization.id, scope: 'gatehouse:read', resource: `${config.publicUrl}/mcp`, created_at: now.toISOString(), last_used_at: null, revoked_at: null })
        .execute();
      const accessToken = `${ACCESS_TOKEN_PREFIX}${randomToken(32)}`;
      const refreshTokens = Array.from({ length: options.tokens }, () => `${REFRESH_TOKEN_PREFIX}${randomToken(32)}`);
      const row = (token: string, kind: 'access' | 'refresh', seconds: number) => ({
        token_hash: sha256Hex(token),
        grant_id: grantId,
        kind,
        scope: 'gatehouse:read',
        created_at: now.toISOString(),
        expires_at: addSeconds(now, seconds),
        used_at: null,
      });
      await db.insertInto('oauth_tokens').values(row(accessToken, 'access', 3600)).execute();
      for (let start = 0; start < refreshTokens.length; start += 1000) {
        await db.insertInto('oauth_tokens').values(refreshTokens.slice(start, start + 1000).map((token) => row(token, 'refresh', 3600))).execute();
      }
      return { type: 'ready', url: config.publicUrl, clientId, accessToken, refreshTokens };
    },
  });
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
const TOOL_CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } });

/** Builds the feed of tool calls: the same body every time, and a response counts only when it contains a tool result. */
function toolCallFeed(accessToken: string): RequestFeed {
  const body = Buffer.from(TOOL_CALL);
  return {
    headers: { ...MCP_HEADERS, authorization: `Bearer ${accessToken}` },
    exhausted: false,
    rejectedBody: TOOL_CALL,
    take: () => body,
    accepts: (status, text) => status === 200 && text.includes('"result"') && !text.includes('"isError":true'),
    exhaustedMessage: () => 'unreachable: the tool call feed never runs out',
  };
}

/** One refresh request per pooled refresh token; a response counts only when it carries new tokens. */
class RefreshFeed implements RequestFeed {
  readonly headers = { 'content-type': 'application/x-www-form-urlencoded' };
  exhausted = false;
  readonly rejectedBody: string;
  private next = 0;

  constructor(
    private readonly clientId: string,
    private readonly tokens: string[],
  ) {
    this.rejectedBody = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'ghr_used_up', client_id: clientId }).toString();
  }

  take(): Buffer | undefined {
    const token = this.tokens[this.next];
    if (token === undefined) {
      this.exhausted = true;
      return undefined;
    }
    this.next++;
    return Buffer.from(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: this.clientId }).toString());
  }

  accepts(status: number, text: string): boolean {
    return status === 200 && text.includes('"refresh_token"');
  }

  exhaustedMessage(): string {
    return `all ${this.tokens.length} refresh tokens were used; run again with a larger --tokens`;
  }

  get used(): number {
    return this.next;
  }
}

/** Throws unless healthz, the tool call and one refresh return what the run expects. */
async function checkRoutes(ready: ServerReady): Promise<void> {
  const health = await fetch(`${ready.url}/healthz`);
  if (health.status !== 200) throw new Error(`GET /healthz returned ${health.status}, expected 200`);

  const anonymous = await fetch(`${ready.url}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: TOOL_CALL });
  if (anonymous.status !== 401) throw new Error(`POST /mcp without a token returned ${anonymous.status}, expected 401`);

  const call = await fetch(`${ready.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${ready.accessToken}` }, body: TOOL_CALL });
  const text = await call.text();
  if (call.status !== 200) throw new Error(`POST /mcp tools/call returned ${call.status}, expected 200: ${text.slice(0, 300)}`);
  const result = JSON.parse(text) as { result?: { content?: Array<{ text?: string }> } };
  const identity = JSON.parse(result.result?.content?.[0]?.text ?? '{}') as { authentication?: { method?: string } };
  if (identity.authentication?.method !== 'oauth') throw new Error(`POST /mcp tools/call did not authenticate by access token: ${text.slice(0, 300)}`);

  const [firstToken] = ready.refreshTokens;
  const refreshed = await fetch(`${ready.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: firstToken!, client_id: ready.clientId }).toString(),
  });
  if (refreshed.status !== 200) throw new Error(`POST /oauth/token refresh returned ${refreshed.status}, expected 200: ${await refreshed.text()}`);
  ready.refreshTokens.shift();
}

async function measure(options: Options): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const command = commandLine(script);
  const { child, ready } = await startServer<ServerReady>(script, options.database, options.profileDir, ['--tokens', String(options.tokens)]);
  const budgetSeconds = 3 * options.warmupSeconds + 3 * options.rounds * options.durationSeconds + 120;
  const watchdog = setTimeout(() => {
    console.error(`benchmark timed out after ${budgetSeconds} s, stopping the server`);
    child.kill('SIGTERM');
    process.exit(1);
  }, budgetSeconds * 1000);

  try {
    await checkRoutes(ready);
    const refreshFeed = new RefreshFeed(ready.clientId, ready.refreshTokens);
    const toolFeed = toolCallFeed(ready.accessToken);
    const health: Route = { name: 'GET /healthz', path: '/healthz', headers: {} };
    const refresh: Route = { name: 'POST /oauth/token (refresh_token)', path: '/oauth/token' };
    const tool: Route = { name: 'POST /mcp tools/call whoami (access token)', path: '/mcp' };
    const feeds = new Map<Route, RequestFeed>([
      [refresh, refreshFeed],
      [tool, toolFeed],
    ]);
    const routes = [health, refresh, tool];
    const run = (route: Route, seconds: number) => load(ready.url, route, { seconds }, options.connections, feeds.get(route));

    if (options.warmupSeconds > 0) {
      for (const route of routes) await run(route, options.warmupSeconds);
    }
    const runs = await alternateRounds(child, routes, options.rounds, (route) => run(route, options.durationSeconds));
    const summary = summarizeRounds(routes, runs);
    const [healthRow, refreshRow, toolRow] = summary as [(typeof summary)[number], (typeof summary)[number], (typeof summary)[number]];

    const lines = [
      `## Gatehouse OAuth refresh and MCP tool call benchmark (${options.database})`,
      '',
      `- Command: \`${command}\``,
      machineLine(),
      `- ${options.connections} connections, pipelining 1, ${options.rounds} rounds of ${options.durationSeconds} s per route after ${options.warmupSeconds} s warm-up each; figures are the median of rounds`,
      `- Refresh tokens used in warm-up and rounds: ${refreshFeed.used} of ${ready.refreshTokens.length}`,
      '',
      ...routeTable(summary),
      '',
      `Throughput ratio refresh / healthz: ${((refreshRow.requestsPerSecond / healthRow.requestsPerSecond) * 100).toFixed(1)} %`,
      `Throughput ratio tool call / healthz: ${((toolRow.requestsPerSecond / healthRow.requestsPerSecond) * 100).toFixed(1)} %`,
      '',
      perRoundLine(summary, (route) => route.path),
    ];
    console.log(lines.join('\n'));
  } finally {
    clearTimeout(watchdog);
    await stopChild(child);
  }
}

const options = parseOptions(process.argv.slice(2));
if (options.serve) {
  await serve(options);
} else {
  try {
    await measure(options);
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  }
}
