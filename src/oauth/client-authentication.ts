import type { FastifyRequest } from 'fastify';

import type { AppContext } from '../app/context.js';
import { constantTimeEqual, sha256Hex } from '../crypto/tokens.js';
import { InvalidRequest } from '../http/errors.js';
import { findClient, type OAuthClient } from './clients.js';
import { InvalidClient } from './errors.js';

/**
 * Authenticates the client of a token or revocation request by the method it registered. `none`
 * sends client_id in the body, and `client_secret_post` sends the id and secret in the body.
 * `client_secret_basic` sends both form-encoded inside HTTP Basic (RFC 6749 section 2.3.1), and then
 * the body needs no client_id. When the header and the body both name a client, they must agree.
 */
export async function authenticateClient(context: AppContext, request: FastifyRequest, form: Record<string, string>): Promise<OAuthClient> {
  const basic = readBasicCredentials(request.headers.authorization);
  const bodyClientId = form.client_id;
  const bodySecret = form.client_secret;

  if (basic && bodySecret !== undefined) throw new InvalidRequest('Send client credentials either in the Authorization header or in the body, not both.');
  if (basic && bodyClientId !== undefined && bodyClientId !== basic.clientId) {
    throw new InvalidClient('client_id in the body differs from the Basic credentials', { basic: true });
  }
  const clientId = basic?.clientId ?? bodyClientId;
  if (!clientId) throw new InvalidClient('no client_id in the request', { basic: Boolean(basic) });

  let client: OAuthClient | undefined;
  try {
    client = await findClient(context, clientId);
  } catch (error) {
    throw new InvalidClient(`client lookup failed: ${error instanceof Error ? error.message : 'unknown'}`, { basic: Boolean(basic) });
  }
  if (!client) throw new InvalidClient('unknown client_id', { basic: Boolean(basic) });

  let used: OAuthClient['authMethod'] = 'none';
  if (bodySecret !== undefined) used = 'client_secret_post';
  if (basic) used = 'client_secret_basic';
  if (used !== client.authMethod) {
    throw new InvalidClient(`client registered ${client.authMethod} but authenticated with ${used}`, { basic: Boolean(basic) });
  }
  if (used !== 'none') {
    const secret = basic?.secret ?? bodySecret ?? '';
    if (!client.secretHash || !constantTimeEqual(sha256Hex(secret), client.secretHash)) {
      throw new InvalidClient('client secret mismatch', { basic: Boolean(basic) });
    }
  }
  return client;
}

/** Parses `Authorization: Basic`; another scheme is rejected, because no other client authentication is offered. */
function readBasicCredentials(header: string | undefined): { clientId: string; secret: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match) throw new InvalidClient('Authorization header is not Basic credentials', { basic: true });
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) throw new InvalidClient('Basic credentials without a colon', { basic: true });
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, separator).replaceAll('+', ' ')),
      secret: decodeURIComponent(decoded.slice(separator + 1).replaceAll('+', ' ')),
    };
  } catch {
    throw new InvalidClient('Basic credentials are not form-encoded', { basic: true });
  }
}
