import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';

import type { AppContext } from '../app/context.js';
import type { Principal } from '../auth/principal.js';
import { can, type Action } from '../model/permissions.js';
import { Forbidden, InvalidRequest, NotFound } from './errors.js';

/**
 * Requires that the principal may perform `action` in the organization. An organization the caller
 * does not belong to gets 404, so ids of other organizations cannot be probed.
 */
export function requirePermission(principal: Principal, organizationId: string, action: Action): void {
  if (!principal.organizations.some((membership) => membership.organizationId === organizationId)) {
    throw new NotFound('Organization not found.');
  }
  if (!can(principal.organizations, action, organizationId)) {
    throw new Forbidden('Your permission group does not allow this action.', `missing ${action}`);
  }
}

/**
 * Rejects a state-changing API request authenticated by the session cookie unless it comes from
 * Gatehouse's own origin. API-key requests carry no ambient credential, so they need no such check.
 */
export function requireSameOriginForCookieAuth(context: AppContext, request: FastifyRequest, principal: Principal): void {
  if (principal.credential.method !== 'session') return;
  const origin = request.headers.origin;
  const fetchSite = request.headers['sec-fetch-site'];
  if (origin === new URL(context.config.publicUrl).origin || fetchSite === 'same-origin') return;
  throw new Forbidden('Cross-site requests with a session cookie are not allowed. Use an API key.', 'origin check failed');
}

/** Parses a request body or parameters with a zod schema; one message lists every problem. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, value: unknown): z.infer<Schema> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
  throw new InvalidRequest(`Invalid request: ${problems.join('; ')}.`);
}
