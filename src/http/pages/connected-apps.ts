import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { listConnectedApps, revokeConnectedApp } from '../../oauth/connected-apps.js';
import { scopeDescriptions } from '../../oauth/scopes.js';
import { html } from '../../web/html.js';
import { NotFound } from '../errors.js';
import { requirePermission } from '../guards.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';

type Params = { Params: { organizationId: string } };

const kindLabels = { dynamic: 'Registered itself', metadata_document: 'Metadata document', preregistered: 'Added by an owner' } as const;

function timestamp(value: string | null): string {
  return value ? `${value.replace('T', ' ').slice(0, 16)} UTC` : 'Never';
}

/** Registers Settings → Connected apps: the OAuth clients the user authorized in an organization, with revocation. */
export function registerConnectedAppPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const render = async (reply: FastifyReply, page: { principal: Principal; csrfToken: string }, organizationId: string) => {
    const apps = await listConnectedApps(context, page.principal.user.id, organizationId);
    return sendPage(reply, {
      title: 'Connected apps',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`<p>Applications you allowed to act as you in this organization through OAuth, such as AI tools connected to the MCP server. Revoking one ends its access at once; it must ask you again to reconnect.</p>
${apps.length === 0
  ? html`<p>You have not connected any applications to this organization.</p>`
  : html`<table>
  <thead><tr><th scope="col">Application</th><th scope="col">Access</th><th scope="col">Authorized</th><th scope="col">Last used</th><th scope="col">Actions</th></tr></thead>
  <tbody>${apps.map(
    (connected) => html`<tr data-client-id="${connected.clientId}">
    <td><strong>${connected.name ?? 'Unnamed application'}</strong><br><code>${connected.clientId}</code><br>${kindLabels[connected.kind]}</td>
    <td><ul>${connected.scopes.map((scope) => html`<li>${scopeDescriptions[scope] ?? scope}</li>`)}</ul></td>
    <td>${timestamp(connected.authorizedAt)}</td>
    <td>${timestamp(connected.lastUsedAt)}</td>
    <td><form class="inline" method="post" action="/orgs/${organizationId}/settings/connected-apps/revoke">
      <input type="hidden" name="csrf_token" value="${page.csrfToken}">
      <input type="hidden" name="client_id" value="${connected.clientId}">
      <button type="submit" class="secondary" aria-label="Revoke ${connected.name ?? connected.clientId}">Revoke</button></form></td>
  </tr>`,
  )}</tbody>
</table>`}`,
    });
  };

  app.get<Params>('/orgs/:organizationId/settings/connected-apps', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.read');

    return render(reply, page, organizationId);
  });

  app.post<Params>('/orgs/:organizationId/settings/connected-apps/revoke', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.read');

    const clientId = formField(request, 'client_id');
    const revoked = await revokeConnectedApp(context, { userId: page.principal.user.id, organizationId, clientId });
    if (revoked === 0) throw new NotFound('You have no active connection with this application.');

    request.log.info({ event: 'oauth.app_revoked', clientId, organizationId, grants: revoked }, 'connected app revoked');
    return reply.redirect(`/orgs/${organizationId}/settings/connected-apps`, 303);
  });
}
