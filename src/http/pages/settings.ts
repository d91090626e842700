import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { listMembers } from '../../model/memberships.js';
import { can } from '../../model/permissions.js';
import { removeMember } from '../../model/remove-member.js';
import { html } from '../../web/html.js';
import { requirePermission } from '../guards.js';
import { requireCSRF, requirePageSession, sendPage } from './page.js';

/** Registers the organization overview and members pages. */
export function registerSettingsPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get<{ Params: { organizationId: string } }>('/orgs/:organizationId/settings', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.read');

    const membership = page.principal.organizations.find((entry) => entry.organizationId === organizationId);
    return sendPage(reply, {
      title: membership?.organizationName ?? 'Organization',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`<dl>
  <dt>Organization ID</dt><dd><code>${organizationId}</code></dd>
  <dt>Plan</dt><dd>${membership?.plan ?? ''}</dd>
  <dt>Your group</dt><dd>${membership?.groupName ?? ''}</dd>
  <dt>Signed in as</dt><dd>${page.principal.user.email}</dd>
</dl>
<ul>
  <li><a href="/orgs/${organizationId}/settings/members">Members</a></li>
  ${can(page.principal.organizations, 'connections.manage', organizationId) ? html`<li><a href="/orgs/${organizationId}/settings/connections">Sign-in connections</a></li>` : ''}
  <li><a href="/orgs/${organizationId}/settings/api-keys">API keys</a></li>
  <li><a href="/orgs/${organizationId}/settings/providers">AI providers</a></li>
  ${can(page.principal.organizations, 'organization.manage', organizationId) ? html`<li><a href="/orgs/${organizationId}/settings/domains">Domains</a></li>` : ''}
</ul>`,
    });
  });

  app.get<{ Params: { organizationId: string } }>('/orgs/:organizationId/settings/members', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'members.read');

    const members = await listMembers(context.store.db, organizationId);
    const manage = can(page.principal.organizations, 'members.manage', organizationId);
    return sendPage(reply, {
      title: 'Members',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`<table>
  <thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Group</th><th scope="col">Joined</th>${manage ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ''}</tr></thead>
  <tbody>
  ${members.map(
    (member) => html`<tr>
    <td>${member.email}</td><td>${member.name ?? ''}</td><td>${member.groupName}</td><td>${member.joinedAt.slice(0, 10)}</td>
    ${manage && member.userId !== page.principal.user.id
      ? html`<td><form method="post" action="/orgs/${organizationId}/settings/members/${member.userId}/remove">
        <input type="hidden" name="csrf_token" value="${page.csrfToken}">
        <button type="submit" class="secondary" aria-label="Remove ${member.email}">Remove</button></form></td>`
      : manage ? html`<td></td>` : ''}
  </tr>`,
  )}
  </tbody>
</table>
<p class="hint">Removing a member ends their access to this organization at once, including their API keys.</p>`,
    });
  });

  app.post<{ Params: { organizationId: string; userId: string } }>(
    '/orgs/:organizationId/settings/members/:userId/remove',
    async (request, reply) => {
      const page = await requirePageSession(context, verifier, request, reply);
      if (!page) return reply;
      requireCSRF(context, request, reply, page.principal);
      const { organizationId, userId } = request.params;
      requirePermission(page.principal, organizationId, 'members.manage');

      await removeMember(context, organizationId, userId);
      return reply.redirect(`/orgs/${organizationId}/settings/members`, 303);
    },
  );
}
