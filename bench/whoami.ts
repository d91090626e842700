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
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';
import pg from 'pg';

import { createApp } from '../src/app/create-app.js';
import { createAPIKey } from '../src/auth/api-keys.js';
import type { Config } from '../src/config/config.js';
import type { DatabaseTarget } from '../src/db/database.js';
import { addMembership } from '../src/model/memberships.js';
import { createOrganization } from '../src/model/organizations.js';
import { createUser } from '../src/model/users.js';

const TARGET_RATIO = 0.8;

type DatabaseKind = 'sqlite' | 'postgres';

interface Options {
  database: DatabaseKind;
  durationSeconds: number;
  connections: number;
  rounds: number;
  warmupSeconds: number;
  profileDir: string | undefined;
}

/** Messages from the server child to the parent over the fork IPC channel. */
type ServerMessage = { type: 'ready'; url: string; key: string } | { type: 'failed'; message: string } | { type: 'cpu'; microseconds: number };

interface Route {
  name: string;
  path: string;
  headers: Record<string, string>;
}

interface RunFigures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  /** CPU time (user + system, all threads) the server process spent per request. */
  serverCPUMicroseconds: number;
}

/** Parses and validates the command line, and exits with a usage message on an invalid value. */
function parseOptions(argv: string[]): Options & { serve: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        database: { type: 'string', default: 'sqlite' },
        duration: { type: 'string', default: '10' },
        connections: { type: 'string', default: '10' },
        rounds: { type: 'string', default: '3' },
        warmup: { type: 'string', default: '2' },
        profile: { type: 'string' },
        serve: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  const database = values.database;
  if (database !== 'sqlite' && database !== 'postgres') usage(`--database must be sqlite or postgres, not ${database}`);
  if (database === 'postgres' && !process.env.TEST_DATABASE_URL) usage('--database postgres needs TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test');
  return {
    database,
    durationSeconds: integerOption('--duration', values.duration, 600),
    connections: integerOption('--connections', values.connections, 1000),
    rounds: integerOption('--rounds', values.rounds, 20, 2),
    warmupSeconds: integerOption('--warmup', values.warmup, 60, 0),
    profileDir: values.profile,
    serve: values.serve,
  };
}

function integerOption(flag: string, text: string, max: number, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) usage(`${flag} must be an integer from ${min} to ${max}, not ${text}`);
  return value;
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: npx tsx bench/whoami.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N] [--rounds N] [--warmup SECONDS] [--profile DIR]`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Server role (child process)
// ---------------------------------------------------------------------------------------------

/** Creates an empty database: a file in a new temporary directory, or a fresh PostgreSQL schema. */
async function createDatabase(kind: DatabaseKind): Promise<{ target: DatabaseTarget; dataDir: string; cleanup(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const removeDirectory = () => rmSync(directory, { recursive: true, force: true });
  if (kind === 'sqlite') {
    return { target: { kind: 'sqlite', file: join(directory, 'gatehouse.sqlite') }, dataDir: directory, cleanup: async () => removeDirectory() };
  }

  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    removeDirectory();
    throw new Error('--database postgres needs TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test');
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
    await admin.query(`create schema ${schema}`);
  } catch (error) {
    removeDirectory();
    throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }
  return {
    target: { kind: 'postgres', url, schema },
    dataDir: directory,
    async cleanup() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
      removeDirectory();
    },
  };
}

/**
 * Starts Gatehouse on 127.0.0.1 with one organization, one member and one API key, and sends the URL
 * and key to the parent. Shuts down and drops the database when the parent sends 'stop' or exits.
 */
async function serve(options: Options): Promise<void> {
  const send = (message: ServerMessage) => process.send?.(message);
  let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      await app?.close();
    } finally {
      await database?.cleanup();
      process.exit(code);
    }
  };
  process.on('message', (message) => {
    if (message === 'stop') void stop(0);
    if (message === 'cpu') {
      const usage = process.cpuUsage();
      send({ type: 'cpu', microseconds: usage.user + usage.system });
    }
  });
  // The parent may exit without sending 'stop', so the schema or temporary directory is removed here too.
  process.on('disconnect', () => void stop(1));
  process.on('SIGINT', () => void stop(130));
  process.on('SIGTERM', () => void stop(143));

  try {
    database = await createDatabase(options.database);
    const config: Config = {
      env: 'production',
      publicUrl: 'http://127.0.0.1:0',
      host: '127.0.0.1',
      port: 0,
      dataDir: database.dataDir,
      database: database.target.kind === 'sqlite' ? { kind: 'sqlite', file: database.target.file } : { kind: 'postgres', url: database.target.url },
      secret: randomBytes(32),
      session: { idleSeconds: 3600, maxSeconds: 86_400 },
      oneTimeLinkSeconds: 3600,
      allowHttpLoopbackIssuers: false,
      allowLoopbackFetch: false,
      trustProxy: false,
      // Fastify logs two info lines per request, which would dominate the profile. Warnings go to stderr
      // so that the parent's report on stdout stays clean.
      logLevel: 'warn',
    };
    app = await createApp(config, { logDestination: process.stderr, database: database.target });
    await app.server.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    config.publicUrl = `http://127.0.0.1:${address.port}`;

    const { db } = app.context.store;
    const now = app.context.clock();
    const { organization, groups } = await createOrganization(db, { name: 'Bench Org', plan: 'pro', now });
    const user = await createUser(db, { email: 'bench@example.com', name: 'Bench User', now });
    await addMembership(db, { organizationId: organization.id, userId: user.id, groupId: groups.engineers, now });
    const { key } = await createAPIKey(app.context, { organizationId: organization.id, userId: user.id, name: 'bench' });

    send({ type: 'ready', url: config.publicUrl, key });
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    await stop(1);
  }
}

