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
 */import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

import { errorText, loadOptionSpecs, optionReaders, parseArguments, readLoadOptions } from './lib/cli.js';
import type { DatabaseKind } from './lib/database.js';
import { load, type Route } from './lib/load.js';
import { commandLine, machineLine, perRoundLine, routeTable } from './lib/report.js';
import { alternateRounds, summarizeRounds } from './lib/rounds.js';
import { FORM_HEADERS, Generators, ResponsePool, formBody, generateOnRequest } from './lib/saml-responses.js';
import { serveSAMLConnection, type ServerReady, type TimingMessage, type UsedAssertionsMessage } from './lib/saml-server.js';
import { askServer, startServer, stopChild } from './lib/server-process.js';
import { percentile } from './lib/statistics.js';
import { Watchdog } from './lib/watchdog.js';

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

/** Parses and validates the command line, and exits with a usage message on an invalid value. */
function parseOptions(argv: string[]): Options & { role: 'measure' | 'serve' | 'generate' } {
  const values = parseArguments(
    argv,
    {
      ...loadOptionSpecs,
      'timing-calls': { type: 'string', default: '2000' },
      'timing-warmup': { type: 'string', default: '200' },
      'max-responses': { type: 'string', default: '40000' },
      generate: { type: 'boolean', default: false },
    },
    usage,
  );
  const { integerOption } = optionReaders(usage);
  return {
    ...readLoadOptions(values, usage, { maxConnections: 200, minRounds: 1 }),
    timingCalls: integerOption('--timing-calls', values['timing-calls'], 20_000, 10),
    timingWarmup: integerOption('--timing-warmup', values['timing-warmup'], 5_000, 0),
    maxResponses: integerOption('--max-responses', values['max-responses'], 200_000, 1_000),
    role: roleOf(values),
  };
}

function roleOf(values: { serve: boolean; generate: boolean }): 'measure' | 'serve' | 'generate' {
  if (values.serve) return 'serve';
  if (values.generate) return 'generate';
  return 'measure';
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npx tsx bench/saml-acs.ts [--database sqlite|postgres] [--duration SECONDS] [--connections N] [--rounds N] ` +
      '[--warmup SECONDS] [--timing-calls N] [--timing-warmup N] [--max-responses N] [--profile DIR]',
  );
  process.exit(2);
}

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

/** Signs the responses, checks the routes, times validation in-process, then loads both routes alternately. */
async function measure(options: Options): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const command = commandLine(script);
  const children: ChildProcess[] = [];
  const watchdog = new Watchdog(() => children);
  let generators: Generators | undefined;
  let server: ChildProcess | undefined;
  const log = (line: string) => console.error(line);

  try {
    watchdog.arm(120, 'starting the server');
    const started = await startServer<ServerReady>(script, options.database, options.profileDir);
    server = started.child;
    children.push(server);
    const { ready } = started;
    const acsPath = `/saml/${ready.connectionId}/acs`;
    generators = Generators.start(Math.max(1, cpus().length), script);
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
    const timed = await askServer<TimingMessage>(server, { type: 'time', responses: timingResponses, warmup: options.timingWarmup }, 'timing', timingResponses.length * 0.2 + 30);
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
    const runs = await alternateRounds(server, routes, options.rounds, async (route) => {
      if (route !== acs) return load(ready.url, route, { seconds: options.durationSeconds }, options.connections);
      const usedBefore = pool.used;
      const measured = await load(ready.url, route, { seconds: options.durationSeconds }, options.connections, pool);
      return { ...measured, note: ` (${pool.used - usedBefore} responses taken)` };
    });
    const accepted = calibrated.requests + 2 + runs.get(acs)!.reduce((sum, run) => sum + run.requests, 0);

    // Every 200 from the ACS wrote one assertion ID, so the store contains at least as many as were counted.
    const stored = (await askServer<UsedAssertionsMessage>(server, 'used-assertions', 'used-assertions', 30)).count;
    if (stored < accepted + timing.length) throw new Error(`the replay store contains ${stored} assertion IDs, fewer than the ${accepted + timing.length} accepted responses`);

    const summary = summarizeRounds(routes, runs);
    const [healthRow, acsRow] = summary as [(typeof summary)[number], (typeof summary)[number]];
    const ratio = acsRow.requestsPerSecond / healthRow.requestsPerSecond;

    const lines = [
      `## Gatehouse SAML ACS benchmark (${options.database})`,
      '',
      `- Command: \`${command}\``,
      machineLine(),
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
      ...routeTable(summary),
      '',
      `Throughput ratio ACS / healthz: ${(ratio * 100).toFixed(2)} % (healthz serves ${(1 / ratio).toFixed(0)} times as many requests per second)`,
      '',
      perRoundLine(summary, (route) => route.name),
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
  await serveSAMLConnection(options.database);
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
