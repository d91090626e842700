import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import { createAPIKey, deactivateAPIKey, listAPIKeys } from '../../auth/api-keys.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { open, seal } from '../../crypto/sealed-box.js';
import { html, type SafeHTML } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { readCookie } from '../cookies.js';
import { NotFound } from '../errors.js';
import { requirePermission } from '../guards.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';

type Params = { Params: { organizationId: string } };

const NEW_KEY_COOKIE = 'gatehouse_new_key';

function sessionBinding(principal: Principal): string {
  return principal.credential.method === 'session' ? `new-key:${principal.credential.sessionId}` : 'new-key:none';
}

/** Opens the sealed new-key cookie; a cookie from another session or a tampered one shows nothing. */
function openNewKey(context: AppContext, sealed: string, binding: string): { name: string; key: string } | undefined {
  try {
    const value = JSON.parse(open(context.keys.secretEncryption, sealed, binding)) as { name?: unknown; key?: unknown };
    return typeof value.name === 'string' && typeof value.key === 'string' ? { name: value.name, key: value.key } : undefined;
  } catch {
    return undefined;
  }
}

/** Registers Settings → API keys: list, create (shown once) and deactivate. */
export function registerAPIKeyPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const render = async (
    reply: FastifyReply,
    page: { principal: Principal; csrfToken: string },
    organizationId: string,
    options: { status?: number; created?: { name: string; key: string } | undefined; name?: string; nameError?: string } = {},
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
      : html`Active <form class="inline" method="post" action="/orgs/${organizationId}/settings/api-keys/${key.id}/deactivate">
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
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'api_keys.manage_own');

    const sealed = readCookie(request, NEW_KEY_COOKIE);
    if (!sealed) return render(reply, page, organizationId);
    reply.clearCookie(NEW_KEY_COOKIE, { path: `/orgs/${organizationId}/settings/api-keys`, httpOnly: true, secure: true, sameSite: 'strict' });
    return render(reply, page, organizationId, { created: openNewKey(context, sealed, sessionBinding(page.principal)) });
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

    const existing = await listAPIKeys(context, organizationId, page.principal.user.id);
    if (existing.some((key) => key.name === name && !key.deactivatedAt)) {
      return render(reply, page, organizationId, { status: 409, name, nameError: `You already have an active key named "${name}". Choose another name.` });
    }

    const created = await createAPIKey(context, { organizationId, userId: page.principal.user.id, name });
    request.log.info({ event: 'api_key.created', apiKeyId: created.id, organizationId }, 'API key created');

    // Post/Redirect/Get, so a reload cannot create a second key. The key crosses the redirect in a
    // cookie sealed under a server key and bound to this session, and the next page load removes it.
    const binding = sessionBinding(page.principal);
    reply.setCookie(NEW_KEY_COOKIE, seal(context.keys.secretEncryption, JSON.stringify({ name: created.name, key: created.key }), binding), {
      path: `/orgs/${organizationId}/settings/api-keys`,
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      maxAge: 120,
    });
    return reply.redirect(`/orgs/${organizationId}/settings/api-keys`, 303);
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
