/**
 * Development-only stand-in for an AI provider's model API and token endpoints, so the gateway can
 * be tried without a provider account. It is the fake the tests use. It checks API keys and
 * federation tokens as the provider does, and responds to every chat completion with fixed text.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startFakeProvider, type FakeKind } from '../test/support/fakes/providers.js';

const KINDS: readonly FakeKind[] = ['openai', 'anthropic', 'google', 'azure'];

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      kind: { type: 'string', default: 'openai' },
      issuer: { type: 'string', default: 'http://localhost:3000/federation' },
      'api-key': { type: 'string' },
      subject: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (args.help) {
    process.stdout.write(
      'Usage: npx tsx scripts/dev-model-api.ts [--kind openai|anthropic|google|azure] [--issuer URL] [--api-key KEY] [--subject SUB]\n' +
        '  --issuer   Gatehouse federation issuer whose tokens the fake trusts (default http://localhost:3000/federation;\n' +
        '             Settings → AI providers shows it)\n' +
        '  --api-key  API key to accept (default: a new random one each start)\n' +
        '  --subject  the only federation subject to accept, as a real trust rule does (default: any)\n' +
        'The fake listens on a free port on 127.0.0.1, so its base URL changes on every start.\n',
    );
    return;
  }
  if (!KINDS.includes(args.kind as FakeKind)) throw new Error(`invalid --kind ${args.kind}: expected one of ${KINDS.join(', ')}`);

  const fake = await startFakeProvider(args.kind as FakeKind, { issuer: args.issuer, now: () => new Date() });
  if (args['api-key']) fake.apiKey = args['api-key'];
  // Without --subject any subject is accepted; a real provider accepts only the one its trust rule names.
  if (args.subject) fake.expectedSubject = args.subject;
  else fake.acceptSubject = () => true;
  console.error(`WARNING: this is a development stand-in for ${args.kind}. It responds with fixed text and stores nothing.`);
  process.stdout.write(`${JSON.stringify({ kind: args.kind, baseURL: fake.baseURL, apiKey: fake.apiKey, federation: fake.federation })}\n`);
  console.error(
    [
      '',
      `In Gatehouse, open Settings → AI providers, choose ${args.kind}, and enter:`,
      `  Base URL:  ${fake.baseURL}`,
      `  API key:   ${fake.apiKey}`,
      `Federation settings, for a hosted deployment: ${JSON.stringify(fake.federation)}`,
      '',
    ].join('\n'),
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void fake.close().finally(() => process.exit(0)));
  }
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
