import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import type { AppContext } from '../app/context.js';
import type { CredentialVerifier, Principal } from '../auth/principal.js';
import { authenticateAPIRequest } from '../http/authenticate.js';
import { InvalidRequest, InvalidToken, NotFound } from '../http/errors.js';
import { parseInput, requirePermission, requireSameOriginForCookieAuth } from '../http/guards.js';
import { findProject } from '../model/projects.js';
import { providerKinds } from '../providers/kinds.js';
import { resolveProvider, type ResolvedProvider } from '../providers/providers.js';
import { GatewayDisabled, ModelNotFound, UpstreamRateLimited, UpstreamUnavailable } from './errors.js';
import { sendToProvider, type UpstreamAPI } from './upstream.js';

/** Largest request body the gateway accepts; chat requests with images or long contexts are large. */
const BODY_LIMIT_BYTES = 8 * 1024 * 1024;
/** Largest non-streamed provider response the gateway buffers. */
const RESPONSE_LIMIT_BYTES = 16 * 1024 * 1024;

const chatBody = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(z.unknown()).min(1),
  stream: z.boolean().optional(),
});
const messagesBody = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(z.unknown()).min(1),
  max_tokens: z.number().int().positive(),
  stream: z.boolean().optional(),
});
const routingHeaders = z.object({
  'x-gatehouse-organization': z.string().min(1).max(64).optional(),
  'x-gatehouse-project': z.string().min(1).max(64).optional(),
  'anthropic-version': z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'must be a date such as 2023-06-01').optional(),
  'anthropic-beta': z.string().regex(/^[a-z0-9-]+(, *[a-z0-9-]+)*$/, 'must be comma-separated beta names').max(500).optional(),
});

/**
 * Authenticates a gateway caller. Besides the usual Bearer header and session cookie, Anthropic's
 * clients send their key in `x-api-key`, so a Gatehouse API key is accepted there too.
 */
async function authenticateCaller(context: AppContext, verifier: CredentialVerifier, request: FastifyRequest): Promise<Principal> {
  const apiKeyHeader = request.headers['x-api-key'];
  if (request.headers.authorization === undefined && typeof apiKeyHeader === 'string') {
    const result = await verifier.verifyAPIKey(apiKeyHeader.trim());
    if (!result.ok) throw new InvalidToken(`api key in x-api-key rejected: ${result.reason}`);
    return result.principal;
  }
  return authenticateAPIRequest(context, verifier, request);
}

/** Picks the organization of the call: the only one of the credential, or the one the header names. */
function organizationOf(principal: Principal, requested: string | undefined): string {
  if (requested) return requested;
  if (principal.organizations.length === 1) return principal.organizations[0]!.organizationId;
  throw new InvalidRequest('You belong to several organizations; name one in the X-Gatehouse-Organization header.');
}

/** Replaces every occurrence of the credential in a body that is passed back to the caller. */
function scrub(text: string, secret: string): string {
  return secret.length >= 8 ? text.split(secret).join('[redacted]') : text;
}

/** Reads a provider response body, and stops reading once it exceeds RESPONSE_LIMIT_BYTES. */
async function readLimited(response: Response, providerName: string): Promise<string> {
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > RESPONSE_LIMIT_BYTES) {
      await response.body.cancel().catch(() => undefined);
      throw new UpstreamUnavailable(providerName, `response larger than ${RESPONSE_LIMIT_BYTES} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Registers POST /v1/chat/completions (OpenAI-compatible) and POST /v1/messages (Anthropic pass-through). */
export function registerGatewayRoutes(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const handle = async (request: FastifyRequest, reply: FastifyReply, api: UpstreamAPI) => {
    if (!context.config.gateway.enabled) throw new GatewayDisabled();

    const principal = await authenticateCaller(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const headers = parseInput(routingHeaders, request.headers);
    const organizationId = organizationOf(principal, headers['x-gatehouse-organization']);
    requirePermission(principal, organizationId, 'providers.use');
    const body = parseInput(api === 'chat_completions' ? chatBody : messagesBody, request.body);

    const projectId = headers['x-gatehouse-project'] ?? null;
    if (projectId && !(await findProject(context.store.db, organizationId, projectId))) throw new NotFound('Project not found.');

    const provider: ResolvedProvider | undefined = await resolveProvider(context, { organizationId, projectId, model: body.model });
    if (!provider) throw new ModelNotFound(body.model);
    if (api === 'anthropic_messages' && provider.kind !== 'anthropic') {
      throw new InvalidRequest(`The model "${body.model}" is served by the provider "${provider.name}" (${providerKinds[provider.kind].label}). /v1/messages passes requests to Anthropic providers only, so use /v1/chat/completions.`);
    }

    const caller = new AbortController();
    request.raw.once('close', () => {
      if (!reply.raw.writableEnded) caller.abort();
    });
    const started = Date.now();
    let upstream;
    try {
      upstream = await sendToProvider(context, provider, {
        api,
        body,
        anthropicVersion: headers['anthropic-version'],
        anthropicBeta: headers['anthropic-beta'],
        signal: caller.signal,
      });
    } catch (error) {
      if (error instanceof UpstreamRateLimited && error.retryAfter) reply.header('retry-after', error.retryAfter);
      throw error;
    }
    const { response, credential } = upstream;
    request.log.info(
      { event: 'gateway.call', organizationId, projectId, providerId: provider.id, model: body.model, status: response.status, credential: credential.type, cachedToken: credential.type === 'bearer' ? credential.cached : undefined, milliseconds: Date.now() - started },
      'gateway call',
    );

    reply.status(response.status).header('cache-control', 'no-store');
    const contentType = response.headers.get('content-type') ?? 'application/json';
    if (response.ok && body.stream === true && response.body && contentType.startsWith('text/event-stream')) {
      return reply.type('text/event-stream; charset=utf-8').send(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>));
    }
    const text = scrub(await readLimited(response, provider.name), credential.secret);
    return reply.type(contentType.startsWith('application/json') ? contentType : 'application/json').send(text);
  };

  app.post('/v1/chat/completions', { bodyLimit: BODY_LIMIT_BYTES }, (request, reply) => handle(request, reply, 'chat_completions'));
  app.post('/v1/messages', { bodyLimit: BODY_LIMIT_BYTES }, (request, reply) => handle(request, reply, 'anthropic_messages'));
}
