/**
 * Latency the model gateway adds to a chat completion, against a local fake OpenAI API:
 *
 *   npx tsx bench/gateway.ts [--database sqlite|postgres] [--requests N] [--rounds N] [--cold N]
 *
 * It measures four modes in alternating rounds of sequential requests on one keep-alive connection.
 * The modes are the fake called directly with its key, the gateway with a stored key, the gateway
 * with a cached federation token, and the gateway with a cold federation binding. In the last
 * mode every request goes to another organization's provider, so Gatehouse signs an identity
 * token, which the fake verifies and exchanges before the model call. The fake runs in this
 * process, Gatehouse in a forked child.
 */
import { fileURLToPath } from 'node:url';

import { createAPIKey } from '../src/auth/api-keys.js';
import { addMembership } from '../src/model/memberships.js';
import { createOrganization } from '../src/model/organizations.js';
import { createUser } from '../src/model/users.js';
import { createProvider } from '../src/providers/providers.js';
import { startFakeProvider } from '../test/support/fakes/providers.js';
import { optionReaders, parseArguments } from './lib/cli.js';
import type { DatabaseKind } from './lib/database.js';
import { serveGatehouse } from './lib/gatehouse-server.js';
import { commandLine, machineLine } from './lib/report.js';
import { startServer, stopChild } from './lib/server-process.js';
import { median, percentile } from './lib/statistics.js';

interface Options {
  database: DatabaseKind;
  requests: number;
  rounds: number;
  cold: number;
}

/** Message the server child sends once Gatehouse listens and the providers exist. */
interface ServerReady {
  type: 'ready';
  url: string;
  key: string;
  coldKeys: string[];
}

const FAKE_ENV = 'GATEHOUSE_BENCH_FAKE';

