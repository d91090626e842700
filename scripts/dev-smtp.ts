/**
 * Development-only SMTP server built on smtp-server: it accepts every message and prints it, so
 * sign-in codes can be tried locally and tests can read what Gatehouse sent. It prints one JSON
 * line when listening ({"url": ...}) and one per message ({"to", "subject", "text"}) on stdout.
 */
import { realpathSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A message as the server received it. */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/** Listens on host:port (0 picks a free port) and calls `onMail` for every message. */
export async function startDevSMTP(options: { host: string; port: number; onMail(mail: ReceivedMail): void }): Promise<{ url: string; close(): Promise<void> }> {
  const server = new SMTPServer({
    // Loopback only and no TLS: this server is for development and tests on one machine.
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    size: MAX_MESSAGE_BYTES,
    banner: 'Gatehouse development SMTP server',
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          options.onMail({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((recipient) => recipient.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
          });
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `smtp://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '2525' },
      help: { type: 'boolean', default: false },
    },
  });
  if (args.help) {
    process.stdout.write('Usage: npx tsx scripts/dev-smtp.ts [--host 127.0.0.1] [--port 2525, 0 picks a free one]\n');
    return;
  }
  if (!/^\d+$/.test(args.port) || Number(args.port) > 65535) throw new Error(`invalid --port ${args.port}: expected an integer from 0 to 65535`);

  console.error('WARNING: this development SMTP server prints every message it receives and delivers none. Do not use it in production.');
  const server = await startDevSMTP({
    host: args.host,
    port: Number(args.port),
    onMail: (mail) => process.stdout.write(`${JSON.stringify(mail)}\n`),
  });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  console.error(`Start Gatehouse with GATEHOUSE_SMTP_URL=${server.url} to send sign-in codes here.`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.close().finally(() => process.exit(0)));
  }
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
