import type { FastifyReply } from 'fastify';

/**
 * Content-Security-Policy for HTML pages: no scripts at all, styles only from our stylesheet, no
 * framing. `formTargets` lists origins a form may post to or be redirected to: browsers apply
 * form-action to the redirect that follows a form submission, so sign-in forms that lead to an
 * identity provider must name it.
 */
export function contentSecurityPolicy(formTargets: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    `form-action 'self'${formTargets.map((origin) => ` ${origin}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** Adds the headers every response carries. */
export function addSecurityHeaders(reply: FastifyReply, isHTML: boolean): void {
  reply.header('x-content-type-options', 'nosniff');
  // Setup and sign-in links carry tokens in the URL; same-origin keeps them from leaking to other
  // sites. no-referrer would also do that, but makes Chromium send `Origin: null` on same-origin form
  // posts, which the CSRF origin check must reject.
  reply.header('referrer-policy', 'same-origin');
  if (isHTML) {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', contentSecurityPolicy());
    reply.header('x-frame-options', 'DENY');
    reply.header('cache-control', 'no-store');
  }
}
