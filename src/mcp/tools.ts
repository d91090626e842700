import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { z } from 'zod';

import type { AppContext } from '../app/context.js';
import { isUniqueViolation } from '../db/errors.js';
import { can, type Action } from '../model/permissions.js';
import { createProject, findProject, listProjects } from '../model/projects.js';
import type { MCPCaller } from './authenticate.js';

// Each McpServer otherwise builds its own Ajv instance, which cost about a tenth of a tool call's CPU
// time in bench/mcp-oauth.ts. The server uses it only for elicitation, which these tools never send.
const jsonSchemaValidator = new AjvJsonSchemaValidator();

const organizationIdInput = z.string().min(1).max(100).describe('Organization id, as list_organizations returns it');

/**
 * Builds an MCP server whose tools act as the caller: every read and write goes through the same
 * permission check as the HTTP API, for the organizations the credential covers.
 */
export function createMCPServer(context: AppContext, caller: MCPCaller): McpServer {
  const server = new McpServer({ name: 'gatehouse', version: '0.1.0' }, { jsonSchemaValidator });
  const { principal } = caller;

  const permitted = (organizationId: string, action: Action): CallToolResult | undefined => {
    if (!principal.organizations.some((membership) => membership.organizationId === organizationId)) {
      return failure(`Organization ${organizationId} was not found among the organizations this credential covers.`);
    }
    if (!can(principal.organizations, action, organizationId)) return failure(`Your permission group does not allow ${action} in this organization.`);
    return undefined;
  };

  server.registerTool(
    'whoami',
    { title: 'Who am I', description: 'Returns the signed-in user, the organizations this connection covers, and how it authenticated.', annotations: { readOnlyHint: true } },
    async () =>
      success({
        user: principal.user,
        organizations: principal.organizations.map((membership) => ({ id: membership.organizationId, name: membership.organizationName, role: membership.role })),
        authentication:
          principal.credential.method === 'oauth'
            ? { method: 'oauth', client_id: principal.credential.clientId, scopes: principal.credential.scopes }
            : { method: principal.credential.method },
      }),
  );

  server.registerTool(
    'list_organizations',
    { title: 'List organizations', description: 'Lists the organizations this connection may act in, with your permission group in each.', annotations: { readOnlyHint: true } },
    async () =>
      success(
        principal.organizations.map((membership) => ({ id: membership.organizationId, name: membership.organizationName, plan: membership.plan, group: membership.groupName, role: membership.role })),
      ),
  );

  server.registerTool(
    'list_projects',
    {
      title: 'List projects',
      description: 'Lists the projects of an organization.',
      inputSchema: { organization_id: organizationIdInput },
      annotations: { readOnlyHint: true },
    },
    async ({ organization_id }) => {
      const denied = permitted(organization_id, 'projects.read');
      if (denied) return denied;
      return success(await listProjects(context.store.db, organization_id));
    },
  );

  server.registerTool(
    'get_project',
    {
      title: 'Get a project',
      description: 'Returns one project of an organization.',
      inputSchema: { organization_id: organizationIdInput, project_id: z.string().min(1).max(100) },
      annotations: { readOnlyHint: true },
    },
    async ({ organization_id, project_id }) => {
      const denied = permitted(organization_id, 'projects.read');
      if (denied) return denied;
      const project = await findProject(context.store.db, organization_id, project_id);
      return project ? success(project) : failure(`Project ${project_id} was not found in this organization.`);
    },
  );

  server.registerTool(
    'create_project',
    {
      title: 'Create a project',
      description: 'Creates a project in an organization. Needs the gatehouse:write scope and a permission group that may write projects.',
      inputSchema: { organization_id: organizationIdInput, name: z.string().trim().min(1).max(100) },
    },
    async ({ organization_id, name }) => {
      const denied = permitted(organization_id, 'projects.write');
      if (denied) return denied;
      try {
        return success(await createProject(context.store.db, { organizationId: organization_id, name, now: context.clock() }));
      } catch (error) {
        if (isUniqueViolation(error)) return failure(`A project named "${name}" already exists in this organization.`);
        throw error;
      }
    },
  );

  // The SDK advertises tools.listChanged, but this stateless server has no event stream (GET is
  // 405) to send the notification on. The tool list never changes anyway.
  server.server.registerCapabilities({ tools: { listChanged: false } });
  return server;
}

function success(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

function failure(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}
