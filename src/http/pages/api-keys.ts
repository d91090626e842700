import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import { createAPIKey, deactivateAPIKey, listAPIKeys } from '../../auth/api-keys.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { html, type SafeHTML } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { NotFound } from '../errors.js';
import { requirePermission } from '../guards.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';

type Params = { Params: { organizationId: string } };

/** Registers Settings → API keys: list, create (shown once) and deactivate. */
export function registerAPIKeyPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const render = async (
    reply: FastifyReply,
    page: { principal: Principal; csrfToken: string },
    organizationId: string,
    options: { status?: number; created?: { name: string; key: string }; name?: string; nameError?: string } = {},
  ) => {
    const keys = await listAPIKeys(context, organizationId, page.principal.user.id);
    const createdNotice: SafeHTML | string = options.created
      ? html`<div class="notice" role="status">
  <p>Copy your new key <strong>${options.created.name}</strong> now. It will not be shown again.</p>
  <label for="new-api-key">New API key</label>
  <code class="secret" id="new-api-key">${options.created.key}</code>
</div>`
      : '';
    return sendPage(reply, {
      status: options.status ?? 200,
      title: 'API keys',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`${createdNotice}
<p>An API key acts as you, with your current permissions in this organization. Send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
<form method="post" action="/orgs/${organizationId}/settings/api-keys" novalidate>
  <input type="hidden" name="csrf_token" value="${page.csrfToken}">
  ${field({ name: 'name', label: 'Key name', value: options.name ?? '', error: options.nameError, required: true, hint: 'For example the program or machine that will use it.' })}
  <button type="submit">Create API key</button>
</form>
<h2>Your keys</h2>
${keys.length === 0
  ? html`<p>You have no API keys in this organization.</p>`
  : html`<table>
  <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Status</th></tr></thead>
  <tbody>${keys.map(
    (key) => html`<tr data-key-id="${key.id}">
    <td>${key.name}</td><td><code>${key.hint}</code></td><td>${key.createdAt.replace('T', ' ').slice(0, 16)} UTC</td>
    <td>${key.lastUsedAt ? `${key.lastUsedAt.replace('T', ' ').slice(0, 16)} UTC` : 'Never'}</td>
    <td>${key.deactivatedAt
      ? 'Deactivated'
      : html`<form method="post" action="/orgs/${organizationId}/settings/api-keys/${key.id}/deactivate">
        <input type="hidden" name="csrf_token" value="${page.csrfToken}">
        <button type="submit" class="secondary" aria-label="Deactivate ${key.name}">Deactivate</button></form>`}</td>
  </tr>`,
  )}</tbody>
</table>`}`,
    });
  };

  app.get<Params>('/orgs/:organizationId/settings/api-keys', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requirePermission(page.principal, request.params.organizationId, 'api_keys.manage_own');
    return render(reply, page, request.params.organizationId);
  });

  app.post<Params>('/orgs/:organizationId/settings/api-keys', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'api_keys.manage_own');

    const name = formField(request, 'name').trim();
    if (name.length < 1 || name.length > 100) {
      return render(reply, page, organizationId, { status: 400, name, nameError: 'Enter a name of 1 to 100 characters.' });
    }

    const created = await createAPIKey(context, { organizationId, userId: page.principal.user.id, name });
    request.log.info({ event: 'api_key.created', apiKeyId: created.id, organizationId }, 'API key created');
    return render(reply, page, organizationId, { status: 201, created: { name: created.name, key: created.key } });
  });

  app.post<{ Params: { organizationId: string; keyId: string } }>(
    '/orgs/:organizationId/settings/api-keys/:keyId/deactivate',
    async (request, reply) => {
      const page = await requirePageSession(context, verifier, request, reply);
      if (!page) return reply;
      requireCSRF(context, request, reply, page.principal);
      const { organizationId, keyId } = request.params;
      requirePermission(page.principal, organizationId, 'api_keys.manage_own');

      const done = await deactivateAPIKey(context, { id: keyId, organizationId, userId: page.principal.user.id });
      if (!done) throw new NotFound('No active API key with this id belongs to you.');
      request.log.info({ event: 'api_key.deactivated', apiKeyId: keyId, organizationId }, 'API key deactivated');
      return reply.redirect(`/orgs/${organizationId}/settings/api-keys`, 303);
    },
  );
}
