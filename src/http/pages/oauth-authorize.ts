import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { issueAuthorizationCode } from '../../oauth/authorization-codes.js';
import {
  AuthorizationErrorResponse,
  authorizationResponseURL,
  parseAuthorizationRequest,
  type AuthorizationRequest,
} from '../../oauth/authorization-request.js';
import { redirectHostOf } from '../../oauth/clients.js';
import { onlyLoopbackRedirects } from '../../oauth/redirect-uris.js';
import { scopeDescriptions } from '../../oauth/scopes.js';
import { html } from '../../web/html.js';
import { currentSession, pageCSRFToken } from '../authenticate.js';
import { Forbidden } from '../errors.js';
import { contentSecurityPolicy } from '../security-headers.js';
import { formField, requireCSRF, sendPage } from './page.js';

/** Sign-in page, which follows its `return_to` path after any sign-in method. */
const SIGN_IN_PATH = '/signin';

/** Fields of the consent form that are not authorization request parameters. */
const CONSENT_FIELDS = new Set(['csrf_token', 'organization_id', 'decision']);

/**
 * Registers the authorization endpoint (OAuth 2.1 section 4.1.1) as a page. GET validates the request
 * and shows consent, after sending a visitor without a session to sign in. POST records the user's
 * decision and redirects to the client with a code or `access_denied`, always with `iss` (RFC 9207).
 */
export function registerAuthorizePages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/oauth/authorize', async (request, reply) => {
    const authorization = await parseOrRedirect(context, request.query, reply);
    if (!authorization) return reply;

    const principal = await currentSession(context, verifier, request);
    if (!principal) return reply.redirect(`${SIGN_IN_PATH}?return_to=${encodeURIComponent(request.url)}`, 303);

    return renderConsent(context, request, reply, principal, authorization);
  });

  app.post('/oauth/authorize', async (request, reply) => {
    const principal = await currentSession(context, verifier, request);
    if (!principal) throw new Forbidden('Your session has ended. Start the connection again from the application.', 'consent without session');
    requireCSRF(context, request, reply, principal);

    const body = Object.fromEntries(Object.entries((request.body ?? {}) as Record<string, unknown>).filter(([name]) => !CONSENT_FIELDS.has(name)));
    const authorization = await parseOrRedirect(context, body, reply);
    if (!authorization) return reply;

    if (formField(request, 'decision') !== 'allow') {
      request.log.info({ event: 'oauth.consent_denied', clientId: authorization.client.clientId }, 'OAuth consent denied');
      return reply.redirect(
        authorizationResponseURL(context, authorization.redirectURI, { error: 'access_denied', error_description: 'The user denied the request.', state: authorization.state }),
        303,
      );
    }

    const organizationId = formField(request, 'organization_id');
    if (!allowedOrganizations(principal, authorization).some((membership) => membership.organizationId === organizationId)) {
      throw new Forbidden('Choose one of the organizations this page offered.', 'consent for an organization the user is not in or the client is not registered for');
    }

    const code = await issueAuthorizationCode(context, {
      clientId: authorization.client.clientId,
      userId: principal.user.id,
      organizationId,
      redirectURI: authorization.redirectURI,
      codeChallenge: authorization.codeChallenge,
      scope: authorization.scope,
      resource: authorization.resource,
    });

    request.log.info({ event: 'oauth.consent_granted', clientId: authorization.client.clientId, organizationId }, 'OAuth consent granted');
    return reply.redirect(authorizationResponseURL(context, authorization.redirectURI, { code, state: authorization.state }), 303);
  });
}

/** Parses the request. An error meant for the client becomes a redirect, and then the result is undefined because the reply is sent. */
async function parseOrRedirect(context: AppContext, source: unknown, reply: FastifyReply): Promise<AuthorizationRequest | undefined> {
  try {
    return await parseAuthorizationRequest(context, source);
  } catch (error) {
    if (!(error instanceof AuthorizationErrorResponse)) throw error;
    reply.log.info({ code: error.code }, 'authorization request rejected');
    await reply.redirect(authorizationResponseURL(context, error.redirectURI, { error: error.code, error_description: error.description, state: error.state }), 303);
    return undefined;
  }
}

