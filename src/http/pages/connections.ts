import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { planIncludes } from '../../model/plans.js';
import {
  createOIDCConnection,
  deleteOIDCConnection,
  findOIDCConnection,
  linkedConnectionIds,
  listOIDCConnections,
  type OIDCConnectionInput,
} from '../../sso/oidc/connections.js';
import { callbackURL, startOIDCSignIn } from '../../sso/oidc/sign-in.js';
import { html } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { cookieNames, setCookie } from '../cookies.js';
import { Conflict, InvalidRequest, NotFound, PlanRequired } from '../errors.js';
import { requirePermission } from '../guards.js';
import { contentSecurityPolicy } from '../security-headers.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';

type Params = { Params: { organizationId: string } };
type FormValues = { name: string; issuer: string; client_id: string; scopes: string; domains: string };

const emptyForm: FormValues = { name: '', issuer: '', client_id: '', scopes: 'openid email profile', domains: '' };

/** Registers Settings → Connections: list, add an OIDC connection, and link the owner's own account. */
export function registerConnectionPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  // "Link my account" posts a form whose response redirects to the provider, so form-action must allow it as on the sign-in page.
  const linkCSP = contentSecurityPolicy(
    context.config.allowHttpLoopbackIssuers ? ['https:', 'http://127.0.0.1:*', 'http://localhost:*'] : ['https:'],
  );

  const render = async (
    reply: FastifyReply,
    page: { principal: Principal; csrfToken: string },
    organizationId: string,
    options: { status?: number; values?: FormValues; errors?: Record<string, string>; notice?: string } = {},
  ) => {
    const connections = await listOIDCConnections(context, organizationId);
    const linked = await linkedConnectionIds(context, page.principal.user.id);
    const membership = page.principal.organizations.find((entry) => entry.organizationId === organizationId);
    const planAllows = membership ? planIncludes(membership.plan, 'oidc_sso') : false;
    const values = options.values ?? emptyForm;
    const errors = options.errors ?? {};

    return sendPage(reply, {
      status: options.status ?? 200,
      title: 'Sign-in connections',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      csp: linkCSP,
      content: html`${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
${connections.length === 0
  ? html`<p>No connections yet. Add your OpenID Connect provider below.</p>`
  : html`<table>
  <thead><tr><th scope="col">Name</th><th scope="col">Issuer</th><th scope="col">Client ID</th><th scope="col">Domains</th><th scope="col">Your account</th><th scope="col">Actions</th></tr></thead>
  <tbody>${connections.map(
    (connection) => html`<tr>
    <td>${connection.name}</td><td>${connection.issuer}</td><td><code>${connection.clientId}</code></td><td>${connection.domains.join(', ')}</td>
    <td>${linked.has(connection.id)
      ? 'Linked'
      : html`<form method="post" action="/orgs/${organizationId}/settings/connections/${connection.id}/link">
      <input type="hidden" name="csrf_token" value="${page.csrfToken}">
      <button type="submit" class="secondary" aria-label="Link my account to ${connection.name}">Link my account</button></form>`}</td>
    <td><form method="post" action="/orgs/${organizationId}/settings/connections/${connection.id}/delete">
      <input type="hidden" name="csrf_token" value="${page.csrfToken}">
      <button type="submit" class="secondary" aria-label="Delete ${connection.name}">Delete</button></form></td>
  </tr>`,
  )}</tbody>
</table>
<p class="hint">People whose email is in a connection's domains sign in through it. If you already have an account here,
sign in once with <strong>Link my account</strong> so that your provider identity leads to this account.</p>`}
<p>For SAML 2.0 identity providers (Okta, Entra ID, Google Workspace and others), see <a href="/orgs/${organizationId}/settings/saml">SAML connections</a>.</p>
<h2>Add an OpenID Connect connection</h2>
${planAllows
  ? html`<p>Register Gatehouse at your provider as a web application with this redirect URI:</p>
<p><code>${callbackURL(context)}</code></p>
<form method="post" action="/orgs/${organizationId}/settings/connections" novalidate>
  <input type="hidden" name="csrf_token" value="${page.csrfToken}">
  ${field({ name: 'name', label: 'Name', value: values.name, error: errors.name, required: true, hint: 'Shown to admins, for example "Acme Okta".' })}
  ${field({ name: 'issuer', label: 'Issuer URL', type: 'url', value: values.issuer, error: errors.issuer, required: true, hint: 'Gatehouse reads ISSUER/.well-known/openid-configuration.' })}
  ${field({ name: 'client_id', label: 'Client ID', value: values.client_id, error: errors.client_id, required: true })}
  ${field({ name: 'client_secret', label: 'Client secret', type: 'password', error: errors.client_secret, required: true, autocomplete: 'off', hint: Object.keys(errors).length > 0 ? 'Enter the secret again: Gatehouse never sends it back to the browser.' : 'Stored encrypted and never shown again.' })}
  ${field({ name: 'scopes', label: 'Scopes', value: values.scopes, error: errors.scopes, hint: 'Space-separated; must include openid.' })}
  ${field({ name: 'domains', label: 'Email domains', value: values.domains, error: errors.domains, required: true, multiline: true, hint: 'Separate with commas or new lines, for example example.com.' })}
  <button type="submit">Add connection</button>
</form>`
  : html`<p class="notice error" role="alert">OIDC single sign-on needs the Enterprise plan. Ask your operator to change the plan with <code>gatehouse admin set-plan</code>.</p>`}`,
    });
  };

  app.get<Params>('/orgs/:organizationId/settings/connections', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'connections.manage');

    const linked = (request.query as Record<string, unknown>).linked === '1';
    return render(reply, page, organizationId, linked ? { notice: 'Your account is linked. You can now sign in through this connection.' } : {});
  });

  app.post<Params>('/orgs/:organizationId/settings/connections', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'connections.manage');

    const values: FormValues = {
      name: formField(request, 'name'),
      issuer: formField(request, 'issuer'),
      client_id: formField(request, 'client_id'),
      scopes: formField(request, 'scopes'),
      domains: formField(request, 'domains'),
    };
    const input: OIDCConnectionInput = { ...values, clientId: values.client_id, clientSecret: formField(request, 'client_secret') };

    try {
      const created = await createOIDCConnection(context, organizationId, input);
      return render(reply, page, organizationId, {
        status: 201,
        notice: `Connection "${created.name}" added. Use "Link my account" to sign in through it as yourself.`,
      });
    } catch (error) {
      if (error instanceof PlanRequired) return render(reply, page, organizationId, { status: 403, values });
      if ((error instanceof InvalidRequest || error instanceof Conflict) && error.field) {
        request.log.info({ event: 'connection.rejected', organizationId, field: error.field, detail: error.detail }, 'connection not saved');
        return render(reply, page, organizationId, { status: error.status, values, errors: { [error.field]: error.description } });
      }
      throw error;
    }
  });

  app.post<{ Params: { organizationId: string; connectionId: string } }>(
    '/orgs/:organizationId/settings/connections/:connectionId/delete',
    async (request, reply) => {
      const page = await requirePageSession(context, verifier, request, reply);
      if (!page) return reply;
      requireCSRF(context, request, reply, page.principal);
      const { organizationId, connectionId } = request.params;
      requirePermission(page.principal, organizationId, 'connections.manage');

      if (!(await deleteOIDCConnection(context, organizationId, connectionId))) throw new NotFound('Connection not found.');
      return render(reply, page, organizationId, { notice: 'Connection deleted. People in its domains can no longer sign in through it.' });
    },
  );

  app.post<{ Params: { organizationId: string; connectionId: string } }>(
    '/orgs/:organizationId/settings/connections/:connectionId/link',
    async (request, reply) => {
      const page = await requirePageSession(context, verifier, request, reply);
      if (!page) return reply;
      requireCSRF(context, request, reply, page.principal);
      const { organizationId, connectionId } = request.params;
      requirePermission(page.principal, organizationId, 'organization.read');

      const connection = await findOIDCConnection(context, organizationId, connectionId);
      if (!connection) throw new NotFound('Connection not found.');
      const started = await startOIDCSignIn(context, {
        connection,
        loginHint: page.principal.user.email,
        intent: 'link',
        linkUserId: page.principal.user.id,
      });
      setCookie(reply, cookieNames(context).signIn, started.browserToken, 600);
      return reply.redirect(started.authorizationURL, 303);
    },
  );
}
