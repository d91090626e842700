import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { open, seal } from '../../crypto/sealed-box.js';
import { randomToken } from '../../crypto/tokens.js';
import type { SAMLConnection } from '../../db/schema.js';
import { resolveFederatedIdentity, type IdentityStore } from '../../sso/federated-identity.js';
import { consumeConfirmation, validateSAMLResponse, type SAMLSignIn } from '../../sso/saml/acs.js';
import { findSAMLConnection } from '../../sso/saml/connections.js';
import { createAuthnRequest, spMetadataXML } from '../../sso/saml/service-provider.js';
import { html } from '../../web/html.js';
import { pageCSRFToken } from '../authenticate.js';
import { readCookie } from '../cookies.js';
import { NotFound, SignInFailed } from '../errors.js';
import { contentSecurityPolicy } from '../security-headers.js';
import { formField, requireCSRF, sendPage } from './page.js';
import { finishSignIn } from './sign-in-flow.js';

type Params = { Params: { connectionId: string } };

/** The cookie that binds an SP-initiated SAML sign-in to the browser that started it. */
const SAML_COOKIE = 'gatehouse_saml';
const PENDING_SECONDS = 120;

/**
 * Sets the SAML binding cookie. The IdP responds with a cross-site POST, on which browsers send only
 * SameSite=None cookies, so this cookie is None (still Secure and HttpOnly) and limited to /saml/.
 */
function setSAMLCookie(reply: FastifyReply, value: string): void {
  reply.setCookie(SAML_COOKIE, value, { path: '/saml/', httpOnly: true, secure: true, sameSite: 'none', maxAge: 600 });
}

/** Starts an SP-initiated sign-in: records the AuthnRequest and sends the browser to the IdP. */
export async function startSAMLSignIn(
  context: AppContext,
  reply: FastifyReply,
  connection: SAMLConnection,
  link: { userId: string } | undefined = undefined,
): Promise<FastifyReply> {
  if (!connection.enabled) throw new SignInFailed('connection_disabled', 'This SAML connection is turned off. Ask your administrator.');
  const browserToken = randomToken(32);
  const delivery = await createAuthnRequest(context, connection, browserToken, link);
  setSAMLCookie(reply, browserToken);
  if (delivery.binding === 'redirect') return reply.redirect(delivery.url, 303);

  // The POST binding needs a form; a button keeps it working without JavaScript.
  return sendPage(reply, {
    title: 'Continue to your identity provider',
    csrfToken: '',
    csp: contentSecurityPolicy([new URL(delivery.url).origin]),
    content: html`<form method="post" action="${delivery.url}">
  ${Object.entries(delivery.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
  <button type="submit">Continue to ${connection.name}</button>
</form>`,
  });
}

