import { SignJWT } from 'jose';

import type { AppContext } from '../app/context.js';
import { randomToken } from '../crypto/tokens.js';
import { activeSigningKey, IDENTITY_TOKEN_SECONDS } from './signing-keys.js';

/**
 * Returns the issuer identifier: the public URL plus /federation, without a trailing slash.
 * Anthropic and Entra ID compare it byte for byte with the `iss` claim and the discovery document,
 * so every place uses this one function. The path keeps the federation issuer apart from any OAuth
 * authorization server metadata at the origin's root.
 */
export function issuerURL(context: AppContext): string {
  return `${context.config.publicUrl.replace(/\/+$/, '')}/federation`;
}

/**
 * Signs a fresh identity token for one provider binding: RS256 with `kid` and `typ: JWT`, a unique
 * `jti` (Anthropic can reject reuse), `iat`/`nbf` now and a five-minute `exp`. A new token is
 * minted for every exchange.
 */
export async function mintIdentityToken(context: AppContext, claims: { subject: string; audience: string }): Promise<string> {
  const { kid, privateKey } = await activeSigningKey(context);
  const now = Math.floor(context.clock().getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(issuerURL(context))
    .setSubject(claims.subject)
    .setAudience(claims.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + IDENTITY_TOKEN_SECONDS)
    .setJti(randomToken(16))
    .sign(privateKey);
}