// ---------------------------------------------------------------------------------------------
// Load role (parent process)
// ---------------------------------------------------------------------------------------------

/** Forks this file with `--serve` and waits for the server's URL and API key. */
function startServer(options: Options): Promise<{ child: ChildProcess; url: string; key: string }> {
  const args = ['--serve', '--database', options.database];
  const execArgv = [...process.execArgv];
  if (options.profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
  const child = fork(fileURLToPath(import.meta.url), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error('server did not start within 60 s'));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited before it was ready (code ${code}, signal ${signal})`));
    });
    child.once('message', (message: ServerMessage) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve({ child, url: message.url, key: message.key });
      else reject(new Error(`server failed to start:\n${message.type === 'failed' ? message.message : JSON.stringify(message)}`));
    });
  });
}

/** Asks the server to shut down and clean up its database, and kills it if it is still running after 30 s. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send('stop');
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Returns the CPU time the server process has used so far, in microseconds. */
function serverCPU(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not report its CPU time within 10 s')), 10_000);
    const onMessage = (message: ServerMessage) => {
      if (message.type !== 'cpu') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message.microseconds);
    };
    child.on('message', onMessage);
    child.send('cpu');
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

/**
 * Runs autocannon against one route for `seconds` and returns its figures. Latencies are collected
 * from the per-response events because autocannon's own histogram records whole milliseconds, too
 * coarse for a route that responds in about a millisecond. Throws if any request failed or was not 2xx.
 */
function load(url: string, route: Route, seconds: number, connections: number): Promise<Omit<RunFigures, 'serverCPUMicroseconds'>> {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`load is only sent to 127.0.0.1, not to ${url}`);
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: `${url}${route.path}`, headers: route.headers, connections, pipelining: 1, duration: seconds, timeout: 10 },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
          return reject(
            new Error(
              `${route.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses ` +
                `(status counts ${JSON.stringify(result.statusCodeStats ?? {})})`,
            ),
          );
        }
        if (latencies.length === 0 || result.duration <= 0) return reject(new Error(`${route.name}: no responses`));
        latencies.sort((a, b) => a - b);
        resolve({
          requestsPerSecond: result.requests.total / result.duration,
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
          requests: result.requests.total,
        });
      },
    );
    instance.on('response', (_client, _statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Warms up and measures both routes alternately, printing a Markdown report to stdout. */
async function measure(options: Options): Promise<void> {
  const command = ['npx tsx', relative(process.cwd(), fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(' ');
  const { child, url, key } = await startServer(options);
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
      for (const route of routes) await load(url, route, options.warmupSeconds, options.connections);
    }

    const runs = new Map<Route, RunFigures[]>(routes.map((route) => [route, []]));
    for (let round = 1; round <= options.rounds; round++) {
      for (const route of routes) {
        const cpuBefore = await serverCPU(child);
        const measured = await load(url, route, options.durationSeconds, options.connections);
        const figures = { ...measured, serverCPUMicroseconds: ((await serverCPU(child)) - cpuBefore) / measured.requests };
        runs.get(route)!.push(figures);
        console.error(
          `round ${round}/${options.rounds} ${route.name}: ${figures.requests} requests, ${figures.requestsPerSecond.toFixed(0)} req/s, ` +
            `p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, server CPU ${figures.serverCPUMicroseconds.toFixed(0)} µs/req`,
        );
      }
    }

    const summary = routes.map((route) => {
      const list = runs.get(route)!;
      return {
        route,
        list,
        requestsPerSecond: median(list.map((run) => run.requestsPerSecond)),
        p50: median(list.map((run) => run.p50)),
        p99: median(list.map((run) => run.p99)),
        serverCPU: median(list.map((run) => run.serverCPUMicroseconds)),
      };
    });
    const [health, whoami] = summary as [(typeof summary)[number], (typeof summary)[number]];
    const ratio = whoami.requestsPerSecond / health.requestsPerSecond;

    const cpu = cpus();
    const lines = [
      `## Gatehouse whoami benchmark (${options.database})`,
      '',
      `- Command: \`${command}\``,
      `- Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores`,
      `- ${options.connections} connections, pipelining 1, ${options.rounds} rounds of ${options.durationSeconds} s per route after ${options.warmupSeconds} s warm-up each; figures are the median of rounds`,
      '',
      '| route | req/s | p50 ms | p99 ms | server CPU µs/req |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...summary.map(
        (row) => `| ${row.route.name} | ${row.requestsPerSecond.toFixed(0)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.serverCPU.toFixed(0)} |`,
      ),
      '',
      `Throughput ratio whoami / healthz: ${(ratio * 100).toFixed(1)} % (target ≥ ${TARGET_RATIO * 100} %: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`,
      '',
      'Per round, req/s: ' + summary.map((row) => `${row.route.path} ${row.list.map((run) => run.requestsPerSecond.toFixed(0)).join(', ')}`).join('; '),
    ];
    console.log(lines.join('\n'));
  } finally {
    clearTimeout(watchdog);
    await stopServer(child);
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
