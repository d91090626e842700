import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../app/context.js';
import { issuerURL } from './identity-tokens.js';
import { publishedKeys } from './signing-keys.js';

/**
 * Registers the federation issuer's OpenID Connect discovery document and JWKS. Providers fetch
 * both without credentials, so they are public and cacheable for a few minutes; a new key is
 * published a day before it signs, which outlasts these caches.
 */
export function registerIssuerRoutes(app: FastifyInstance, context: AppContext): void {
  app.get('/federation/.well-known/openid-configuration', async (_request, reply) => {
    const issuer = issuerURL(context);
    reply.header('cache-control', 'public, max-age=300');
    return {
      issuer,
      jwks_uri: `${issuer}/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'],
    };
  });

  app.get('/federation/jwks.json', async (_request, reply) => {
    const keys = await publishedKeys(context);
    reply.header('cache-control', 'public, max-age=300');
    return { keys: keys.map((key) => key.publicJWK) };
  });
}
