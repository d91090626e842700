import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../../app/context.js';
import { issueEmailCode } from '../../auth/email-codes.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { endSession } from '../../auth/sessions.js';
import { mailDelivery } from '../../mail/mailer.js';
import { normalizeEmail } from '../../model/email.js';
import { signInWithLink } from '../../setup/first-run.js';
import { inspectOneTimeLink } from '../../setup/one-time-links.js';
import { findRouteForDomain } from '../../sso/domains.js';
import { googleEnabled } from '../../sso/google/sign-in.js';
import { completeOIDCSignIn } from '../../sso/oidc/sign-in.js';
import { html } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { currentSession, pageCSRFToken } from '../authenticate.js';
import { clearCookie, cookieNames, readCookie, setCookie } from '../cookies.js';
import { InvalidLink, ProviderUnavailable, SignInFailed, TooManyAttempts } from '../errors.js';
import { contentSecurityPolicy } from '../security-headers.js';
import { EMAIL_CODE_COOKIE, EMAIL_CODE_COOKIE_SECONDS } from './email-code.js';
import { formField, requireCSRF, sendPage } from './page.js';
import { finishSignIn, rememberReturnTo, safeReturnPath, startSSO, takeReturnPath } from './sign-in-flow.js';

/** Status, prefilled email and messages of the sign-in page. */
export interface SignInPageOptions {
  status?: number;
  email?: string;
  emailError?: string;
  notice?: string;
}

/**
 * Renders the sign-in page: the email first (home-realm discovery), and "Continue with Google" when
 * configured. The responses to both forms redirect to an identity provider, and browsers apply
 * form-action to those redirects. The provider is known only after the email is entered, so the
 * page allows any https origin, and loopback http when development issuers are allowed.
 */
export function renderSignIn(context: AppContext, request: FastifyRequest, reply: FastifyReply, options: SignInPageOptions): FastifyReply {
  const csrfToken = pageCSRFToken(context, request, reply, undefined);
  const csp = contentSecurityPolicy(context.config.allowHttpLoopbackIssuers ? ['https:', 'http://127.0.0.1:*', 'http://localhost:*'] : ['https:']);
  return sendPage(reply, {
    status: options.status ?? 200,
    title: 'Sign in',
    csrfToken,
    csp,
    content: html`${options.notice ? html`<p class="notice error" role="alert">${options.notice}</p>` : ''}
<form method="post" action="/signin" novalidate>
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  ${field({ name: 'email', label: 'Work email', type: 'email', value: options.email ?? '', error: options.emailError, required: true, autocomplete: 'username' })}
  <button type="submit">Continue</button>
</form>
${googleEnabled(context)
    ? html`<p class="divider">or</p>
<form method="post" action="/signin/google">
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  <button type="submit" class="secondary">Continue with Google</button>
</form>`
    : ''}`,
  });
}

/** Registers sign-in by email, the OIDC callback, operator sign-in links and sign-out. */
export function registerSignInPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/signin', async (request, reply) => {
    const returnTo = safeReturnPath((request.query as Record<string, unknown>).return_to);
    const principal = await currentSession(context, verifier, request);
    if (principal) return reply.redirect(returnTo ?? '/', 303);
    if (returnTo) rememberReturnTo(reply, returnTo);
    return renderSignIn(context, request, reply, {});
  });

  // Other products spell it with a hyphen; links written that way should still work.
  app.get('/sign-in', async (request, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    return reply.redirect(`/signin${query}`, 301);
  });

  app.post('/signin', async (request, reply) => {
    requireCSRF(context, request, reply, undefined);
    const input = formField(request, 'email');

    const email = normalizeEmail(input);
    if (!email) return renderSignIn(context, request, reply, { status: 400, email: input, emailError: 'Enter a valid email address, such as ada@example.com.' });

    const route = await findRouteForDomain(context, email.domain);
    if (route) {
      try {
        return await startSSO(context, reply, route, email.email);
      } catch (error) {
        if (!(error instanceof SignInFailed) && !(error instanceof ProviderUnavailable)) throw error;
        if (error instanceof ProviderUnavailable) {
          request.log.error({ event: 'sign_in.provider_unavailable', connectionId: route.connection.id, detail: error.detail }, 'identity provider unreachable');
        } else {
          request.log.warn({ event: 'sign_in.start_failed', code: error.code, detail: error.detail }, 'could not start SSO sign-in');
        }
        return renderSignIn(context, request, reply, { status: error.status, email: input, notice: error.description });
      }
    }

    // No SSO serves the domain: a one-time code by email is the sign-in of last resort.
    if (mailDelivery(context) === 'disabled') {
      request.log.info({ domain: email.domain }, 'sign-in for a domain no connection serves');
      return renderSignIn(context, request, reply, {
        status: 400,
        email: input,
        emailError: `No sign-in method is set up for ${email.domain}. Check the address or ask your administrator.`,
      });
    }
    let cookie: string;
    try {
      cookie = await issueEmailCode(context, email);
    } catch (error) {
      if (!(error instanceof TooManyAttempts)) throw error;
      return renderSignIn(context, request, reply, { status: error.status, email: input, notice: error.description });
    }
    setCookie(reply, EMAIL_CODE_COOKIE, cookie, EMAIL_CODE_COOKIE_SECONDS);
    return reply.redirect('/signin/code', 303);
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
      return await finishSignIn(context, request, reply, { userId: result.userId, method: 'oidc', connectionId: result.connectionId });
    } catch (error) {
      if (!(error instanceof SignInFailed) && !(error instanceof ProviderUnavailable)) throw error;
      request.log.warn({ event: 'sign_in.failed', code: error.code, detail: error.detail }, 'sign-in failed');
      return renderSignIn(context, request, reply, { status: error.status, notice: error.description });
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
    // NOTE: operator sign-in links bypass SSO enforcement on purpose: they are the way back in when
    // an identity provider is down or misconfigured, and only someone with shell access can make one.
    const result = await signInWithLink(context, formField(request, 'token'));
    setCookie(reply, cookieNames(context).session, result.sessionToken, context.config.session.maxSeconds);
    return reply.redirect(takeReturnPath(request, reply) ?? '/', 303);
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
