import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { open, seal } from '../../crypto/sealed-box.js';
import { deletePreregisteredClient, listPreregisteredClients, registerClient } from '../../oauth/registration.js';
import { html, type SafeHTML } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { readCookie } from '../cookies.js';
import { NotFound, ProtocolError } from '../errors.js';
import { requirePermission } from '../guards.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';

type Params = { Params: { organizationId: string } };

const NEW_CLIENT_COOKIE = 'gatehouse_new_oauth_client';
const authMethodLabels: Record<string, string> = {
  none: 'Public (PKCE only, no secret)',
  client_secret_basic: 'Confidential, secret in HTTP Basic',
  client_secret_post: 'Confidential, secret in the request body',
};

interface CreatedClient {
  clientId: string;
  secret?: string;
}

function sessionBinding(principal: Principal): string {
  return principal.credential.method === 'session' ? `new-oauth-client:${principal.credential.sessionId}` : 'new-oauth-client:none';
}

/** Opens the sealed new-client cookie; a cookie from another session or a tampered one shows nothing. */
function openCreated(context: AppContext, sealed: string, binding: string): CreatedClient | undefined {
  try {
    const value = JSON.parse(open(context.keys.secretEncryption, sealed, binding)) as { clientId?: unknown; secret?: unknown };
    if (typeof value.clientId !== 'string') return undefined;
    return typeof value.secret === 'string' ? { clientId: value.clientId, secret: value.secret } : { clientId: value.clientId };
  } catch {
    return undefined;
  }
}

/**
 * Registers Settings → OAuth clients, where owners pre-register a client for their organization: for
 * example an internal tool that cannot use dynamic registration. Such a client may only be
 * authorized for this organization, and its consent page shows no unverified-application warning.
 */
export function registerOAuthClientPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const path = (organizationId: string) => `/orgs/${organizationId}/settings/oauth-clients`;

  const render = async (
    reply: FastifyReply,
    page: { principal: Principal; csrfToken: string },
    organizationId: string,
    options: { status?: number; created?: CreatedClient | undefined; values?: Record<string, string>; error?: string } = {},
  ) => {
    const clients = await listPreregisteredClients(context, organizationId);
    const createdNotice: SafeHTML | string = options.created
      ? html`<div class="notice" role="status">
  <p>The client is registered. Its ID is <code id="new-client-id">${options.created.clientId}</code>.</p>
  ${options.created.secret
    ? html`<p>Copy the client secret now. It will not be shown again.</p><code class="secret" id="new-client-secret">${options.created.secret}</code>`
    : ''}
</div>`
      : '';
    const values = options.values ?? {};
    return sendPage(reply, {
      status: options.status ?? 200,
      title: 'OAuth clients',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`${createdNotice}
<p>Register an application that connects to Gatehouse's MCP server through OAuth and cannot register itself. Members can then authorize it for this organization only.</p>
<form method="post" action="${path(organizationId)}" novalidate>
  <input type="hidden" name="csrf_token" value="${page.csrfToken}">
  ${field({ name: 'client_name', label: 'Application name', value: values.client_name ?? '', required: true })}
  ${field({ name: 'redirect_uris', label: 'Redirect URIs', value: values.redirect_uris ?? '', error: options.error, required: true, multiline: true, hint: 'One per line: https, http on 127.0.0.1 or localhost, or a private-use scheme such as cursor://.' })}
  <label for="token_endpoint_auth_method">Client type</label>
  <select id="token_endpoint_auth_method" name="token_endpoint_auth_method">${Object.entries(authMethodLabels).map(
    ([value, label]) => html`<option value="${value}"${values.token_endpoint_auth_method === value ? html` selected` : ''}>${label}</option>`,
  )}</select>
  <button type="submit">Register client</button>
</form>
<h2>Registered clients</h2>
${clients.length === 0
  ? html`<p>No clients are registered for this organization.</p>`
  : html`<table>
  <thead><tr><th scope="col">Application</th><th scope="col">Redirect URIs</th><th scope="col">Type</th><th scope="col">Actions</th></tr></thead>
  <tbody>${clients.map(
    (client) => html`<tr data-client-id="${client.clientId}">
    <td><strong>${client.name ?? 'Unnamed application'}</strong><br><code>${client.clientId}</code></td>
    <td><ul>${client.redirectURIs.map((uri) => html`<li><code>${uri}</code></li>`)}</ul></td>
    <td>${authMethodLabels[client.authMethod] ?? client.authMethod}</td>
    <td><form class="inline" method="post" action="${path(organizationId)}/${client.clientId}/delete">
      <input type="hidden" name="csrf_token" value="${page.csrfToken}">
      <button type="submit" class="secondary" aria-label="Delete ${client.name ?? client.clientId}">Delete</button></form></td>
  </tr>`,
  )}</tbody>
</table>`}`,
    });
  };

  app.get<Params>('/orgs/:organizationId/settings/oauth-clients', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.manage');

    const sealed = readCookie(request, NEW_CLIENT_COOKIE);
    if (!sealed) return render(reply, page, organizationId);
    reply.clearCookie(NEW_CLIENT_COOKIE, { path: path(organizationId), httpOnly: true, secure: true, sameSite: 'strict' });
    return render(reply, page, organizationId, { created: openCreated(context, sealed, sessionBinding(page.principal)) });
  });

  app.post<Params>('/orgs/:organizationId/settings/oauth-clients', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.manage');

    const values = {
      client_name: formField(request, 'client_name').trim(),
      redirect_uris: formField(request, 'redirect_uris'),
      token_endpoint_auth_method: formField(request, 'token_endpoint_auth_method'),
    };
    if (values.client_name.length < 1 || values.client_name.length > 200) {
      return render(reply, page, organizationId, { status: 400, values, error: 'Enter an application name of 1 to 200 characters.' });
    }
    const redirectURIs = values.redirect_uris.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);

    let registered: Record<string, unknown>;
    try {
      registered = await registerClient(
        context,
        { client_name: values.client_name, redirect_uris: redirectURIs, token_endpoint_auth_method: values.token_endpoint_auth_method },
        { kind: 'preregistered', organizationId },
      );
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      request.log.info({ code: error.code }, 'OAuth client registration rejected');
      return render(reply, page, organizationId, { status: 400, values, error: error.description });
    }
    const created: CreatedClient = { clientId: String(registered.client_id), ...(typeof registered.client_secret === 'string' ? { secret: registered.client_secret } : {}) };
    request.log.info({ event: 'oauth.client_preregistered', clientId: created.clientId, organizationId }, 'OAuth client pre-registered');

    // Post/Redirect/Get, as on the API keys page: the secret crosses the redirect in a cookie sealed
    // under a server key and bound to this session, and the next page load removes it.
    reply.setCookie(NEW_CLIENT_COOKIE, seal(context.keys.secretEncryption, JSON.stringify(created), sessionBinding(page.principal)), {
      path: path(organizationId),
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      maxAge: 120,
    });
    return reply.redirect(path(organizationId), 303);
  });

  app.post<{ Params: { organizationId: string; clientId: string } }>('/orgs/:organizationId/settings/oauth-clients/:clientId/delete', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId, clientId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.manage');

    const deleted = await deletePreregisteredClient(context, organizationId, clientId);
    if (!deleted) throw new NotFound('No client with this ID is registered for this organization.');

    request.log.info({ event: 'oauth.client_deleted', clientId, organizationId }, 'OAuth client deleted');
    return reply.redirect(path(organizationId), 303);
  });
}
