import type { FastifyRequest } from 'fastify';

import type { AppContext } from '../app/context.js';
import { Forbidden } from '../http/errors.js';

/** Returns whether a browser origin may call /mcp: Gatehouse's own origin or one that GATEHOUSE_MCP_ALLOWED_ORIGINS lists. */
export function isAllowedOrigin(context: AppContext, origin: string): boolean {
  return origin === new URL(context.config.publicUrl).origin || (context.config.mcpAllowedOrigins ?? []).includes(origin);
}

/**
 * Rejects a request whose Origin header names another site with 403, as the MCP Streamable HTTP
 * transport requires against DNS rebinding. Requests without Origin come from non-browser clients
 * and pass.
 */
export function requireAllowedOrigin(context: AppContext, request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined || isAllowedOrigin(context, origin)) return;
  throw new Forbidden('Requests from this web origin are not allowed. An operator can allow it with GATEHOUSE_MCP_ALLOWED_ORIGINS.', `origin ${origin.slice(0, 200)}`);
}
