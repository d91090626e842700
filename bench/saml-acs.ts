/**
 * Cost of validating a signed SAML response, measured two ways on one Gatehouse server:
 *
 * (a) in-process: `validateSAMLResponse` called directly in a loop, one fresh response per call,
 *     timed with `process.hrtime.bigint()` (p50, p99, mean);
 * (b) over HTTP: `POST /saml/<id>/acs` next to `GET /healthz`, alternating rounds as in
 *     bench/whoami.ts (req/s, p50, p99, server CPU µs per request, and the throughput ratio).
 *
 *   npx tsx bench/saml-acs.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N]
 *                             [--rounds N] [--warmup SECONDS] [--timing-calls N] [--timing-warmup N]
 *                             [--max-responses N] [--profile DIR]
 *
 * Every accepted assertion ID goes into the replay store, so no response can be sent twice. The
 * script therefore signs a distinct response for every request before it measures anything: Okta's
 * shape (Response and Assertion both signed, RSA-SHA256, exclusive canonicalisation) on a connection
 * with the `okta` preset that allows sign-in started at the IdP. Without InResponseTo, the ACS
 * validates the response fully, writes its assertion ID to the replay store, and responds 200 with
 * a "Continue as …" confirmation page. It creates no user and no session.
 *
 * Processes: this file forks itself three ways. `--serve` runs Gatehouse in-process with createApp
 * on 127.0.0.1 and also runs the in-process timing loop (a), before any load. `--generate` signs
 * responses. One such process per core runs while nothing is measured, because signing costs
 * several milliseconds per response. The parent coordinates and runs autocannon for (b).
 *
 * How many responses: the parent first measures the ACS rate on a calibration batch, then signs
 * enough for the warm-up and all rounds at 1.5 times that rate, up to --max-responses. If the
 * planned run needs more, it stops before signing them. If the rounds use up the pool anyway, the
 * run fails. A response that is not 200 with "Continue as" in its body also fails the run. So would
 * a reused response, which the replay store rejects with 400.
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
import type { Config } from '../src/config/config.js';
import type { DatabaseTarget } from '../src/db/database.js';
import { createOrganization } from '../src/model/organizations.js';
import { validateSAMLResponse } from '../src/sso/saml/acs.js';
import { createSAMLConnection, findSAMLConnection } from '../src/sso/saml/connections.js';
import { acsURL, spEntityId } from '../src/sso/saml/service-provider.js';
import type { SPCredentials } from '../src/sso/saml/sp-credentials.js';
import { buildResponse, encodeResponse, signAssertion, signResponse, testIdPKeys } from '../test/support/saml-idp.js';

type DatabaseKind = 'sqlite' | 'postgres';

interface Options {
  database: DatabaseKind;
  durationSeconds: number;
  connections: number;
  rounds: number;
  warmupSeconds: number;
  timingCalls: number;
  timingWarmup: number;
  maxResponses: number;
  profileDir: string | undefined;
}

/** Responses for the checks before load and for measuring the ACS rate that sizes the pool. */
const CALIBRATION_RESPONSES = 400;
/** Factor by which the pool exceeds the responses that the measured rate would use. */
const POOL_MARGIN = 1.5;
/** Responses per message between a generator and the parent. */
const GENERATE_CHUNK = 500;
const OKTA_ENTITY_ID = `http://www.okta.com/exk${randomBytes(8).toString('hex')}`;
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

/** Message the server child sends once Gatehouse listens and the connection exists. */
interface ServerReady {
  type: 'ready';
  url: string;
  connectionId: string;
  idp: SPCredentials;
  idpEntityId: string;
  acsURL: string;
  audience: string;
}

/** Messages from the server child to the parent over the fork IPC channel. */
type ServerMessage =
  | ServerReady
  | { type: 'failed'; message: string }
  | { type: 'cpu'; microseconds: number }
  | { type: 'timing'; milliseconds: number[]; cpuMicrosecondsPerCall: number }
  | { type: 'used-assertions'; count: number };

