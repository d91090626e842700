import { InvalidScope } from './errors.js';

/** Reads users, organizations and projects the user may see. */
export const READ_SCOPE = 'gatehouse:read';
/** Creates projects where the user's permission group allows it. */
export const WRITE_SCOPE = 'gatehouse:write';

/** Scopes with the text the consent page shows for each. */
export const scopeDescriptions: Record<string, string> = {
  [READ_SCOPE]: 'See your profile, the organization and its projects',
  [WRITE_SCOPE]: 'Create projects in the organization, where your permission group allows it',
};

/** Scopes that metadata advertises. `offline_access` is left out: refresh tokens come with every grant. */
export const scopesSupported = Object.keys(scopeDescriptions);

/** Scope granted when an authorization request names none. */
export const defaultScopes = [READ_SCOPE];

/**
 * Parses a space-separated `scope` parameter into known scopes, in the order of scopesSupported.
 * `offline_access` is accepted and dropped, because some clients add it whenever they want a refresh
 * token, which every grant gets. Any other unknown scope is rejected with invalid_scope.
 */
export function parseScope(raw: string | undefined, fallback: readonly string[] = defaultScopes): string[] {
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const requested = new Set(raw.split(' ').filter(Boolean));
  requested.delete('offline_access');
  const unknown = [...requested].filter((scope) => !(scope in scopeDescriptions));
  if (unknown.length > 0) {
    throw new InvalidScope(`Unknown scope "${unknown[0]!.slice(0, 60)}". Supported scopes: ${scopesSupported.join(', ')}.`);
  }
  if (requested.size === 0) return [...fallback];
  return scopesSupported.filter((scope) => requested.has(scope));
}
