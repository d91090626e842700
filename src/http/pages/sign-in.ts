import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { endSession } from '../../auth/sessions.js';
import { createSession } from '../../auth/sessions.js';
import { normalizeEmail } from '../../model/email.js';
import { signInWithLink } from '../../setup/first-run.js';
import { inspectOneTimeLink } from '../../setup/one-time-links.js';
import { findRouteForDomain } from '../../sso/domains.js';
import { completeOIDCSignIn, startOIDCSignIn } from '../../sso/oidc/sign-in.js';
import { html } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { currentSession, pageCSRFToken } from '../authenticate.js';
import { clearCookie, cookieNames, readCookie, setCookie } from '../cookies.js';
import { InvalidLink, ProviderUnavailable, SignInFailed } from '../errors.js';
import { contentSecurityPolicy } from '../security-headers.js';
import { formField, requireCSRF, sendPage } from './page.js';
import { startSAMLSignIn } from './saml.js';

const SIGN_IN_COOKIE_SECONDS = 600;

/** Registers sign-in by email, the OIDC callback, operator sign-in links and sign-out. */
export function registerSignInPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  // The response to the sign-in form's POST is a redirect to the identity provider, and browsers
  // apply form-action to that redirect. The provider is known only after the email is entered, so this page
  // allows any https origin (and loopback http when development issuers are allowed).
  const signInCSP = contentSecurityPolicy(
    context.config.allowHttpLoopbackIssuers ? ['https:', 'http://127.0.0.1:*', 'http://localhost:*'] : ['https:'],
  );

  const renderSignIn = (request: FastifyRequest, reply: FastifyReply, options: { status?: number; email?: string; emailError?: string; notice?: string }) => {
    const csrfToken = pageCSRFToken(context, request, reply, undefined);
    return sendPage(reply, {
      status: options.status ?? 200,
      title: 'Sign in',
      csrfToken,
      csp: signInCSP,
      content: html`${options.notice ? html`<p class="notice error" role="alert">${options.notice}</p>` : ''}
<form method="post" action="/signin" novalidate>
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  ${field({ name: 'email', label: 'Work email', type: 'email', value: options.email ?? '', error: options.emailError, required: true, autocomplete: 'username' })}
  <button type="submit">Continue</button>
</form>`,
    });
  };

  app.get('/signin', async (request, reply) => {
    const principal = await currentSession(context, verifier, request);
    if (principal) return reply.redirect('/', 303);
    return renderSignIn(request, reply, {});
  });

  app.post('/signin', async (request, reply) => {
    requireCSRF(context, request, reply, undefined);
    const input = formField(request, 'email');

    const email = normalizeEmail(input);
    if (!email) return renderSignIn(request, reply, { status: 400, email: input, emailError: 'Enter a valid email address, such as ada@example.com.' });

    const route = await findRouteForDomain(context, email.domain);
    if (!route) {
      request.log.info({ domain: email.domain }, 'sign-in for a domain no connection serves');
      return renderSignIn(request, reply, {
        status: 400,
        email: input,
        emailError: `No sign-in method is set up for ${email.domain}. Check the address or ask your administrator.`,
      });
    }

    if (route.kind === 'saml') {
      try {
        return await startSAMLSignIn(context, reply, route.connection);
      } catch (error) {
        if (!(error instanceof SignInFailed)) throw error;
        return renderSignIn(request, reply, { status: error.status, email: input, notice: error.description });
      }
    }
    const { connection } = route;
    let started: { authorizationURL: string; browserToken: string };
    try {
      started = await startOIDCSignIn(context, { connection, loginHint: email.email, intent: 'sign_in' });
    } catch (error) {
      if (!(error instanceof ProviderUnavailable)) throw error;
      request.log.error({ event: 'sign_in.provider_unavailable', connectionId: connection.id, detail: error.detail }, 'identity provider unreachable');
      return renderSignIn(request, reply, { status: 502, email: input, notice: error.description });
    }
    setCookie(reply, cookieNames(context).signIn, started.browserToken, SIGN_IN_COOKIE_SECONDS);
    return reply.redirect(started.authorizationURL, 303);
  });

  app.get('/signin/callback', async (request, reply) => {
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const names = cookieNames(context);
    clearCookie(reply, names.signIn);

    try {
      const result = await completeOIDCSignIn(context, { query, browserToken: readCookie(request, names.signIn) });
      if (result.intent === 'link') {
        return reply.redirect(`/signin/linked?connection=${encodeURIComponent(result.connectionId)}`, 303);
      }
      const session = await createSession(context, { userId: result.userId, method: 'oidc', connectionId: result.connectionId });
      setCookie(reply, names.session, session.token, context.config.session.maxSeconds);
      request.log.info({ event: 'sign_in.succeeded', userId: result.userId, connectionId: result.connectionId }, 'signed in');
      return reply.redirect('/', 303);
    } catch (error) {
      if (!(error instanceof SignInFailed) && !(error instanceof ProviderUnavailable)) throw error;
      request.log.warn({ event: 'sign_in.failed', code: error.code, detail: error.detail }, 'sign-in failed');
      return renderSignIn(request, reply, { status: error.status, notice: error.description });
    }
  });

  app.get('/signin/linked', async (request, reply) => {
    const principal = await currentSession(context, verifier, request);
    const organizationId = principal?.organizations[0]?.organizationId;
    return reply.redirect(organizationId ? `/orgs/${organizationId}/settings/connections?linked=1` : '/signin', 303);
  });

  app.get('/signin/link', async (request, reply) => {
    const token = String((request.query as Record<string, unknown>).token ?? '');
    const link = await inspectOneTimeLink(context, token, 'sign_in');
    if (!link.ok) throw new InvalidLink(link.problem);

    // A button rather than an automatic sign-in, so link previews and mail scanners cannot use up the link.
    const csrfToken = pageCSRFToken(context, request, reply, undefined);
    return sendPage(reply, {
      title: 'Sign in with a one-time link',
      csrfToken,
      content: html`<form method="post" action="/signin/link">
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  <input type="hidden" name="token" value="${token}">
  <button type="submit">Sign in</button>
</form>`,
    });
  });

  app.post('/signin/link', async (request, reply) => {
    requireCSRF(context, request, reply, undefined);
    const result = await signInWithLink(context, formField(request, 'token'));
    setCookie(reply, cookieNames(context).session, result.sessionToken, context.config.session.maxSeconds);
    return reply.redirect('/', 303);
  });

  app.post('/signout', async (request, reply) => {
    const principal = await currentSession(context, verifier, request);
    requireCSRF(context, request, reply, principal);
    const names = cookieNames(context);
    const token = readCookie(request, names.session);
    if (token) await endSession(context, token);
    clearCookie(reply, names.session);
    return reply.redirect('/signin', 303);
  });
}
