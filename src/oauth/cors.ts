import type { FastifyInstance, FastifyReply } from 'fastify';

/** Request headers browser MCP clients send: the bearer token, JSON bodies and the MCP protocol headers. */
export const CORS_ALLOWED_HEADERS = 'Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Session-Id, Last-Event-ID';
/** Response headers a browser client must be able to read, above all the 401 challenge. */
export const CORS_EXPOSED_HEADERS = 'WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version';

/** Adds the CORS headers of a response to `origin` (a concrete origin, or `*` for public documents). */
export function addCORSHeaders(reply: FastifyReply, origin: string): void {
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-expose-headers', CORS_EXPOSED_HEADERS);
  if (origin !== '*') reply.header('vary', 'Origin');
}

/**
 * Makes endpoints callable from any web origin: browser MCP clients fetch metadata, register and
 * redeem tokens cross-origin. This is safe because none of these endpoints reads cookies, so `*`
 * grants a page nothing it could not do with its own HTTP client. Preflights get 204.
 */
export function allowAnyOrigin(app: FastifyInstance, paths: readonly string[], methods: string): void {
  const set = new Set(paths);
  app.addHook('onRequest', async (request, reply) => {
    if (set.has(request.routeOptions.url ?? '')) addCORSHeaders(reply, '*');
  });
  for (const path of paths) {
    app.options(path, async (_request, reply) => {
      reply
        .status(204)
        .header('access-control-allow-methods', methods)
        .header('access-control-allow-headers', CORS_ALLOWED_HEADERS)
        .header('access-control-max-age', '600')
        .send();
    });
  }
}