/** Returns the organizations the user may authorize the client for: all of theirs, or only the one an owner registered it for. */
function allowedOrganizations(principal: Principal, authorization: AuthorizationRequest): Principal['organizations'] {
  const { organizationId } = authorization.client;
  if (organizationId === null) return principal.organizations;
  return principal.organizations.filter((membership) => membership.organizationId === organizationId);
}

/** Returns the CSP source that lets the consent form's redirect reach the client: an origin, or `scheme:` for private-use schemes. */
function redirectSource(redirectURI: string): string {
  const url = new URL(redirectURI);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

function renderConsent(context: AppContext, request: FastifyRequest, reply: FastifyReply, principal: Principal, authorization: AuthorizationRequest): FastifyReply {
  const csrfToken = pageCSRFToken(context, request, reply, principal);
  const { client } = authorization;
  const name = client.name ?? 'An unnamed application';
  const redirectHost = redirectHostOf(authorization.redirectURI);
  const hiddenFields = Object.entries(authorization.parameters).map(([field, value]) => html`<input type="hidden" name="${field}" value="${value}">`);

  const warnings = [];
  const notes = [];
  if (client.kind === 'dynamic') {
    warnings.push(html`<li>This application registered itself, so Gatehouse cannot confirm who publishes it. Its name is what it calls itself.</li>`);
  }
  if (client.kind === 'metadata_document') {
    warnings.push(html`<li>This application is identified by <strong>${redirectHostOf(client.clientId)}</strong>, which vouches for its name and addresses.</li>`);
  }
  if (client.kind === 'preregistered') {
    notes.push(html`<p id="client-registered-by-owner">An owner of your organization registered this application.</p>`);
  }
  if (onlyLoopbackRedirects([authorization.redirectURI])) {
    warnings.push(html`<li>Access goes to a program on this computer (<strong>${redirectHost}</strong>). Continue only if you just started this from a tool you trust.</li>`);
  }

  const organizations = allowedOrganizations(principal, authorization);
  if (organizations.length === 0) {
    const reason = client.organizationId === null ? 'You are not a member of any organization' : 'This application is registered for an organization you are not a member of';
    return sendPage(reply, { status: 403, title: 'No organization', csrfToken, principal, content: html`<p class="notice error" role="alert">${reason}, so you cannot give ${name} access.</p>` });
  }

  return sendPage(reply, {
    title: 'Connect an application',
    csrfToken,
    principal,
    csp: contentSecurityPolicy([redirectSource(authorization.redirectURI)]),
    content: html`<p><strong id="client-name">${name}</strong> wants to act as you in Gatehouse.</p>
<dl>
  <dt>Application ID</dt><dd><code>${client.clientId}</code></dd>
  <dt>Sends you back to</dt><dd><strong id="redirect-host">${redirectHost}</strong></dd>
</dl>
${notes}
${warnings.length > 0 ? html`<div class="notice error" role="note" id="consent-warnings"><p>Check before you allow:</p><ul>${warnings}</ul></div>` : ''}
<p>It will be able to:</p>
<ul id="scopes">${authorization.scope.map((scope) => html`<li>${scopeDescriptions[scope] ?? scope}</li>`)}</ul>
<p>It acts with your current permissions and loses access when you leave the organization or revoke it under Connected apps.</p>
<form method="post" action="/oauth/authorize">
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  <input type="hidden" name="decision" value="allow">
  ${hiddenFields}
  <label for="organization_id">Organization</label>
  <select id="organization_id" name="organization_id">${organizations.map((membership) => html`<option value="${membership.organizationId}">${membership.organizationName}</option>`)}</select>
  <button type="submit" id="allow">Allow</button>
</form>
<form method="post" action="/oauth/authorize?deny">
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  <input type="hidden" name="decision" value="deny">
  ${hiddenFields}
  <button type="submit" class="secondary" id="deny">Deny</button>
</form>`,
  });
}