/** Messages from the parent to the server child. */
type ServerRequest = 'stop' | 'cpu' | 'used-assertions' | { type: 'time'; responses: string[]; warmup: number };

/** Job for a generator: sign responses number `from` to `from + count - 1` of one run. */
interface GenerateJob {
  type: 'generate';
  idp: SPCredentials;
  idpEntityId: string;
  acsURL: string;
  audience: string;
  runId: string;
  from: number;
  count: number;
  issuedAt: string;
  lifetimeSeconds: number;
}

type GeneratorMessage = { type: 'generated'; responses: string[] } | { type: 'failed'; message: string };

interface Route {
  name: string;
  path: string;
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
function parseOptions(argv: string[]): Options & { role: 'measure' | 'serve' | 'generate' } {
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
        'timing-calls': { type: 'string', default: '2000' },
        'timing-warmup': { type: 'string', default: '200' },
        'max-responses': { type: 'string', default: '40000' },
        profile: { type: 'string' },
        serve: { type: 'boolean', default: false },
        generate: { type: 'boolean', default: false },
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
    connections: integerOption('--connections', values.connections, 200),
    rounds: integerOption('--rounds', values.rounds, 20, 1),
    warmupSeconds: integerOption('--warmup', values.warmup, 60, 0),
    timingCalls: integerOption('--timing-calls', values['timing-calls'], 20_000, 10),
    timingWarmup: integerOption('--timing-warmup', values['timing-warmup'], 5_000, 0),
    maxResponses: integerOption('--max-responses', values['max-responses'], 200_000, 1_000),
    profileDir: values.profile,
    role: roleOf(values),
  };
}

function roleOf(values: { serve: boolean; generate: boolean }): 'measure' | 'serve' | 'generate' {
  if (values.serve) return 'serve';
  if (values.generate) return 'generate';
  return 'measure';
}

