import type { FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../../app/context.js';
import { createSession } from '../../auth/sessions.js';
import type { SessionTable } from '../../db/schema.js';
import { findRouteForDomain, type DomainRoute } from '../../sso/domains.js';
import { startOIDCSignIn } from '../../sso/oidc/sign-in.js';
import { cookieNames, readCookie, setCookie } from '../cookies.js';
import { ProviderUnavailable, SignInFailed, type SSORequired } from '../errors.js';
import { startSAMLSignIn } from './saml.js';
import { renderSignIn } from './sign-in.js';

/**
 * Cookie with the local path to open after sign-in. It is SameSite=None because a SAML response
 * arrives as a cross-site POST, on which browsers send no Lax cookie. Its value is only a local path.
 */
const RETURN_TO_COOKIE = 'gatehouse_return_to';
const RETURN_TO_SECONDS = 1800;
const SIGN_IN_COOKIE_SECONDS = 600;

/**
 * Returns `value` when it is a path on this site, such as `/oauth/authorize?client_id=...`, and
 * undefined otherwise. `//host` and `/\host` are rejected because browsers read them as other sites.
 */
export function safeReturnPath(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) return undefined;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return undefined;
  return value;
}

/** Remembers a validated local path to open once the browser has signed in. */
export function rememberReturnTo(reply: FastifyReply, path: string): void {
  reply.setCookie(RETURN_TO_COOKIE, path, { path: '/', httpOnly: true, secure: true, sameSite: 'none', maxAge: RETURN_TO_SECONDS });
}

/**
 * Ends every successful sign-in the same way: a new session, its cookie, and a redirect to the
 * remembered local path or to the home page.
 */
export async function finishSignIn(
  context: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  input: { userId: string; method: SessionTable['method']; connectionId: string | null },
): Promise<FastifyReply> {
  const session = await createSession(context, input);
  setCookie(reply, cookieNames(context).session, session.token, context.config.session.maxSeconds);

  context.logger.info({ event: 'sign_in.succeeded', userId: input.userId, method: input.method, connectionId: input.connectionId }, 'signed in');
  return reply.redirect(takeReturnPath(request, reply) ?? '/', 303);
}

/** Returns the remembered local path, if any, and clears it so that it is followed once. */
export function takeReturnPath(request: FastifyRequest, reply: FastifyReply): string | undefined {
  if (request.cookies[RETURN_TO_COOKIE] === undefined) return undefined;
  reply.clearCookie(RETURN_TO_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'none' });
  return safeReturnPath(readCookie(request, RETURN_TO_COOKIE));
}

/**
 * Sends the browser to the SSO connection that serves the person's domain (home-realm discovery).
 * Throws SignInFailed or ProviderUnavailable when the connection cannot be used.
 */
export async function startSSO(context: AppContext, reply: FastifyReply, route: DomainRoute, email: string): Promise<FastifyReply> {
  if (route.kind === 'saml') return startSAMLSignIn(context, reply, route.connection);

  const started = await startOIDCSignIn(context, { connection: route.connection, loginHint: email, intent: 'sign_in' });
  setCookie(reply, cookieNames(context).signIn, started.browserToken, SIGN_IN_COOKIE_SECONDS);
  return reply.redirect(started.authorizationURL, 303);
}

/**
 * Handles SSORequired: sends the person on to the SSO connection that serves their domain in the
 * enforcing organization, or explains why that is not possible.
 */
export async function sendToRequiredSSO(
  context: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  required: SSORequired,
  email: string,
): Promise<FastifyReply> {
  context.logger.info({ event: 'sign_in.sso_required', organizationId: required.organizationId, domain: required.domain }, 'sent to the organization’s SSO');
  const route = await findRouteForDomain(context, required.domain);
  if (!route || route.connection.organization_id !== required.organizationId) {
    return renderSignIn(context, request, reply, {
      status: 403,
      email,
      notice: `${required.description} No SSO connection serves ${required.domain} yet, so ask your administrator.`,
    });
  }
  try {
    return await startSSO(context, reply, route, email);
  } catch (error) {
    if (!(error instanceof SignInFailed) && !(error instanceof ProviderUnavailable)) throw error;
    return renderSignIn(context, request, reply, { status: error.status, email, notice: error.description });
  }
}
