/**
 * Development-only SAML 2.0 identity provider: SimpleSAMLphp (Debian's simplesamlphp package) under
 * PHP's built-in server on 127.0.0.1, with the demo users alice@example.com and bob@example.com
 * (password "password"). It is the same harness the interoperability tests use.
 *
 * Usage: npm run dev-saml-idp [-- --port 3901]. It prints the metadata URL to enter in Gatehouse,
 * then prompts for the SP metadata URL that Gatehouse shows, and registers Gatehouse as an SP.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { generateSPCredentials, type SPCredentials } from '../src/sso/saml/sp-credentials.js';
import { simpleSAMLphpSkip, startSimpleSAMLphp } from '../test/support/simplesamlphp.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '3901' }, help: { type: 'boolean', default: false } } });
if (values.help) {
  process.stdout.write('Usage: npm run dev-saml-idp -- [--port PORT]\n  --port  TCP port on 127.0.0.1 (default 3901)\n');
  process.exit(0);
}
if (simpleSAMLphpSkip) {
  process.stderr.write(`${simpleSAMLphpSkip}\n`);
  process.exit(1);
}

// The IdP key and the registered SPs persist in the data directory, so a restart keeps the
// certificate that Gatehouse trusts and the registration of Gatehouse.
const stateDirectory = resolve(process.env.GATEHOUSE_DATA_DIR ?? './.gatehouse', 'dev-saml-idp');
mkdirSync(stateDirectory, { recursive: true, mode: 0o700 });
const keysFile = join(stateDirectory, 'idp-keys.json');
const spsFile = join(stateDirectory, 'service-providers.json');
let keys: SPCredentials;
if (existsSync(keysFile)) {
  keys = JSON.parse(readFileSync(keysFile, 'utf8')) as SPCredentials;
} else {
  keys = await generateSPCredentials('Gatehouse development SAML IdP', new Date(Date.now() - 3_600_000));
  writeFileSync(keysFile, JSON.stringify(keys), { mode: 0o600 });
}
const serviceProviders: Array<{ entityId: string; acsURL: string }> = existsSync(spsFile) ? JSON.parse(readFileSync(spsFile, 'utf8')) : [];

const idp = await startSimpleSAMLphp({ port: Number(values.port), keys });
for (const serviceProvider of serviceProviders) idp.addServiceProvider(serviceProvider);
process.stderr.write('WARNING: development identity provider with demo users; never use it in production.\n');
process.stdout.write(
  [
    '',
    'In Gatehouse, open Settings > Sign-in connections > SAML connections and add a connection with:',
    '  Identity provider: Other SAML 2.0 identity provider',
    '  Email domains:     example.com',
    `  Metadata URL:      ${idp.metadataURL}`,
    'Users: alice / password (alice@example.com) and bob / password (bob@example.com).',
    serviceProviders.length > 0 ? `Already registered: ${serviceProviders.map((sp) => sp.entityId).join(', ')}` : '',
    `State (signing key, registrations): ${stateDirectory}`,
    '',
  ].join('\n'),
);

const stop = async () => {
  await idp.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

const ask = 'Paste the SP metadata URL that Gatehouse shows for the connection (or Ctrl-C to stop): ';
const lines = createInterface({ input: process.stdin, output: process.stdout });
lines.setPrompt(ask);
lines.prompt();
// Without a terminal (stdin closed), the IdP keeps running until it is stopped with a signal.
for await (const line of lines) {
  const answer = line.trim();
  if (answer) await registerServiceProvider(answer);
  lines.prompt();
}

async function registerServiceProvider(metadataURL: string): Promise<void> {
  try {
    const xml = await (await fetch(metadataURL, { signal: AbortSignal.timeout(5_000) })).text();
    const entityId = /entityID="([^"]+)"/.exec(xml)?.[1];
    const acsURL = /AssertionConsumerService[^>]*Location="([^"]+)"/.exec(xml)?.[1];
    if (!entityId || !acsURL) throw new Error('the document has no entityID or AssertionConsumerService');
    idp.addServiceProvider({ entityId, acsURL });
    serviceProviders.push({ entityId, acsURL });
    writeFileSync(spsFile, JSON.stringify(serviceProviders));
    process.stdout.write(`Registered ${entityId}. Sign in at Gatehouse with alice@example.com.\n`);
  } catch (error) {
    process.stdout.write(`Could not read SP metadata from ${metadataURL}: ${(error as Error).message}\n`);
  }
}
