import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { trustValues } from '../../providers/federation-display.js';
import { createProvider, deleteProvider, findProvider, listProviders, providerInputSchema, updateProvider, type ProviderView } from '../../providers/providers.js';
import { authenticateAPIRequest } from '../authenticate.js';
import { NotFound } from '../errors.js';
import { parseInput, requirePermission, requireSameOriginForCookieAuth } from '../guards.js';

const organizationParams = z.object({ organizationId: z.string().min(1).max(64) });
const providerParams = organizationParams.extend({ providerId: z.string().min(1).max(64) });

/** Serializes a provider for the API. The stored key is never included; key_hint is its last four characters. */
export function providerJSON(context: AppContext, provider: ProviderView): Record<string, unknown> {
  const trust = trustValues(context, provider);
  return {
    id: provider.id,
    organization_id: provider.organizationId,
    project_id: provider.projectId,
    kind: provider.kind,
    name: provider.name,
    base_url: provider.baseURL,
    models: provider.models,
    auth_method: provider.authMethod,
    key_hint: provider.keyHint,
    federation: provider.federation,
    trust: trust ? { issuer: trust.issuer, subject: trust.subject, audience: trust.audience, jwks_uri: trust.jwksURL } : null,
    created_at: provider.createdAt,
    updated_at: provider.updatedAt,
  };
}

/** Requires the right to change a provider: organization-level ones need more than project-level ones. */
function requireManage(principal: Principal, organizationId: string, projectId: string | null | undefined): void {
  requirePermission(principal, organizationId, projectId ? 'providers.manage_project' : 'providers.manage');
}

/** Registers the AI provider endpoints under /v1/organizations/:organizationId/providers. */
export function registerProviderRoutes(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/v1/organizations/:organizationId/providers', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    const { organizationId } = parseInput(organizationParams, request.params);
    requirePermission(principal, organizationId, 'providers.read');

    const providers = await listProviders(context, organizationId);
    reply.header('cache-control', 'no-store');
    return { providers: providers.map((provider) => providerJSON(context, provider)) };
  });

  app.get('/v1/organizations/:organizationId/providers/:providerId', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    const { organizationId, providerId } = parseInput(providerParams, request.params);
    requirePermission(principal, organizationId, 'providers.read');

    const provider = await findProvider(context, organizationId, providerId);
    if (!provider) throw new NotFound('Provider not found.');
    reply.header('cache-control', 'no-store');
    return providerJSON(context, provider);
  });

  app.post('/v1/organizations/:organizationId/providers', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const { organizationId } = parseInput(organizationParams, request.params);
    requirePermission(principal, organizationId, 'providers.read');
    const input = parseInput(providerInputSchema, request.body);
    requireManage(principal, organizationId, input.project_id);

    const provider = await createProvider(context, organizationId, input);
    request.log.info({ event: 'provider.created', organizationId, providerId: provider.id, kind: provider.kind, authMethod: provider.authMethod }, 'AI provider created');
    return reply.status(201).header('cache-control', 'no-store').send(providerJSON(context, provider));
  });

  app.put('/v1/organizations/:organizationId/providers/:providerId', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const { organizationId, providerId } = parseInput(providerParams, request.params);
    requirePermission(principal, organizationId, 'providers.read');
    const existing = await findProvider(context, organizationId, providerId);
    if (!existing) throw new NotFound('Provider not found.');
    requireManage(principal, organizationId, existing.projectId);
    const input = parseInput(providerInputSchema, request.body);

    const provider = await updateProvider(context, organizationId, providerId, input);
    request.log.info({ event: 'provider.updated', organizationId, providerId, authMethod: provider.authMethod }, 'AI provider updated');
    return reply.header('cache-control', 'no-store').send(providerJSON(context, provider));
  });

  app.delete('/v1/organizations/:organizationId/providers/:providerId', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const { organizationId, providerId } = parseInput(providerParams, request.params);
    requirePermission(principal, organizationId, 'providers.read');
    const existing = await findProvider(context, organizationId, providerId);
    if (!existing) throw new NotFound('Provider not found.');
    requireManage(principal, organizationId, existing.projectId);

    await deleteProvider(context, organizationId, providerId);
    request.log.info({ event: 'provider.deleted', organizationId, providerId }, 'AI provider deleted');
    return reply.status(204).send();
  });
}
