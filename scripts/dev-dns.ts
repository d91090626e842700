/**
 * Development-only DNS server that answers TXT queries from records given on the command line, so
 * domain verification can be tried locally. Tests start it in-process with startDNSServer.
 */
import { createSocket, type Socket } from 'node:dgram';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import dnsPacket from 'dns-packet';

/** A small authoritative DNS server on 127.0.0.1 that answers TXT queries from a map the test edits. */
export interface TestDNSServer {
  /** `host:port` for GATEHOUSE_DNS_SERVERS. */
  address: string;
  txt: Map<string, string[]>;
  stop(): Promise<void>;
}

/** Starts the server on a UDP port (0, the default, picks a free one). Unknown names get NXDOMAIN. */
export async function startDNSServer(options: { host?: string; port?: number } = {}): Promise<TestDNSServer> {
  const socket: Socket = createSocket('udp4');
  const txt = new Map<string, string[]>();
  socket.on('message', (message, remote) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    const values = question && question.type === 'TXT' ? txt.get(question.name.toLowerCase()) : undefined;
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (values ? 0 : 3),
      questions: query.questions,
      answers: values ? values.map((value) => ({ type: 'TXT', class: 'IN', name: question!.name, ttl: 60, data: value })) : [],
    } as dnsPacket.Packet);
    socket.send(response, remote.port, remote.address);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, host, () => resolve());
  });
  return {
    address: `${host}:${socket.address().port}`,
    txt,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5353' },
      txt: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  });
  if (args.help) {
    process.stdout.write('Usage: npx tsx scripts/dev-dns.ts [--port 5353] --txt NAME=VALUE [--txt NAME=VALUE ...]\n');
    return;
  }
  if (!/^\d+$/.test(args.port) || Number(args.port) > 65535) throw new Error(`invalid --port ${args.port}: expected an integer from 0 to 65535`);

  const server = await startDNSServer({ host: args.host, port: Number(args.port) });
  for (const entry of args.txt) {
    const separator = entry.indexOf('=');
    if (separator <= 0) throw new Error(`invalid --txt ${entry}: expected NAME=VALUE`);
    const name = entry.slice(0, separator).toLowerCase().replace(/\.$/, '');
    server.txt.set(name, [...(server.txt.get(name) ?? []), entry.slice(separator + 1)]);
  }
  console.error('WARNING: this development DNS server answers only the TXT records given to it. Do not use it in production.');
  for (const [name, values] of server.txt) console.error(`  ${name} TXT ${values.join(', ')}`);
  console.error(`Start Gatehouse with GATEHOUSE_DNS_SERVERS=${server.address} to verify domains against it.`);
  process.stdout.write(`${JSON.stringify({ address: server.address })}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.stop().finally(() => process.exit(0)));
  }
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
