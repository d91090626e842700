import type { FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../../app/context.js';
import { verifyCSRFToken } from '../../auth/csrf.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import type { SafeHTML } from '../../web/html.js';
import { layout } from '../../web/layout.js';
import { csrfBinding, currentSession, pageCSRFToken } from '../authenticate.js';
import { Forbidden } from '../errors.js';
import { can } from '../../model/permissions.js';

/** Sends a server-rendered page. */
export function sendPage(
  reply: FastifyReply,
  input: { status?: number; title: string; csrfToken: string; principal?: Principal | undefined; organizationId?: string; content: SafeHTML; csp?: string },
): FastifyReply {
  if (input.csp) reply.header('content-security-policy', input.csp);
  const organizationId = input.organizationId ?? input.principal?.organizations[0]?.organizationId;
  return reply
    .status(input.status ?? 200)
    .type('text/html; charset=utf-8')
    .send(
      layout(
        {
          title: input.title,
          csrfToken: input.csrfToken,
          user: input.principal?.user,
          organizationId,
          showConnections: input.principal && organizationId ? can(input.principal.organizations, 'connections.manage', organizationId) : false,
        },
        input.content,
      ),
    );
}

/**
 * Checks the CSRF token of a form post and, when the browser sends them, the Origin and
 * Sec-Fetch-Site headers. Throws 403 on failure.
 */
export function requireCSRF(context: AppContext, request: FastifyRequest, reply: FastifyReply, principal: Principal | undefined): void {
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== new URL(context.config.publicUrl).origin) {
    throw new Forbidden('This form was submitted from another site. Reload the page and try again.', `origin ${origin}`);
  }
  if (request.headers['sec-fetch-site'] === 'cross-site') {
    throw new Forbidden('This form was submitted from another site. Reload the page and try again.', 'sec-fetch-site cross-site');
  }
  const body = request.body as Record<string, unknown> | undefined;
  if (!verifyCSRFToken(context, csrfBinding(context, request, reply, principal), body?.csrf_token)) {
    throw new Forbidden('This form has expired or was not sent by Gatehouse. Reload the page and try again.', 'csrf token mismatch');
  }
}

/** Resolves the signed-in user of a settings page, or redirects to sign-in and returns undefined. */
export async function requirePageSession(
  context: AppContext,
  verifier: CredentialVerifier,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ principal: Principal; csrfToken: string } | undefined> {
  const principal = await currentSession(context, verifier, request);
  if (!principal) {
    await reply.redirect('/signin', 303);
    return undefined;
  }
  return { principal, csrfToken: pageCSRFToken(context, request, reply, principal) };
}

/** Reads a string field of a urlencoded form body; missing or non-string fields become ''. */
export function formField(request: FastifyRequest, name: string): string {
  const body = request.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value : '';
}