function integerOption(flag: string, text: string, max: number, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) usage(`${flag} must be an integer from ${min} to ${max}, not ${text}`);
  return value;
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npx tsx bench/saml-acs.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N] [--rounds N] ` +
      '[--warmup SECONDS] [--timing-calls N] [--timing-warmup N] [--max-responses N] [--profile DIR]',
  );
  process.exit(2);
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

// ---------------------------------------------------------------------------------------------
// Generator role (child processes): signs responses
// ---------------------------------------------------------------------------------------------

/**
 * Signs one Okta-shaped response: the Assertion is signed first, then the Response around it, both
 * RSA-SHA256 with exclusive canonicalisation. Response and assertion IDs are unique within the run
 * because they carry the run ID and the response's number. Returns the base64 text of the XML.
 */
function signedResponse(job: GenerateJob, index: number): string {
  const xml = buildResponse({
    idpEntityId: job.idpEntityId,
    acsURL: job.acsURL,
    audience: job.audience,
    nameId: `00u${job.runId}${index}`,
    nameIdFormat: UNSPECIFIED_FORMAT,
    attributes: { email: [`user${index}@example.com`], firstName: ['Bench'], lastName: [`User ${index}`] },
    now: new Date(job.issuedAt),
    lifetimeSeconds: job.lifetimeSeconds,
    responseId: `_r${job.runId}x${index}`,
    assertionId: `_a${job.runId}x${index}`,
  });
  return encodeResponse(signResponse(signAssertion(xml, job.idp), job.idp));
}

/** Signs the responses of each job the parent sends, and exits on 'stop' or when the parent disconnects. */
function generateOnRequest(): void {
  process.on('message', (message: GenerateJob | 'stop') => {
    if (message === 'stop') process.exit(0);
    if (message.type !== 'generate') return;
    try {
      const responses: string[] = [];
      for (let index = message.from; index < message.from + message.count; index++) responses.push(signedResponse(message, index));
      process.send?.({ type: 'generated', responses } satisfies GeneratorMessage);
    } catch (error) {
      process.send?.({ type: 'failed', message: errorText(error) } satisfies GeneratorMessage);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Server role (child process): Gatehouse, and the in-process timing loop
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
 * Starts Gatehouse on 127.0.0.1 with one Enterprise organization and one Okta-preset SAML
 * connection for example.com that allows IdP-initiated sign-in, signed by a key pair made here.
 * Sends the parent what it needs to sign responses. Shuts down and drops the database when the
 * parent sends 'stop' or goes away.
 */
async function serve(options: Options): Promise<void> {
  const send = (message: ServerMessage) => process.send?.(message);
  let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let connectionId = '';
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
  process.on('message', (message: ServerRequest) => {
    if (message === 'stop') void stop(0);
    else if (message === 'cpu') {
      const usage = process.cpuUsage();
      send({ type: 'cpu', microseconds: usage.user + usage.system });
    } else if (message === 'used-assertions') {
      void countUsedAssertions().then(
        (count) => send({ type: 'used-assertions', count }),
        (error: unknown) => send({ type: 'failed', message: errorText(error) }),
      );
    } else if (typeof message === 'object' && message.type === 'time') {
      void timeValidation(message.responses, message.warmup).then(
        (timing) => send({ type: 'timing', ...timing }),
        (error: unknown) => send({ type: 'failed', message: errorText(error) }),
      );
    }
  });
  // The parent may exit without sending 'stop', so the schema or temporary directory is removed here too.
  process.on('disconnect', () => void stop(1));
  process.on('SIGINT', () => void stop(130));
  process.on('SIGTERM', () => void stop(143));

  async function countUsedAssertions(): Promise<number> {
    const row = await app!.context.store.db
      .selectFrom('saml_used_assertions')
      .select((eb) => eb.fn.countAll<string | number>().as('count'))
      .where('connection_id', '=', connectionId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /**
   * Calls validateSAMLResponse once per response, one call at a time. Returns the duration of each
   * call after the first `warmup` in milliseconds, and the process's CPU time per call over those
   * calls (user + system, all threads, so garbage collection is included).
   * The connection row is read once, outside the timed calls, whereas the ACS handler reads it per
   * request. Each call includes the domain lookup and the replay store (delete expired IDs, insert this ID).
   */
  async function timeValidation(responses: string[], warmup: number): Promise<{ milliseconds: number[]; cpuMicrosecondsPerCall: number }> {
    const { context } = app!;
    const connection = await findSAMLConnection(context, connectionId);
    if (!connection) throw new Error(`connection ${connectionId} not found`);
    const milliseconds: number[] = [];
    let cpuStart = process.cpuUsage();
    for (const [index, samlResponse] of responses.entries()) {
      if (index === warmup) cpuStart = process.cpuUsage();
      const start = process.hrtime.bigint();
      const signIn = await validateSAMLResponse(context, { connection, samlResponse, browserToken: undefined });
      const elapsed = process.hrtime.bigint() - start;
      if (!signIn.idpInitiated || !signIn.email.endsWith('@example.com')) {
        throw new Error(`unexpected sign-in from timing response ${index}: ${JSON.stringify({ ...signIn, connection: undefined })}`);
      }
      if (index >= warmup) milliseconds.push(Number(elapsed) / 1e6);
    }
    const cpu = process.cpuUsage(cpuStart);
    return { milliseconds, cpuMicrosecondsPerCall: (cpu.user + cpu.system) / milliseconds.length };
  }

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
      // Per-request info lines would show up in the profile. Warnings, such as a rejected SAML
      // response, go to stderr so that the report on stdout stays clean.
      logLevel: 'warn',
    };
    app = await createApp(config, { logDestination: process.stderr, database: database.target });
    await app.server.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    // ACS URL and audience derive from the public URL, so it is set before the connection exists.
    config.publicUrl = `http://127.0.0.1:${address.port}`;

    const { context } = app;
    const { organization } = await createOrganization(context.store.db, { name: 'Bench Org', plan: 'enterprise', now: context.clock() });
    const idp = await testIdPKeys('Bench Okta');
    const connection = await createSAMLConnection(context, organization.id, {
      name: 'Bench Okta',
      preset: 'okta',
      domains: 'example.com',
      metadataXML: '',
      metadataURL: '',
      entityId: OKTA_ENTITY_ID,
      ssoURL: 'https://bench.okta.example/app/sso/saml',
      ssoBinding: 'redirect',
      certificates: idp.certificatePem,
      signaturePolicy: '',
      allowSHA1: false,
      allowIdPInitiated: true,
      signRequests: false,
      extraAudiences: '',
      clockSkewSeconds: '',
      attributeEmail: '',
      attributeFirstName: '',
      attributeLastName: '',
      attributeGroups: '',
      groupMappings: '',
    });
    if (connection.signature_policy !== 'both') throw new Error(`the okta preset gave signature policy ${connection.signature_policy}, expected both`);
    connectionId = connection.id;
    send({
      type: 'ready',
      url: config.publicUrl,
      connectionId,
      idp,
      idpEntityId: connection.idp_entity_id,
      acsURL: acsURL(context, connection),
      audience: spEntityId(context, connection),
    });
  } catch (error) {
    send({ type: 'failed', message: errorText(error) });
    await stop(1);
  }
}

