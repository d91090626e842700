import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/** Error for a refused or failed fetch of a user-supplied URL; the message is safe to show. */
export class FetchProblem extends Error {
  override name = 'FetchProblem';
}

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Options of fetchPublicDocument. */
export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMilliseconds: number;
  /** Development only: also allow loopback addresses, over http or https. */
  allowLoopback: boolean;
  /** Accept header; defaults to the SAML metadata types. */
  accept?: string;
}

/** A fetched document with the response headers that callers use for caching. */
export interface FetchedDocument {
  body: string;
  cacheControl: string | undefined;
  contentType: string | undefined;
}

/**
 * Fetches a document that a user named, such as IdP metadata, without letting the URL reach into
 * the server's network. Only https is allowed, and every resolved address must be public: private,
 * loopback, link-local, multicast and reserved ranges are rejected. The connection goes to the
 * checked address, so DNS cannot change between check and use. Redirects are not followed, and
 * size and time are capped.
 */
export async function fetchPublicDocument(rawURL: string, options: SafeFetchOptions): Promise<string> {
  return (await fetchPublicResponse(rawURL, options)).body;
}

/** Like fetchPublicDocument, and also returns the Cache-Control and Content-Type response headers. */
export async function fetchPublicResponse(rawURL: string, options: SafeFetchOptions): Promise<FetchedDocument> {
  let url: URL;
  try {
    url = new URL(rawURL);
  } catch {
    throw new FetchProblem('The URL is not valid.');
  }
  if (url.username || url.password) throw new FetchProblem('The URL must not contain credentials.');

  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(hostname) ? [{ address: hostname, family: isIP(hostname) }] : await resolve(hostname);
  const allLoopback = addresses.every(({ address, family }) => loopback.check(address, family === 6 ? 'ipv6' : 'ipv4'));
  const loopbackAllowed = options.allowLoopback && allLoopback;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackAllowed)) throw new FetchProblem('The URL must start with https://.');
  for (const { address, family } of addresses) {
    if (blocked.check(address, family === 6 ? 'ipv6' : 'ipv4') && !loopbackAllowed) {
      throw new FetchProblem(`${url.hostname} resolves to a private or reserved address; Gatehouse fetches only from public addresses.`);
    }
  }
  const target = addresses[0]!;

  const client = url.protocol === 'https:' ? https : http;
  return new Promise<FetchedDocument>((resolvePromise, reject) => {
    const request = client.get(
      url,
      {
        // Connect to the checked address; TLS still verifies the certificate against the hostname.
        // Node requests a list (`all: true`) when it tries address families in turn.
        lookup: ((_host: string, lookupOptions: { all?: boolean }, callback: (...args: unknown[]) => void) => {
          if (lookupOptions.all) callback(null, [{ address: target.address, family: target.family }]);
          else callback(null, target.address, target.family);
        }) as never,
        timeout: options.timeoutMilliseconds,
        headers: { accept: options.accept ?? 'application/samlmetadata+xml, application/xml, text/xml' },
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new FetchProblem(`The URL returned HTTP ${response.statusCode}${response.statusCode && response.statusCode >= 300 && response.statusCode < 400 ? ' (redirects are not followed)' : ''}.`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            request.destroy();
            reject(new FetchProblem(`The document is larger than ${Math.round(options.maxBytes / 1024)} KB.`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          resolvePromise({
            body: Buffer.concat(chunks).toString('utf8'),
            cacheControl: response.headers['cache-control'],
            contentType: response.headers['content-type'],
          }),
        );
        response.on('error', () => reject(new FetchProblem('The download was interrupted.')));
      },
    );
    request.on('timeout', () => request.destroy(new FetchProblem(`The URL did not answer within ${options.timeoutMilliseconds / 1000} s.`)));
    request.on('error', (error) => reject(error instanceof FetchProblem ? error : new FetchProblem('Could not connect to the URL.')));
  });
}

async function resolve(hostname: string): Promise<Array<{ address: string; family: number }>> {
  try {
    const addresses = await lookup(hostname, { all: true, verbatim: true });
    if (addresses.length === 0) throw new Error('no addresses');
    return addresses;
  } catch {
    throw new FetchProblem(`${hostname} could not be resolved.`);
  }
}
