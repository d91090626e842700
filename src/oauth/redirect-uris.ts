/** Hosts that RFC 8252 section 7.3 treats as loopback for native-app redirects. */
const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Schemes that can run code or read local data when a browser follows them. */
const forbiddenSchemes = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'ws:', 'wss:', 'ftp:']);

const MAX_REDIRECT_URI_LENGTH = 2000;

/**
 * Checks a redirect URI that a client registers, and returns a problem to show or undefined. Allowed
 * are https anywhere, http only on a loopback host (RFC 8252 section 7.3), and private-use schemes such
 * as `cursor://` (RFC 8252 section 7.1), which desktop MCP clients use. Fragments and schemes that run
 * code or read files are rejected.
 */
export function redirectURIProblem(uri: string): string | undefined {
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `The redirect URI is longer than ${MAX_REDIRECT_URI_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `The redirect URI "${uri.slice(0, 200)}" is not an absolute URI.`;
  }
  if (uri.includes('#')) return `The redirect URI "${uri.slice(0, 200)}" must not contain a fragment.`;
  if (url.username || url.password) return `The redirect URI "${uri.slice(0, 200)}" must not contain credentials.`;
  if (forbiddenSchemes.has(url.protocol)) return `The redirect URI "${uri.slice(0, 200)}" uses the scheme ${url.protocol}, which is not allowed.`;
  if (url.protocol === 'http:' && !loopbackHosts.has(url.hostname)) {
    return `The redirect URI "${uri.slice(0, 200)}" must use https; plain http is allowed only for 127.0.0.1, [::1] and localhost.`;
  }
  return undefined;
}

/**
 * Returns whether a requested redirect URI matches a registered one. The comparison is exact, with one
 * exception from RFC 8252 section 7.3: for http on a loopback host, the port may differ, because
 * native apps listen on an ephemeral port. Host names must still match, so localhost and 127.0.0.1 are
 * different URIs.
 */
export function redirectURIMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  let asked: URL;
  try {
    asked = new URL(requested);
  } catch {
    return false;
  }
  if (asked.protocol !== 'http:' || !loopbackHosts.has(asked.hostname) || requested.includes('#')) return false;
  return registered.some((candidate) => {
    let known: URL;
    try {
      known = new URL(candidate);
    } catch {
      return false;
    }
    return (
      known.protocol === 'http:' &&
      known.hostname === asked.hostname &&
      known.pathname === asked.pathname &&
      known.search === asked.search &&
      !asked.username &&
      !asked.password
    );
  });
}

/** Returns whether every redirect URI goes to this machine, which consent warns about (a local program receives the code). */
export function onlyLoopbackRedirects(uris: readonly string[]): boolean {
  return uris.every((uri) => {
    try {
      const url = new URL(uri);
      return url.protocol === 'http:' && loopbackHosts.has(url.hostname);
    } catch {
      return false;
    }
  });
}