// ---------------------------------------------------------------------------------------------
// Parent: processes, signing, checks
// ---------------------------------------------------------------------------------------------

/** Forks this file with `--serve` and waits until Gatehouse listens and the connection exists. */
function startServer(options: Options): Promise<{ child: ChildProcess; ready: ServerReady }> {
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
      if (message.type === 'ready') resolve({ child, ready: message });
      else reject(new Error(`server failed to start:\n${message.type === 'failed' ? message.message : JSON.stringify(message)}`));
    });
  });
}

/** Asks a child to shut down (the server cleans up its database), and kills it if it is still running after 30 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send('stop');
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Sends one request to the server child and waits for its reply of type `type`, or for a failure. */
function askServer<T extends ServerMessage['type']>(child: ChildProcess, request: ServerRequest, type: T, seconds: number): Promise<Extract<ServerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`server did not reply to ${typeof request === 'string' ? request : request.type} within ${seconds} s`));
    }, seconds * 1000);
    const onMessage = (message: ServerMessage) => {
      if (message.type !== type && message.type !== 'failed') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (message.type === 'failed') reject(new Error(`server failed:\n${message.message}`));
      else resolve(message as Extract<ServerMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.send(request);
  });
}

/** Returns the CPU time the server process has used so far, in microseconds. */
async function serverCPU(child: ChildProcess): Promise<number> {
  return (await askServer(child, 'cpu', 'cpu', 10)).microseconds;
}

/** Signing processes, one per core; each takes one chunk of responses at a time. */
class Generators {
  private constructor(readonly children: ChildProcess[]) {}

  static start(count: number): Generators {
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--cpu-prof'));
    return new Generators(
      Array.from({ length: count }, () => fork(fileURLToPath(import.meta.url), ['--generate'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })),
    );
  }

  get size(): number {
    return this.children.length;
  }

  /** Signs responses number `from` to `from + count - 1`, in order. */
  async sign(job: Omit<GenerateJob, 'type' | 'from' | 'count'>, from: number, count: number): Promise<string[]> {
    const chunks: Array<{ from: number; count: number }> = [];
    for (let start = from; start < from + count; start += GENERATE_CHUNK) chunks.push({ from: start, count: Math.min(GENERATE_CHUNK, from + count - start) });
    const results: string[][] = new Array<string[]>(chunks.length);
    let next = 0;
    await Promise.all(
      this.children.map(async (child) => {
        while (next < chunks.length) {
          const index = next++;
          results[index] = await this.signChunk(child, { type: 'generate', ...job, ...chunks[index]! });
        }
      }),
    );
    return results.flat();
  }

  private signChunk(child: ChildProcess, job: GenerateJob): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`a generator exited (code ${code}) before it returned its responses`));
      child.once('exit', onExit);
      child.once('message', (message: GeneratorMessage) => {
        child.off('exit', onExit);
        if (message.type === 'generated' && message.responses.length === job.count) resolve(message.responses);
        else reject(new Error(`a generator failed:\n${message.type === 'failed' ? message.message : `${message.responses.length} of ${job.count} responses`}`));
      });
      child.send(job);
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => stopChild(child)));
  }
}

