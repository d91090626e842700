/**
 * Throughput and latency of authenticated `GET /v1/whoami` (API key) next to unauthenticated
 * `GET /healthz`, on the same server in the same run.
 *
 *   npx tsx bench/whoami.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N]
 *                           [--rounds N] [--warmup SECONDS] [--profile DIR]
 *
 * The script forks itself: the child (`--serve`) owns the database and the HTTP server, the parent
 * only generates load with autocannon. Forking the server, rather than spawning the autocannon CLI,
 * keeps the server process free of benchmark code, lets the parent read autocannon's per-response
 * events (for sub-millisecond percentiles), and makes `--profile` a matter of adding `--cpu-prof` to
 * the child's flags. The two processes still share the machine's cores, and with PostgreSQL the
 * database shares them too. Absolute figures therefore differ a lot between machines. The ratio of
 * the two routes, measured alternately in one run, and the server's CPU time per request vary less.
 */
import { fileURLToPath } from 'node:url';

import { createAPIKey } from '../src/auth/api-keys.js';
import { addMembership } from '../src/model/memberships.js';
import { createOrganization } from '../src/model/organizations.js';
import { createUser } from '../src/model/users.js';
import { loadOptionSpecs, parseArguments, readLoadOptions } from './lib/cli.js';
import type { DatabaseKind } from './lib/database.js';
import { serveGatehouse } from './lib/gatehouse-server.js';
import { load, type Route } from './lib/load.js';
import { commandLine, machineLine, perRoundLine, routeTable } from './lib/report.js';
import { alternateRounds, summarizeRounds } from './lib/rounds.js';
import { startServer, stopChild } from './lib/server-process.js';

const TARGET_RATIO = 0.8;

interface Options {
  database: DatabaseKind;
  durationSeconds: number;
  connections: number;
  rounds: number;
  warmupSeconds: number;
  profileDir: string | undefined;
}

/** Message the server child sends once Gatehouse listens and the API key exists. */
interface ServerReady {
  type: 'ready';
  url: string;
  key: string;
}

/** Parses and validates the command line, and exits with a usage message on an invalid value. */
function parseOptions(argv: string[]): Options & { serve: boolean } {
  const values = parseArguments(argv, loadOptionSpecs, usage);
  return { ...readLoadOptions(values, usage, { maxConnections: 1000, minRounds: 2 }), serve: values.serve };
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: npx tsx bench/whoami.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N] [--rounds N] [--warmup SECONDS] [--profile DIR]`);
  process.exit(2);
}

/**
 * Runs the server role: Gatehouse with one organization, one member and one API key, whose URL and
 * key go to the parent.
 */
async function serve(options: Options): Promise<void> {
  await serveGatehouse(options.database, {
    async setUp(app, config): Promise<ServerReady> {
      const { db } = app.context.store;
      const now = app.context.clock();
      const { organization, groups } = await createOrganization(db, { name: 'Bench Org', plan: 'pro', now });
      const user = await createUser(db, { email: 'bench@example.com', name: 'Bench User', now });
      await addMembership(db, { organizationId: organization.id, userId: user.id, groupId: groups.engineers, now });
      const { key } = await createAPIKey(app.context, { organizationId: organization.id, userId: user.id, name: 'bench' });
      return { type: 'ready', url: config.publicUrl, key };
    },
  });
}

/** Throws unless both routes return 200 and whoami authenticated the request by the API key. */
async function checkRoutes(url: string, key: string): Promise<void> {
  const health = await fetch(`${url}/healthz`);
  if (health.status !== 200) throw new Error(`GET /healthz returned ${health.status}, expected 200: ${await health.text()}`);

  const anonymous = await fetch(`${url}/v1/whoami`);
  if (anonymous.status !== 401) throw new Error(`GET /v1/whoami without a key returned ${anonymous.status}, expected 401`);

  const whoami = await fetch(`${url}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
  const body = await whoami.text();
  if (whoami.status !== 200) throw new Error(`GET /v1/whoami with the key returned ${whoami.status}, expected 200: ${body}`);
  const parsed = JSON.parse(body) as { authentication?: { method?: string } };
  if (parsed.authentication?.method !== 'api_key') throw new Error(`GET /v1/whoami did not authenticate by API key: ${body}`);
}

/** Warms up and measures both routes alternately, printing a Markdown report to stdout. */
async function measure(options: Options): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const command = commandLine(script);
  const { child, ready } = await startServer<ServerReady>(script, options.database, options.profileDir);
  const { url, key } = ready;
  // Bounded even if something hangs: warm-up, every round, and a minute of slack for start and stop.
  const budgetSeconds = 2 * options.warmupSeconds + 2 * options.rounds * options.durationSeconds + 60;
  const watchdog = setTimeout(() => {
    console.error(`benchmark timed out after ${budgetSeconds} s, stopping the server`);
    child.kill('SIGTERM');
    process.exit(1);
  }, budgetSeconds * 1000);

  try {
    await checkRoutes(url, key);
    const routes: Route[] = [
      { name: 'GET /healthz', path: '/healthz', headers: {} },
      { name: 'GET /v1/whoami (API key)', path: '/v1/whoami', headers: { authorization: `Bearer ${key}` } },
    ];
    if (options.warmupSeconds > 0) {
      for (const route of routes) await load(url, route, { seconds: options.warmupSeconds }, options.connections);
    }

    const runs = await alternateRounds(child, routes, options.rounds, (route) => load(url, route, { seconds: options.durationSeconds }, options.connections));
    const summary = summarizeRounds(routes, runs);
    const [health, whoami] = summary as [(typeof summary)[number], (typeof summary)[number]];
    const ratio = whoami.requestsPerSecond / health.requestsPerSecond;

    const lines = [
      `## Gatehouse whoami benchmark (${options.database})`,
      '',
      `- Command: \`${command}\``,
      machineLine(),
      `- ${options.connections} connections, pipelining 1, ${options.rounds} rounds of ${options.durationSeconds} s per route after ${options.warmupSeconds} s warm-up each; figures are the median of rounds`,
      '',
      ...routeTable(summary),
      '',
      `Throughput ratio whoami / healthz: ${(ratio * 100).toFixed(1)} % (target ≥ ${TARGET_RATIO * 100} %: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`,
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
