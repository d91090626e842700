import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { listMembers } from '../../model/memberships.js';
import { removeMember } from '../../model/remove-member.js';
import { authenticateAPIRequest } from '../authenticate.js';
import { parseInput, requirePermission, requireSameOriginForCookieAuth } from '../guards.js';

const organizationParams = z.object({ organizationId: z.string().min(1).max(64) });
const memberParams = organizationParams.extend({ userId: z.string().min(1).max(64) });

/** Registers GET and DELETE /v1/organizations/:organizationId/members. */
export function registerMemberRoutes(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/v1/organizations/:organizationId/members', async (request) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    const { organizationId } = parseInput(organizationParams, request.params);
    requirePermission(principal, organizationId, 'members.read');

    const members = await listMembers(context.store.db, organizationId);
    return {
      members: members.map((member) => ({
        user_id: member.userId,
        email: member.email,
        name: member.name,
        group: { name: member.groupName, role: member.role },
        joined_at: member.joinedAt,
      })),
    };
  });

  app.delete('/v1/organizations/:organizationId/members/:userId', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const { organizationId, userId } = parseInput(memberParams, request.params);
    requirePermission(principal, organizationId, 'members.manage');

    await removeMember(context, organizationId, userId);
    return reply.status(204).send();
  });
}
