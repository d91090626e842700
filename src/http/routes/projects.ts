import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { createProject, findProject, listProjects, type Project } from '../../model/projects.js';
import { isUniqueViolation } from '../../db/errors.js';
import { authenticateAPIRequest } from '../authenticate.js';
import { Conflict, NotFound } from '../errors.js';
import { parseInput, requirePermission, requireSameOriginForCookieAuth } from '../guards.js';

const organizationParams = z.object({ organizationId: z.string().min(1).max(64) });
const projectParams = organizationParams.extend({ projectId: z.string().min(1).max(64) });
const createBody = z.object({ name: z.string().trim().min(1).max(100) });

function projectJSON(project: Project): Record<string, unknown> {
  return { id: project.id, organization_id: project.organizationId, name: project.name, created_at: project.createdAt };
}

/** Registers the project endpoints under /v1/organizations/:organizationId/projects. */
export function registerProjectRoutes(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/v1/organizations/:organizationId/projects', async (request) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    const { organizationId } = parseInput(organizationParams, request.params);
    requirePermission(principal, organizationId, 'projects.read');

    return { projects: (await listProjects(context.store.db, organizationId)).map(projectJSON) };
  });

  app.get('/v1/organizations/:organizationId/projects/:projectId', async (request) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    const { organizationId, projectId } = parseInput(projectParams, request.params);
    requirePermission(principal, organizationId, 'projects.read');

    const project = await findProject(context.store.db, organizationId, projectId);
    if (!project) throw new NotFound('Project not found.');
    return projectJSON(project);
  });

  app.post('/v1/organizations/:organizationId/projects', async (request, reply) => {
    const principal = await authenticateAPIRequest(context, verifier, request);
    requireSameOriginForCookieAuth(context, request, principal);
    const { organizationId } = parseInput(organizationParams, request.params);
    requirePermission(principal, organizationId, 'projects.write');
    const body = parseInput(createBody, request.body);

    let project: Project;
    try {
      project = await createProject(context.store.db, { organizationId, name: body.name, now: context.clock() });
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict(`A project named "${body.name}" already exists.`);
      throw error;
    }
    request.log.info({ event: 'project.created', projectId: project.id, organizationId }, 'project created');
    return reply.status(201).send(projectJSON(project));
  });
}