/** Registers the SP metadata, the ACS endpoint and the confirmation of IdP-initiated sign-ins. */
export function registerSAMLPages(app: FastifyInstance, context: AppContext, _verifier: CredentialVerifier): void {
  app.get<Params>('/saml/:connectionId/metadata', async (request, reply) => {
    const connection = await findSAMLConnection(context, request.params.connectionId);
    if (!connection) throw new NotFound('No SAML connection has this id.');
    return reply.type('application/samlmetadata+xml; charset=utf-8').header('cache-control', 'public, max-age=300').send(spMetadataXML(context, connection));
  });

  // The body limit is above MAX_SAML_RESPONSE_LENGTH so that most oversized responses get the ACS's own message.
  app.post<Params>('/saml/:connectionId/acs', { bodyLimit: 512 * 1024 }, async (request, reply) => {
    const connection = await findSAMLConnection(context, request.params.connectionId);
    let signIn: SAMLSignIn;
    try {
      signIn = await validateSAMLResponse(context, {
        connection,
        samlResponse: formField(request, 'SAMLResponse'),
        browserToken: readCookie(request, SAML_COOKIE),
      });
    } catch (error) {
      if (!(error instanceof SignInFailed)) throw error;
      request.log.warn({ event: 'saml.rejected', connectionId: request.params.connectionId, code: error.code, detail: error.detail }, 'SAML response rejected');
      return failurePage(reply, error);
    }
    reply.clearCookie(SAML_COOKIE, { path: '/saml/', httpOnly: true, secure: true, sameSite: 'none' });

    if (signIn.idpInitiated) {
      // No request of ours preceded this response, so anyone could have made this browser post it
      // (login CSRF). A confirmation with a CSRF token bound to this browser closes that gap.
      const expires = context.clock().getTime() + PENDING_SECONDS * 1000;
      const pending = seal(context.keys.secretEncryption, JSON.stringify({ ...pendingOf(signIn), exp: expires }), 'saml-pending');
      const csrfToken = pageCSRFToken(context, request, reply, undefined);
      return sendPage(reply, {
        title: 'Confirm sign-in',
        csrfToken,
        content: html`<p>Your identity provider <strong>${signIn.connection.name}</strong> wants to sign you in as <strong>${signIn.email}</strong>.</p>
<form method="post" action="/saml/${signIn.connection.id}/confirm">
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  <input type="hidden" name="pending" value="${pending}">
  <button type="submit">Continue as ${signIn.email}</button>
</form>
<p class="hint">If you did not just choose this app at your identity provider, close this page.</p>`,
      });
    }
    return completeSAMLSignIn(context, request, reply, signIn);
  });

  app.post<Params>('/saml/:connectionId/confirm', async (request, reply) => {
    requireCSRF(context, request, reply, undefined);
    let pending: ReturnType<typeof pendingOf> & { exp: number };
    try {
      pending = JSON.parse(open(context.keys.secretEncryption, formField(request, 'pending'), 'saml-pending')) as typeof pending;
    } catch {
      return failurePage(reply, new SignInFailed('invalid_request', 'This confirmation is not valid. Start signing in again.'));
    }
    if (pending.exp < context.clock().getTime() || pending.connectionId !== request.params.connectionId) {
      return failurePage(reply, new SignInFailed('invalid_request', 'This confirmation has expired. Start signing in again.'));
    }
    const connection = await findSAMLConnection(context, pending.connectionId);
    if (!connection?.enabled) return failurePage(reply, new SignInFailed('connection_disabled', 'This SAML connection is turned off. Ask your administrator.'));
    if (!connection.allow_idp_initiated) {
      return failurePage(reply, new SignInFailed('idp_initiated_disabled', 'Sign-in started at the identity provider is turned off for this connection. Start at the Gatehouse sign-in page.'));
    }
    if (!(await consumeConfirmation(context, connection.id, pending.assertionId, new Date(pending.exp)))) {
      return failurePage(reply, new SignInFailed('invalid_request', 'This confirmation was already used. Start signing in again.'));
    }
    return completeSAMLSignIn(context, request, reply, { ...pending, connection, idpInitiated: true });
  });
}

function pendingOf(signIn: SAMLSignIn) {
  return { connectionId: signIn.connection.id, assertionId: signIn.assertionId, nameId: signIn.nameId, email: signIn.email, name: signIn.name, groupId: signIn.groupId, groupFromIdP: signIn.groupFromIdP, linkUserId: null };
}

async function completeSAMLSignIn(context: AppContext, request: FastifyRequest, reply: FastifyReply, signIn: SAMLSignIn): Promise<FastifyReply> {
  const { connection } = signIn;
  const identities: IdentityStore = {
    async find(transaction) {
      const row = await transaction
        .selectFrom('saml_identities')
        .select('user_id')
        .where('connection_id', '=', connection.id)
        .where('name_id', '=', signIn.nameId)
        .executeTakeFirst();
      return row?.user_id;
    },
    async link(transaction, userId) {
      await transaction
        .insertInto('saml_identities')
        .values({ connection_id: connection.id, name_id: signIn.nameId, user_id: userId, created_at: context.clock().toISOString() })
        .execute();
    },
  };
  let userId: string;
  try {
    userId = await resolveFederatedIdentity(context, {
      identities,
      organizationId: connection.organization_id,
      connectionId: connection.id,
      groupId: signIn.groupId,
      groupFromIdP: signIn.groupFromIdP,
      email: signIn.email,
      name: signIn.name,
      intent: signIn.linkUserId ? 'link' : 'sign_in',
      linkUserId: signIn.linkUserId,
      method: 'saml',
    });
  } catch (error) {
    if (!(error instanceof SignInFailed)) throw error;
    context.logger.warn({ event: 'saml.rejected', connectionId: connection.id, code: error.code, detail: error.detail }, 'SAML sign-in refused');
    return failurePage(reply, error);
  }
  if (signIn.linkUserId) {
    return reply.redirect(`/orgs/${connection.organization_id}/settings/saml?linked=1`, 303);
  }
  if (signIn.idpInitiated) context.logger.info({ event: 'saml.idp_initiated', userId, connectionId: connection.id }, 'IdP-initiated sign-in confirmed');
  return finishSignIn(context, request, reply, { userId, method: 'saml', connectionId: connection.id });
}

function failurePage(reply: FastifyReply, error: SignInFailed): FastifyReply {
  return sendPage(reply, {
    status: error.status,
    title: 'Sign-in failed',
    csrfToken: '',
    content: html`<p class="notice error" role="alert">${error.description}</p><p><a href="/signin">Back to sign-in</a></p>`,
  });
}