function usage(problem: string): never {
  console.error(`${problem}\nusage: npx tsx bench/gateway.ts [--database sqlite|postgres] [--requests N] [--rounds N] [--cold N]`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options & { serve: boolean } {
  const values = parseArguments(
    argv,
    {
      database: { type: 'string', default: 'sqlite' },
      requests: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '3' },
      cold: { type: 'string', default: '300' },
      serve: { type: 'boolean', default: false },
    },
    usage,
  );
  const { integerOption, databaseOption } = optionReaders(usage);
  return {
    database: databaseOption(values.database),
    requests: integerOption('--requests', values.requests, 100_000),
    rounds: integerOption('--rounds', values.rounds, 20, 1),
    cold: integerOption('--cold', values.cold, 10_000),
    serve: values.serve,
  };
}

/**
 * Runs the server role: a hosted Gatehouse with one organization that has a stored-key provider
 * and a federation provider, and `cold` more organizations with one federation provider each.
 */
async function serve(options: Options): Promise<void> {
  // The parent passes the fake's settings and --cold through the environment, because startServer forwards only --database.
  const fake = JSON.parse(process.env[FAKE_ENV] ?? '{}') as { baseURL: string; apiKey: string; federation: Record<string, string>; cold: number };
  await serveGatehouse(
    options.database,
    {
      async setUp(app, config): Promise<ServerReady> {
        const { context } = app;
        const addOrganization = async (name: string) => {
          const now = context.clock();
          const { organization, groups } = await createOrganization(context.store.db, { name, plan: 'pro', now });
          const user = await createUser(context.store.db, { email: `${name}@example.com`, name: null, now });
          await addMembership(context.store.db, { organizationId: organization.id, userId: user.id, groupId: groups.engineers, now });
          const { key } = await createAPIKey(context, { organizationId: organization.id, userId: user.id, name: 'bench' });
          await createProvider(context, organization.id, { kind: 'openai', name: 'federated', base_url: fake.baseURL, models: ['gpt-federated'], auth_method: 'wif', federation: fake.federation });
          return { organizationId: organization.id, key };
        };
        const main = await addOrganization('bench');
        await createProvider(context, main.organizationId, { kind: 'openai', name: 'stored key', base_url: fake.baseURL, models: ['gpt-key'], auth_method: 'api_key', api_key: fake.apiKey });
        const coldKeys: string[] = [];
        for (let index = 0; index < fake.cold; index += 1) coldKeys.push((await addOrganization(`cold${index}`)).key);
        return { type: 'ready', url: config.publicUrl, key: main.key, coldKeys };
      },
    },
    // The fake listens on 127.0.0.1 over http, and federation needs a hosted deployment.
    { deployment: 'hosted', allowLoopbackFetch: true },
  );
}

/** Sends one chat completion and returns its latency in milliseconds. Throws unless the status is 200. */
async function timedCall(url: string, headers: Record<string, string>, model: string): Promise<number> {
  const started = process.hrtime.bigint();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const text = await response.text();
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (response.status !== 200) throw new Error(`${model} returned HTTP ${response.status}: ${text}`);
  return elapsed;
}

async function measure(options: Options): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const command = commandLine(script);
  const fake = await startFakeProvider('openai', { issuer: 'http://unset.invalid', now: () => new Date() });
  fake.acceptSubject = (subject) => subject.startsWith('org:');
  process.env[FAKE_ENV] = JSON.stringify({ baseURL: fake.baseURL, apiKey: fake.apiKey, federation: fake.federation, cold: options.cold });
  const { child, ready } = await startServer<ServerReady>(script, options.database, undefined);
  fake.trust.policy.issuer = `${ready.url}/federation`;

  const watchdog = setTimeout(() => {
    console.error('benchmark timed out after 30 minutes, stopping the server');
    child.kill('SIGTERM');
    process.exit(1);
  }, 30 * 60_000);

  try {
    const gateway = `${ready.url}/v1/chat/completions`;
    const modes = [
      { name: 'fake called directly', call: () => timedCall(`${fake.baseURL}/chat/completions`, { authorization: `Bearer ${fake.apiKey}` }, 'gpt-key') },
      { name: 'gateway, stored key', call: () => timedCall(gateway, { authorization: `Bearer ${ready.key}` }, 'gpt-key') },
      { name: 'gateway, cached federation token', call: () => timedCall(gateway, { authorization: `Bearer ${ready.key}` }, 'gpt-federated') },
    ];
    const coldPerRound = Math.floor(ready.coldKeys.length / options.rounds);
    let coldIndex = 0;
    const cold = { name: 'gateway, federation token exchanged per request', call: () => timedCall(gateway, { authorization: `Bearer ${ready.coldKeys[coldIndex++]!}` }, 'gpt-federated') };

    // Warm-up: JIT, connections, the JWKS cache of the fake, and the first federation token.
    for (const mode of modes) for (let index = 0; index < 200; index += 1) await mode.call();

    const samples = new Map<string, number[]>([...modes, cold].map((mode) => [mode.name, []]));
    for (let round = 0; round < options.rounds; round += 1) {
      for (const mode of modes) for (let index = 0; index < options.requests; index += 1) samples.get(mode.name)!.push(await mode.call());
      for (let index = 0; index < coldPerRound; index += 1) samples.get(cold.name)!.push(await cold.call());
    }

    const direct = [...samples.get(modes[0]!.name)!].sort((a, b) => a - b);
    const rows = [...samples].map(([name, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const p50 = median(sorted);
      const p99 = percentile(sorted, 0.99);
      const overhead = name === modes[0]!.name ? '' : `${(p50 - median(direct)).toFixed(2)} / ${(p99 - percentile(direct, 0.99)).toFixed(2)}`;
      return `| ${name} | ${sorted.length} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${overhead} |`;
    });
    console.log(
      [
        `## Gateway overhead (${options.database})`,
        '',
        `- Command: \`${command}\``,
        machineLine(),
        `- Sequential requests on one keep-alive connection, ${options.rounds} rounds of ${options.requests} requests per mode (${coldPerRound} for the per-request exchange), modes alternating, after 200 warm-up requests per mode`,
        '',
        '| mode | requests | p50 ms | p99 ms | added p50 / p99 ms |',
        '| --- | ---: | ---: | ---: | ---: |',
        ...rows,
      ].join('\n'),
    );
  } finally {
    clearTimeout(watchdog);
    await stopChild(child);
    await fake.close();
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
