import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

import { html } from '../web/html.js';
import { layout } from '../web/layout.js';
import { ProtocolError } from './errors.js';

/** Returns whether a request expects JSON rather than an HTML page. */
export function wantsJSON(request: FastifyRequest): boolean {
  if (request.url.startsWith('/oauth/authorize')) return false;
  return (
    request.url.startsWith('/v1/') ||
    request.url.startsWith('/healthz') ||
    request.url.startsWith('/readyz') ||
    request.url.startsWith('/oauth/') ||
    request.url.startsWith('/.well-known/') ||
    request.url === '/mcp' ||
    request.url.startsWith('/mcp?')
  );
}

/**
 * The one exit point for errors. ProtocolErrors send their code and safe description. Fastify's own
 * 4xx errors (bad JSON, body too large) send a generic description. Everything else is a 500 whose
 * details stay in the log.
 */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply, publicUrl: string): void {
  let status = 500;
  let code = 'server_error';
  let description = 'Something went wrong on our side. Try again; if it keeps happening, contact your operator.';

  if (error instanceof ProtocolError) {
    status = error.status;
    code = error.code;
    description = error.description;
    request.log.info({ code, detail: error.detail }, 'request rejected');
  } else if (isClientError(error)) {
    status = error.statusCode;
    code = 'invalid_request';
    description = 'The request is malformed.';
    if (status === 413) {
      code = 'payload_too_large';
      description = 'The request body is too large.';
    } else if (status === 415) {
      code = 'unsupported_media_type';
      description = 'Unsupported content type.';
    }
    request.log.info({ code, detail: error.code }, 'request rejected');
  } else {
    request.log.error({ err: error }, 'request failed');
  }

  // invalid_client gets a Basic challenge only when the client used Basic (RFC 6749 section 5.2).
  // InvalidClient sets that one, so invalid_client never gets the Bearer default below.
  if (error instanceof ProtocolError && error.challenge !== undefined) {
    reply.header('www-authenticate', error.challenge);
  } else if (status === 401 && wantsJSON(request) && code !== 'invalid_client') {
    // RFC 6750 section 3: a request without any credential gets a challenge without an error code.
    // RFC 9728 section 5.1: under /v1 the challenge names the API's protected resource metadata,
    // so an OAuth client can find the authorization server.
    const parts = ['realm="gatehouse"'];
    if (code === 'invalid_token') parts.push('error="invalid_token"');
    if (request.url.startsWith('/v1/')) parts.push(`resource_metadata="${publicUrl}/.well-known/oauth-protected-resource/v1"`);
    reply.header('www-authenticate', `Bearer ${parts.join(', ')}`);
  }

  reply.status(status).header('cache-control', 'no-store');
  if (wantsJSON(request)) {
    reply.send({ error: code, error_description: description });
    return;
  }
  reply.type('text/html; charset=utf-8').send(errorPage(status, description));
}

/** Renders a stand-alone error page. */
export function errorPage(status: number, description: string): string {
  const title = status === 404 ? 'Page not found' : status >= 500 ? 'Server error' : 'Something is not right';
  return layout({ title, csrfToken: '' }, html`<p class="notice error" role="alert">${description}</p><p><a href="/">Go to the start page</a></p>`);
}

function isClientError(error: unknown): error is FastifyError & { statusCode: number } {
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}