/** Builds the form body of the HTTP-POST binding: `SAMLResponse=` and the URL-encoded base64. */
function formBody(samlResponse: string): Buffer {
  return Buffer.from(`SAMLResponse=${encodeURIComponent(samlResponse)}`, 'latin1');
}

const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * Throws unless healthz returns 200, a fresh response is accepted with the confirmation page, and
 * the same response sent again is rejected as a replay. Uses two responses of the calibration batch.
 */
async function checkRoutes(url: string, acsPath: string, first: string, second: string): Promise<void> {
  const health = await fetch(`${url}/healthz`);
  if (health.status !== 200) throw new Error(`GET /healthz returned ${health.status}, expected 200: ${await health.text()}`);

  for (const samlResponse of [first, second]) {
    const accepted = await fetch(`${url}${acsPath}`, { method: 'POST', headers: FORM_HEADERS, body: formBody(samlResponse).toString('latin1') });
    const body = await accepted.text();
    if (accepted.status !== 200 || !/Continue as user\d+@example\.com/.test(body)) {
      throw new Error(`POST ${acsPath} with a fresh response returned ${accepted.status} without the confirmation, expected 200 and "Continue as": ${body.slice(0, 500)}`);
    }
  }
  const replay = await fetch(`${url}${acsPath}`, { method: 'POST', headers: FORM_HEADERS, body: formBody(first).toString('latin1') });
  const replayBody = await replay.text();
  if (replay.status !== 400 || !replayBody.includes('already used')) {
    throw new Error(`POST ${acsPath} with a response sent before returned ${replay.status}, expected 400 "already used": ${replayBody.slice(0, 500)}`);
  }
}

/**
 * The pre-signed responses, taken in order, each once. `take` returns undefined when none is left,
 * and `exhausted` records that a request found the pool empty.
 */
class ResponsePool {
  private next = 0;
  exhausted = false;
  constructor(private readonly bodies: Buffer[]) {}

  take(): Buffer | undefined {
    const body = this.bodies[this.next];
    if (body === undefined) {
      this.exhausted = true;
      return undefined;
    }
    this.bodies[this.next] = Buffer.alloc(0);
    this.next++;
    return body;
  }

  get used(): number {
    return this.next;
  }

  get size(): number {
    return this.bodies.length;
  }
}

/**
 * Runs autocannon against one route and returns its figures. For the ACS route, each request takes
 * the next response from `pool` (autocannon calls setupRequest once per request sent), and every
 * response must be 200 with "Continue as" in its body. Latencies come from the per-response events,
 * as autocannon's own histogram rounds to whole milliseconds. Throws on any error, timeout, non-2xx
 * response, unexpected body or empty pool. `limit` is a duration in seconds or a number of requests.
 */
