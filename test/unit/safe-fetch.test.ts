import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { FetchProblem, fetchPublicDocument } from '../../src/net/safe-fetch.js';

describe('fetching user-supplied URLs', () => {
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((request, response) => {
      if (request.url === '/redirect') {
        response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      } else if (request.url === '/large') {
        response.writeHead(200).end('x'.repeat(200 * 1024));
      } else if (request.url === '/slow') {
        setTimeout(() => response.writeHead(200).end('late'), 2_000);
      } else {
        response.writeHead(200, { 'content-type': 'application/xml' }).end('<ok/>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const options = { maxBytes: 100 * 1024, timeoutMilliseconds: 1_000, allowLoopback: true };
  const rejects = (url: string, message: RegExp, overrides: Partial<typeof options> = {}) =>
    assert.rejects(fetchPublicDocument(url, { ...options, ...overrides }), (error: unknown) => error instanceof FetchProblem && message.test(error.message));

  it('fetches from loopback only when development allows it', async () => {
    assert.equal(await fetchPublicDocument(`${base}/metadata`, options), '<ok/>');
    assert.equal(await fetchPublicDocument(`${base.replace('127.0.0.1', 'localhost')}/metadata`, options), '<ok/>', 'a host name works as well as an address');
    await rejects(`${base}/metadata`, /must start with https:\/\//, { allowLoopback: false });
    await rejects(base.replace('http:', 'https:'), /private or reserved address/, { allowLoopback: false });
  });

  it('refuses private, link-local and metadata-service addresses', async () => {
    for (const host of ['10.0.0.1', '192.168.1.1', '172.16.0.1', '169.254.169.254', '[fe80::1]', '[fd00::1]', '0.0.0.0', '100.64.0.1']) {
      await rejects(`https://${host}/metadata`, /private or reserved address/);
    }
  });

  it('refuses plain http to public hosts and URLs with credentials', async () => {
    await rejects('http://93.184.216.34/metadata', /must start with https:\/\//);
    await rejects('https://user:secret@93.184.216.34/metadata', /must not contain credentials/);
    await rejects('not a url', /not valid/);
  });

  it('does not follow redirects and caps size and time', async () => {
    await rejects(`${base}/redirect`, /HTTP 302 \(redirects are not followed\)/);
    await rejects(`${base}/large`, /larger than 100 KB/);
    await rejects(`${base}/slow`, /did not answer within 1 s/);
  });
});
