import { InvalidTarget } from './errors.js';

/**
 * Normalizes an RFC 8707 resource indicator for comparison: it must be an absolute URI without a
 * fragment, and URL parsing lowercases scheme and host. A trailing slash is kept, because
 * `https://h/mcp/` and `https://h/mcp` are different resources.
 */
export function normalizeResource(resource: string): string {
  if (resource.includes('#')) throw new InvalidTarget('The resource must not contain a fragment.');
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw new InvalidTarget('The resource must be an absolute URI.');
  }
  // URL.href adds "/" to a bare origin; keep the path as sent otherwise.
  const path = resource.slice(resource.indexOf('//') + 2).includes('/') ? url.pathname : '';
  return `${url.protocol}//${url.host}${path}${url.search}`;
}
