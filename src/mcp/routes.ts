import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../app/context.js';
import type { CredentialVerifier } from '../auth/principal.js';
import { ProtocolError } from '../http/errors.js';
import { addCORSHeaders, CORS_ALLOWED_HEADERS } from '../oauth/cors.js';
import { authenticateMCPRequest, requireScopes } from './authenticate.js';
import { isAllowedOrigin, requireAllowedOrigin } from './origin.js';
import { createMCPServer } from './tools.js';

/** 405 for GET and DELETE: this server is stateless, so it offers no SSE stream and no sessions. */
class MethodNotAllowed extends ProtocolError {
  constructor() {
    super(405, 'method_not_allowed', 'This MCP server accepts POST only: it keeps no sessions and offers no event stream.');
  }
}

/**
 * Registers the MCP server at /mcp over Streamable HTTP, stateless: each POST builds a server for its
 * authenticated caller, which responds with JSON. Guards run before the SDK sees the request: Origin,
 * credential, then the scopes that the JSON-RPC messages need.
 */
export function registerMCPRoutes(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== '/mcp') return;
    const origin = request.headers.origin;
    if (origin !== undefined && isAllowedOrigin(context, origin)) addCORSHeaders(reply, origin);
  });

  app.options('/mcp', async (request, reply) => {
    requireAllowedOrigin(context, request);
    return reply
      .status(204)
      .header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS')
      .header('access-control-allow-headers', CORS_ALLOWED_HEADERS)
      .header('access-control-max-age', '600')
      .send();
  });

  app.post('/mcp', async (request, reply) => {
    requireAllowedOrigin(context, request);

    const caller = await authenticateMCPRequest(context, verifier, request);

    requireScopes(context, caller, request.body);

    const server = createMCPServer(context, caller);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value as string);
    }
    // The response bypasses Fastify's onSend hook, so the headers it would add are set here.
    reply.raw.setHeader('cache-control', 'no-store');
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    reply.raw.setHeader('referrer-policy', 'same-origin');
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch (error) {
      request.log.error({ err: error }, 'MCP request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
      }
    }
  });

  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '/mcp',
      handler: async (request, reply) => {
        requireAllowedOrigin(context, request);
        await authenticateMCPRequest(context, verifier, request);
        reply.header('allow', 'POST');
        throw new MethodNotAllowed();
      },
    });
  }
}
