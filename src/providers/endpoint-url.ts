import { isIP } from 'node:net';

import type { AppContext } from '../app/context.js';
import { InvalidRequest } from '../http/errors.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Validates a provider URL (model API base or token endpoint) and returns it without a trailing
 * slash. It must use https, except that loopback hosts may use http when
 * GATEHOUSE_ALLOW_LOOPBACK_FETCH is on (development and tests). Credentials, queries and fragments
 * are rejected, because provider credentials travel in headers only.
 */
export function parseEndpointURL(context: AppContext, value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InvalidRequest(`${field} is not a valid URL.`, { field });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = LOOPBACK_HOSTS.has(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && context.config.allowLoopbackFetch)) {
    throw new InvalidRequest(`${field} must start with https://.`, { field });
  }
  if (loopback && !context.config.allowLoopbackFetch) {
    throw new InvalidRequest(`${field} must not point at this machine (loopback); set GATEHOUSE_ALLOW_LOOPBACK_FETCH=true in development.`, { field });
  }
  if (url.username || url.password) throw new InvalidRequest(`${field} must not contain credentials.`, { field });
  if (url.search || url.hash) throw new InvalidRequest(`${field} must not have a query or fragment.`, { field });
  if (isIP(host) === 0 && !host.includes('.') && !loopback) throw new InvalidRequest(`${field} must name a fully qualified host.`, { field });
  // NOTE: private addresses (10.0.0.0/8 and others) are allowed, so that a self-hosted deployment
  // can reach an OpenAI-compatible server on its own network; only admins can set these URLs.
  return url.href.replace(/\/+$/, '');
}
