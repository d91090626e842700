import { createSocket, type Socket } from 'node:dgram';

import dnsPacket from 'dns-packet';

/** A small authoritative DNS server on 127.0.0.1 that answers TXT queries from a map the test edits. */
export interface TestDNSServer {
  /** `host:port` for GATEHOUSE_DNS_SERVERS. */
  address: string;
  txt: Map<string, string[]>;
  stop(): Promise<void>;
}

/** Starts the server on a free UDP port. Unknown names get NXDOMAIN. */
export async function startDNSServer(): Promise<TestDNSServer> {
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
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    txt,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
