import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** A request as a fake provider received it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A failure that a test queues for the next matching request, in place of the fake's normal response. */
export type Fault =
  | { type: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { type: 'slow'; milliseconds: number }
  | { type: 'malformed' };

/** Response of a fake handler. */
export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Server-sent events to stream instead of a JSON body. */
  events?: string[];
}

/** A fake HTTP server on 127.0.0.1 that records every request. */
export interface FakeServer {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/** Reads a request body up to 1 MiB. */
async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new Error('request body too large for the fake');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, answer: FakeAnswer): void {
  if (answer.events) {
    response.writeHead(answer.status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...answer.headers });
    for (const event of answer.events) response.write(`data: ${event}\n\n`);
    response.end();
    return;
  }
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
  response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  response.end(text);
}

/**
 * Starts a fake on 127.0.0.1. `faultFor` may return a queued fault for a request, which replaces
 * the handler's response: an error status, a delay before responding, or a body that is not JSON.
 */
export async function startFakeServer(
  handler: (request: ReceivedRequest) => Promise<FakeAnswer>,
  faultFor: (request: ReceivedRequest) => Fault | undefined = () => undefined,
): Promise<FakeServer> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const entry: ReceivedRequest = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: await readBody(request) };
      received.push(entry);
      const fault = faultFor(entry);
      if (fault?.type === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.milliseconds));
      if (fault?.type === 'status') {
        send(response, { status: fault.status, body: fault.body ?? JSON.stringify({ error: 'server_error', error_description: 'injected failure' }), headers: fault.headers ?? {} });
        return;
      }
      if (fault?.type === 'malformed') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"access_token": "unterminated');
        return;
      }
      send(response, await handler(entry));
    })().catch((error: unknown) => {
      if (!response.headersSent) send(response, { status: 500, body: { error: 'fake_failed', error_description: String(error) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fake server has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Returns a header as one string, or undefined. */
export function header(request: ReceivedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Parses a JSON body, or returns undefined when it is not a JSON object. */
export function jsonBody(request: ReceivedRequest): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(request.body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a form-encoded body into an object of first values. */
export function formBody(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(request.body));
}
