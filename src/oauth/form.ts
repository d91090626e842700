import type { FastifyRequest } from 'fastify';

import { InvalidRequest } from '../http/errors.js';

/**
 * Reads OAuth parameters from a urlencoded body or a query string. RFC 6749 section 3.1 forbids
 * sending a parameter more than once, so a repeated one is invalid_request. Empty values count as
 * absent, as the same section requires.
 */
export function readParameters(source: unknown): Record<string, string> {
  const parameters: Record<string, string> = {};
  if (typeof source !== 'object' || source === null) return parameters;
  for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
    if (Array.isArray(value)) throw new InvalidRequest(`The parameter ${name.slice(0, 40)} was sent more than once.`);
    if (typeof value !== 'string') continue;
    if (value.length > 4096) throw new InvalidRequest(`The parameter ${name.slice(0, 40)} is too long.`);
    if (value !== '') parameters[name] = value;
  }
  return parameters;
}

/** Requires an `application/x-www-form-urlencoded` body, as RFC 6749 section 3.2 and RFC 7009 section 2.1 do. */
export function requireFormBody(request: FastifyRequest): Record<string, string> {
  const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('The body must be application/x-www-form-urlencoded.');
  }
  return readParameters(request.body);
}
