import { randomUUID } from 'node:crypto';

import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';

import type { AppContext } from '../app/context.js';
import type { CredentialVerifier } from '../auth/principal.js';
import { handleError, wantsJSON } from './error-handler.js';
import { NotFound } from './errors.js';
import { registerAPIKeyRoutes } from './routes/api-keys.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMemberRoutes } from './routes/members.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerProviderRoutes } from './routes/providers.js';
import { registerGatewayRoutes } from '../gateway/routes.js';
import { registerIssuerRoutes } from '../issuer/routes.js';
import { registerProviderPages } from './pages/providers.js';
import { registerWhoamiRoute } from './routes/whoami.js';
import { registerAPIKeyPages } from './pages/api-keys.js';
import { registerConnectionPages } from './pages/connections.js';
import { registerDomainPages } from './pages/domains.js';
import { registerSettingsPages } from './pages/settings.js';
import { registerSetupPages } from './pages/setup.js';
import { registerSAMLConnectionPages } from './pages/saml-connections.js';
import { registerSAMLPages } from './pages/saml.js';
import { registerSignInPages } from './pages/sign-in.js';
import { registerEmailCodePages } from './pages/email-code.js';
import { registerGooglePages } from './pages/google.js';
import { addSecurityHeaders } from './security-headers.js';
import { registerMCPRoutes } from '../mcp/routes.js';
import { registerOAuthRoutes } from '../oauth/routes.js';
import { registerAuthorizePages } from './pages/oauth-authorize.js';
import { registerConnectedAppPages } from './pages/connected-apps.js';
import { registerOAuthClientPages } from './pages/oauth-clients.js';
import { stylesheet } from '../web/style.js';

/** Dependencies of the HTTP server. */
export interface ServerOptions {
  context: AppContext;
  verifier: CredentialVerifier;
}

/** Builds the Fastify server with every route; the caller decides when to listen. */
export async function buildServer({ context, verifier }: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // A pino Logger is a FastifyBaseLogger; naming the base type keeps route types at their defaults.
    loggerInstance: context.logger satisfies FastifyBaseLogger as FastifyBaseLogger,
    trustProxy: context.config.trustProxy,
    bodyLimit: 64 * 1024,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: false },
  });

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const contentType = String(reply.getHeader('content-type') ?? '');
    addSecurityHeaders(reply, contentType.startsWith('text/html'));
    return payload;
  });

  app.setErrorHandler((error: FastifyError | Error, request, reply) => handleError(error, request, reply, context.config.publicUrl));
  app.setNotFoundHandler((request, reply) => {
    handleError(new NotFound(wantsJSON(request) ? 'No such endpoint.' : 'There is no page at this address.'), request, reply, context.config.publicUrl);
  });

  // Browsers ask for this on every page; an empty response keeps 404s out of the logs.
  app.get('/favicon.ico', { logLevel: 'warn' }, async (_request, reply) => reply.status(204).header('cache-control', 'public, max-age=86400').send());

  app.get('/assets/style.css', async (_request, reply) => {
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(stylesheet);
  });

  registerHealthRoutes(app, context);
  registerWhoamiRoute(app, context, verifier);
  registerAPIKeyRoutes(app, context, verifier);
  registerMemberRoutes(app, context, verifier);
  registerProjectRoutes(app, context, verifier);
  registerSetupPages(app, context, verifier);
  registerSignInPages(app, context, verifier);
  registerEmailCodePages(app, context);
  registerGooglePages(app, context);
  registerSAMLPages(app, context, verifier);
  registerSettingsPages(app, context, verifier);
  registerConnectionPages(app, context, verifier);
  registerSAMLConnectionPages(app, context, verifier);
  registerAPIKeyPages(app, context, verifier);
  registerDomainPages(app, context, verifier);
  registerProviderRoutes(app, context, verifier);
  registerProviderPages(app, context, verifier);
  registerGatewayRoutes(app, context, verifier);
  registerIssuerRoutes(app, context);
  registerOAuthRoutes(app, context);
  registerAuthorizePages(app, context, verifier);
  registerConnectedAppPages(app, context, verifier);
  registerOAuthClientPages(app, context, verifier);
  registerMCPRoutes(app, context, verifier);

  return app;
}