function load(
  url: string,
  route: Route,
  limit: { seconds: number } | { requests: number },
  connections: number,
  pool?: ResponsePool,
): Promise<Omit<RunFigures, 'serverCPUMicroseconds'>> {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`load is only sent to 127.0.0.1, not to ${url}`);
  const latencies: number[] = [];
  const started = performance.now();
  let lastResponse = started;
  let unexpected = 0;
  let firstUnexpected = '';
  let instance: autocannon.Instance | undefined;
  const requests: autocannon.Request[] | undefined = pool && [
    {
      method: 'POST',
      path: route.path,
      setupRequest(request) {
        const body = pool.take();
        // An empty SAMLResponse is rejected with 400, which fails the run below. NOTE: autocannon
        // stops only at its next one-second tick, so until then every request is such a 400.
        if (!body) {
          instance?.stop();
          return { ...request, body: 'SAMLResponse=' };
        }
        return { ...request, body };
      },
      onResponse(status, body) {
        if (status === 200 && body.includes('Continue as ')) return;
        unexpected++;
        if (!firstUnexpected) firstUnexpected = `${status}: ${body.slice(0, 300)}`;
      },
    },
  ];
  return new Promise((resolve, reject) => {
    instance = autocannon(
      {
        url: `${url}${route.path}`,
        connections,
        pipelining: 1,
        timeout: 10,
        ...('seconds' in limit ? { duration: limit.seconds } : { amount: limit.requests }),
        ...(pool ? { method: 'POST' as const, headers: FORM_HEADERS, requests } : {}),
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        if (pool?.exhausted) {
          return reject(new Error(`${route.name}: all ${pool.size} pre-signed responses were used; lower --duration or --rounds, or raise --max-responses`));
        }
        if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0 || unexpected > 0) {
          return reject(
            new Error(
              `${route.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses, ${unexpected} unexpected ` +
                `(status counts ${JSON.stringify(result.statusCodeStats ?? {})}; first unexpected ${firstUnexpected || 'none'})`,
            ),
          );
        }
        if (latencies.length === 0 || result.duration <= 0) return reject(new Error(`${route.name}: no responses`));
        latencies.sort((a, b) => a - b);
        resolve({
          // autocannon notices the end of a run limited by count only at its next one-second tick, so
          // such a run's rate is taken from the time of its last response instead.
          requestsPerSecond: 'seconds' in limit ? result.requests.total / result.duration : (latencies.length * 1000) / (lastResponse - started),
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
          requests: result.requests.total,
        });
      },
    );
    instance.on('response', (_client, _statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      lastResponse = performance.now();
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

/**
 * Ends the whole run if a phase takes longer than its budget: prints an error, sends SIGTERM to the
 * children (the server drops its database), and exits with code 1. Each phase sets a new budget.
 */
class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly children: () => ChildProcess[]) {}

  arm(seconds: number, phase: string): void {
    this.clear();
    this.timer = setTimeout(() => {
      console.error(`benchmark stopped: ${phase} took longer than ${Math.round(seconds)} s`);
      for (const child of this.children()) child.kill('SIGTERM');
      process.exit(1);
    }, seconds * 1000);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** Signs the responses, checks the routes, times validation in-process, then loads both routes alternately. */
async function measure(options: Options): Promise<void> {
  const command = ['npx tsx', relative(process.cwd(), fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(' ');
  const children: ChildProcess[] = [];
  const watchdog = new Watchdog(() => children);
  let generators: Generators | undefined;
  let server: ChildProcess | undefined;
  const log = (line: string) => console.error(line);

  try {
    watchdog.arm(120, 'starting the server');
    const started = await startServer(options);
    server = started.child;
    children.push(server);
    const { ready } = started;
    const acsPath = `/saml/${ready.connectionId}/acs`;
    generators = Generators.start(Math.max(1, cpus().length));
    children.push(...generators.children);

    // Every response must stay valid from its signing to the last round, and an expired one would
    // fail the run with 400. The lifetime is a generous estimate: twice the load time plus an hour.
    const plannedSeconds = 2 * options.warmupSeconds + 2 * options.rounds * options.durationSeconds;
    const job = {
      idp: ready.idp,
      idpEntityId: ready.idpEntityId,
      acsURL: ready.acsURL,
      audience: ready.audience,
      runId: randomBytes(6).toString('hex'),
      issuedAt: new Date().toISOString(),
      lifetimeSeconds: 2 * plannedSeconds + 3600,
    };

    // 1. Sign the timing and calibration batches, and learn the signing rate.
    const firstCount = options.timingWarmup + options.timingCalls + CALIBRATION_RESPONSES;
    watchdog.arm(firstCount * 0.1 + 60, `signing ${firstCount} responses`);
    let signStart = performance.now();
    const first = await generators.sign(job, 0, firstCount);
    const firstSignSeconds = (performance.now() - signStart) / 1000;
    const signRate = firstCount / firstSignSeconds;
    log(`signed ${firstCount} responses in ${firstSignSeconds.toFixed(1)} s (${signRate.toFixed(0)}/s with ${generators.size} processes, start-up included)`);
    const timingResponses = first.slice(0, options.timingWarmup + options.timingCalls);
    const calibration = first.slice(timingResponses.length).map(formBody);

    // 2. Checks before any load.
    watchdog.arm(60, 'checks');
    log('checks: the server logs one "SAML response rejected" warning for the deliberate replay');
    await checkRoutes(ready.url, acsPath, first[timingResponses.length]!, first[timingResponses.length + 1]!);
    const calibrationPool = new ResponsePool(calibration.slice(2));

    // 3. (a) In-process timing of validateSAMLResponse, on a server with no other work.
    watchdog.arm(timingResponses.length * 0.2 + 60, 'in-process timing');
    const timed = await askServer(server, { type: 'time', responses: timingResponses, warmup: options.timingWarmup }, 'timing', timingResponses.length * 0.2 + 30);
    const timing = timed.milliseconds;
    const timingSorted = [...timing].sort((a, b) => a - b);
    const timingMean = timing.reduce((sum, value) => sum + value, 0) / timing.length;
    log(
      `in-process validation: ${timing.length} calls, p50 ${percentile(timingSorted, 0.5).toFixed(2)} ms, p99 ${percentile(timingSorted, 0.99).toFixed(2)} ms, ` +
        `CPU ${timed.cpuMicrosecondsPerCall.toFixed(0)} µs/call`,
    );

    // 4. Calibration: the ACS rate under this load decides how many responses to sign for the rounds.
    const acs: Route = { name: `POST /saml/:id/acs (Okta, signed twice)`, path: acsPath };
    const health: Route = { name: 'GET /healthz', path: '/healthz' };
    watchdog.arm(calibrationPool.size * 0.5 + 60, 'calibration');
    const calibrated = await load(ready.url, acs, { requests: calibrationPool.size }, options.connections, calibrationPool);
    const acsRate = calibrated.requestsPerSecond;
    const needed = Math.ceil(acsRate * POOL_MARGIN * (options.warmupSeconds + options.rounds * options.durationSeconds)) + options.connections * (options.rounds + 2);
    log(`calibration: ${calibrated.requests} ACS requests at ${acsRate.toFixed(0)} req/s; the run needs ${needed} responses`);
    if (needed > options.maxResponses) {
      throw new Error(
        `the planned rounds need about ${needed} signed responses (${acsRate.toFixed(0)} req/s × ${POOL_MARGIN} margin), more than --max-responses ${options.maxResponses}; ` +
          'lower --duration or --rounds, or raise --max-responses',
      );
    }

    // 5. Sign the pool for warm-up and rounds.
    watchdog.arm((needed / signRate) * 3 + 60, `signing ${needed} responses`);
    signStart = performance.now();
    const pool = new ResponsePool((await generators.sign(job, firstCount, needed)).map(formBody));
    const poolSignSeconds = (performance.now() - signStart) / 1000;
    log(`signed ${needed} responses in ${poolSignSeconds.toFixed(1)} s (${(needed / poolSignSeconds).toFixed(0)}/s)`);
    await generators.stop();
    const totalSigned = firstCount + needed;

    // 6. Warm-up and alternating rounds.
    watchdog.arm(2 * options.warmupSeconds + 2 * options.rounds * options.durationSeconds + 60, 'warm-up and rounds');
    if (options.warmupSeconds > 0) {
      await load(ready.url, health, { seconds: options.warmupSeconds }, options.connections);
      await load(ready.url, acs, { seconds: options.warmupSeconds }, options.connections, pool);
    }
    const routes = [health, acs];
    const runs = new Map<Route, RunFigures[]>(routes.map((route) => [route, []]));
    let accepted = calibrated.requests + 2;
    for (let round = 1; round <= options.rounds; round++) {
      for (const route of routes) {
        const cpuBefore = await serverCPU(server);
        const usedBefore = pool.used;
        const measured = await load(ready.url, route, { seconds: options.durationSeconds }, options.connections, route === acs ? pool : undefined);
        const figures = { ...measured, serverCPUMicroseconds: ((await serverCPU(server)) - cpuBefore) / measured.requests };
        runs.get(route)!.push(figures);
        if (route === acs) accepted += measured.requests;
        log(
          `round ${round}/${options.rounds} ${route.name}: ${figures.requests} requests${route === acs ? ` (${pool.used - usedBefore} responses taken)` : ''}, ` +
            `${figures.requestsPerSecond.toFixed(0)} req/s, p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, server CPU ${figures.serverCPUMicroseconds.toFixed(0)} µs/req`,
        );
      }
    }

    // Every 200 from the ACS wrote one assertion ID, so the store contains at least as many as were counted.
    const stored = (await askServer(server, 'used-assertions', 'used-assertions', 30)).count;
    if (stored < accepted + timing.length) throw new Error(`the replay store contains ${stored} assertion IDs, fewer than the ${accepted + timing.length} accepted responses`);

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
    const [healthRow, acsRow] = summary as [(typeof summary)[number], (typeof summary)[number]];
    const ratio = acsRow.requestsPerSecond / healthRow.requestsPerSecond;

    const cpu = cpus();
    const lines = [
      `## Gatehouse SAML ACS benchmark (${options.database})`,
      '',
      `- Command: \`${command}\``,
      `- Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores`,
      `- Okta-shaped responses (Response and Assertion signed, RSA-SHA256, RSA-2048 key), IdP-initiated, about ${Math.round(first[0]!.length / 1024)} KB of base64 each`,
      `- Signed ${totalSigned} distinct responses with ${generators.size} processes: ${firstCount} for timing, checks and calibration in ${firstSignSeconds.toFixed(0)} s, ` +
        `then ${needed} for warm-up and rounds (${acsRate.toFixed(0)} req/s in calibration × ${POOL_MARGIN}) in ${poolSignSeconds.toFixed(0)} s; ` +
        `warm-up and rounds took ${pool.used} of them. The replay store contains ${stored} assertion IDs at the end.`,
      '',
      `### In-process validateSAMLResponse (one call at a time, ${options.timingCalls} calls after ${options.timingWarmup} warm-up)`,
      '',
      'Includes the database work of each call: the domain lookup and the replay store (delete expired IDs, insert this one).',
      '',
      '| calls | p50 ms | p99 ms | mean ms | min ms | max ms | server CPU µs/call |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${timing.length} | ${percentile(timingSorted, 0.5).toFixed(2)} | ${percentile(timingSorted, 0.99).toFixed(2)} | ${timingMean.toFixed(2)} | ` +
        `${timingSorted[0]!.toFixed(2)} | ${timingSorted[timingSorted.length - 1]!.toFixed(2)} | ${timed.cpuMicrosecondsPerCall.toFixed(0)} |`,
      '',
      `### ACS compared with healthz (${options.connections} connections, pipelining 1, ${options.rounds} ${options.rounds === 1 ? 'round' : 'rounds'} of ${options.durationSeconds} s per route after ${options.warmupSeconds} s warm-up each; medians of rounds)`,
      '',
      '| route | req/s | p50 ms | p99 ms | server CPU µs/req |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...summary.map(
        (row) => `| ${row.route.name} | ${row.requestsPerSecond.toFixed(0)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.serverCPU.toFixed(0)} |`,
      ),
      '',
      `Throughput ratio ACS / healthz: ${(ratio * 100).toFixed(2)} % (healthz serves ${(1 / ratio).toFixed(0)} times as many requests per second)`,
      '',
      'Per round, req/s: ' + summary.map((row) => `${row.route.name} ${row.list.map((run) => run.requestsPerSecond.toFixed(0)).join(', ')}`).join('; '),
    ];
    console.log(lines.join('\n'));
  } finally {
    watchdog.arm(60, 'stopping');
    await generators?.stop();
    if (server) await stopChild(server);
    watchdog.clear();
  }
}

const options = parseOptions(process.argv.slice(2));
if (options.role === 'serve') {
  await serve(options);
} else if (options.role === 'generate') {
  generateOnRequest();
} else {
  try {
    await measure(options);
  } catch (error) {
    console.error(errorText(error));
    process.exitCode = 1;
  }
}
