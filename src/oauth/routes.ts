import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../app/context.js';
import { InvalidRequest, TooManyAttempts } from '../http/errors.js';
import { authenticateClient } from './client-authentication.js';
import { allowAnyOrigin } from './cors.js';
import { UnsupportedGrantType } from './errors.js';
import { requireFormBody } from './form.js';
import { RegistrationLimiter } from './registration-limit.js';
import { registerClient } from './registration.js';
import { apiProtectedResourceMetadata, authorizationServerMetadata, protectedResourceMetadata } from './server-metadata.js';
import { exchangeAuthorizationCode, refreshTokens, revokeToken } from './tokens.js';

const PROTECTED_RESOURCE_PATHS = ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'];
const API_PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource/v1';
const AUTHORIZATION_SERVER_PATH = '/.well-known/oauth-authorization-server';

/**
 * Registers the public OAuth endpoints: RFC 9728 and RFC 8414 metadata, dynamic client registration
 * (RFC 7591), the token endpoint and revocation (RFC 7009). None of them reads cookies, and all allow
 * any origin. The authorization endpoint is a page (src/http/pages/oauth-authorize.ts).
 */
export function registerOAuthRoutes(app: FastifyInstance, context: AppContext): void {
  allowAnyOrigin(app, [...PROTECTED_RESOURCE_PATHS, API_PROTECTED_RESOURCE_PATH, AUTHORIZATION_SERVER_PATH], 'GET, OPTIONS');
  allowAnyOrigin(app, ['/oauth/register', '/oauth/token', '/oauth/revoke'], 'POST, OPTIONS');

  for (const path of PROTECTED_RESOURCE_PATHS) {
    app.get(path, async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return protectedResourceMetadata(context);
    });
  }
  app.get(API_PROTECTED_RESOURCE_PATH, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return apiProtectedResourceMetadata(context);
  });
  app.get(AUTHORIZATION_SERVER_PATH, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return authorizationServerMetadata(context);
  });

  // Registration is open to anyone, as MCP clients expect, so each client address is rate-limited.
  // TODO: unused registrations are never deleted, because a tool may come back with its client_id
  // after months, and the table has no last-use time to tell those apart.
  const limiter = new RegistrationLimiter(context.config.oauthRegistrationLimit ?? 30);
  app.post('/oauth/register', async (request, reply) => {
    const retryAfter = limiter.take(request.ip, Date.now());
    if (retryAfter !== undefined) {
      request.log.warn({ event: 'oauth.registration_limited', remoteAddress: request.ip }, 'dynamic client registration rate-limited');
      reply.header('retry-after', String(retryAfter));
      throw new TooManyAttempts(`Too many client registrations from this address. Try again in ${retryAfter} seconds.`);
    }

    const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') throw new InvalidRequest('The body must be application/json client metadata (RFC 7591).');

    const registered = await registerClient(context, request.body);

    request.log.info({ event: 'oauth.client_registered', clientId: registered.client_id }, 'OAuth client registered');
    return reply.status(201).header('cache-control', 'no-store').header('pragma', 'no-cache').send(registered);
  });

  app.post('/oauth/token', async (request, reply) => {
    const form = requireFormBody(request);
    const client = await authenticateClient(context, request, form);

    const grantType = form.grant_type;
    if (!grantType) throw new InvalidRequest('grant_type is required.');
    let response;
    if (grantType === 'authorization_code') {
      if (!form.code) throw new InvalidRequest('code is required.');
      response = await exchangeAuthorizationCode(context, client, {
        code: form.code,
        codeVerifier: form.code_verifier,
        redirectURI: form.redirect_uri,
        resource: form.resource,
      });
    } else if (grantType === 'refresh_token') {
      if (!form.refresh_token) throw new InvalidRequest('refresh_token is required.');
      response = await refreshTokens(context, client, { refreshToken: form.refresh_token, scope: form.scope, resource: form.resource });
    } else {
      throw new UnsupportedGrantType(grantType);
    }

    request.log.info({ event: 'oauth.token_issued', clientId: client.clientId, grantType }, 'OAuth tokens issued');
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(response);
  });

  app.post('/oauth/revoke', async (request, reply) => {
    const form = requireFormBody(request);
    const client = await authenticateClient(context, request, form);
    if (!form.token) throw new InvalidRequest('token is required.');

    await revokeToken(context, client, form.token);

    request.log.info({ event: 'oauth.token_revoked', clientId: client.clientId }, 'OAuth token revocation processed');
    return reply.status(200).header('cache-control', 'no-store').send();
  });
}
