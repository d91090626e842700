import { addSeconds, type AppContext } from '../app/context.js';
import { randomToken, sha256Hex } from '../crypto/tokens.js';
import { AUTHORIZATION_CODE_SECONDS } from './server-metadata.js';

/** Request data that a code is bound to; the token endpoint checks the redemption against it. */
export interface CodeIssue {
  clientId: string;
  userId: string;
  organizationId: string;
  redirectURI: string;
  codeChallenge: string;
  scope: string[];
  resource: string;
}

/** Issues a single-use authorization code and returns it; only its SHA-256 hash is stored. */
export async function issueAuthorizationCode(context: AppContext, issue: CodeIssue): Promise<string> {
  const code = `ghcode_${randomToken(32)}`;
  const now = context.clock();
  await context.store.db
    .insertInto('oauth_codes')
    .values({
      code_hash: sha256Hex(code),
      client_id: issue.clientId,
      user_id: issue.userId,
      organization_id: issue.organizationId,
      redirect_uri: issue.redirectURI,
      code_challenge: issue.codeChallenge,
      scope: issue.scope.join(' '),
      resource: issue.resource,
      created_at: now.toISOString(),
      expires_at: addSeconds(now, AUTHORIZATION_CODE_SECONDS),
      used_at: null,
      grant_id: null,
    })
    .execute();
  return code;
}
