import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import type { AppContext } from '../../app/context.js';
import { createAPIKey, deactivateAPIKey, listAPIKeys, type APIKeySummary } from '../../auth/api-keys.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { authenticateAPIRequest } from '../authenticate.js';
import { Conflict, NotFound } from '../errors.js';
import { parseInput, requirePermission, requireSameOriginForCookieAuth } from '../guards.js';

const organizationParams = z.object({ organizationId: z.string().min(1).max(64) });
const keyParams = organizationParams.extend({ keyId: z.string().min(1).max(64) });
const createBody = z.object({ name: z.string().trim().min(1).max(100) });

/** JSON shape of one API key in responses. */
export function apiKeyJSON(key: APIKeySummary): Record<string, unknown> {
  return {
    id: key.id,
    name: key.name,
    hint: key.hint,
    created_at: key.createdAt,
    last_used_at: key.lastUsedAt,
    deactivated_at: key.deactivatedAt,
  };
}

/** Registers the API-key endpoints under /v1/organizations/:organizationId/api-keys. */
export function registerAPIKeyRoutes(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/v1/organizations/:organizationId/api-keys', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    const { organizationId } = parseInput(organizationParams, request.params);
    requirePermission(principal, organizationId, 'api_keys.manage_own');

    const keys = await listAPIKeys(context, organizationId, principal.user.id);
    reply.header('cache-control', 'no-store');
    return { api_keys: keys.map(apiKeyJSON) };
  });

  app.post('/v1/organizations/:organizationId/api-keys', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const { organizationId } = parseInput(organizationParams, request.params);
    requirePermission(principal, organizationId, 'api_keys.manage_own');
    const body = parseInput(createBody, request.body);
    const existing = await listAPIKeys(context, organizationId, principal.user.id);
    if (existing.some((key) => key.name === body.name && !key.deactivatedAt)) {
      throw new Conflict(`You already have an active key named "${body.name}". Choose another name.`);
    }

    const created = await createAPIKey(context, { organizationId, userId: principal.user.id, name: body.name });
    request.log.info({ event: 'api_key.created', apiKeyId: created.id, organizationId }, 'API key created');
    reply.status(201).header('cache-control', 'no-store');
    return { ...apiKeyJSON(created), key: created.key };
  });

  app.post('/v1/organizations/:organizationId/api-keys/:keyId/deactivate', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const { organizationId, keyId } = parseInput(keyParams, request.params);
    requirePermission(principal, organizationId, 'api_keys.manage_own');

    const done = await deactivateAPIKey(context, { id: keyId, organizationId, userId: principal.user.id });
    if (!done) throw new NotFound('No active API key with this id belongs to you.');
    request.log.info({ event: 'api_key.deactivated', apiKeyId: keyId, organizationId }, 'API key deactivated');
    const key = (await listAPIKeys(context, organizationId, principal.user.id)).find((entry) => entry.id === keyId);
    reply.header('cache-control', 'no-store');
    return key ? apiKeyJSON(key) : {};
  });
}
