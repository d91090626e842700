import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { authenticateAPIRequest } from '../authenticate.js';

/** JSON shape of GET /v1/whoami. */
export function whoamiBody(principal: Principal): Record<string, unknown> {
  return {
    user: { id: principal.user.id, email: principal.user.email, name: principal.user.name },
    organizations: principal.organizations.map((membership) => ({
      id: membership.organizationId,
      name: membership.organizationName,
      plan: membership.plan,
      group: { id: membership.groupId, name: membership.groupName, role: membership.role },
    })),
    authentication: authenticationOf(principal.credential),
  };
}

function authenticationOf(credential: Principal['credential']): Record<string, unknown> {
  if (credential.method === 'api_key') return { method: 'api_key', api_key_id: credential.apiKeyId };
  if (credential.method === 'oauth') return { method: 'oauth', client_id: credential.clientId, scope: credential.scopes.join(' ') };
  return { method: 'session' };
}

/** Registers GET /v1/whoami, which returns the caller and how it authenticated. */
export function registerWhoamiRoute(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/v1/whoami', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    reply.header('cache-control', 'no-store');
    return whoamiBody(principal);
  });
}
