import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../../app/context.js';

/** Registers /healthz (the process is up) and /readyz (the database responds). */
export function registerHealthRoutes(app: FastifyInstance, context: AppContext): void {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    try {
      await sql`select 1`.execute(context.store.db);
      return { status: 'ready' };
    } catch (error) {
      request.log.error({ err: error }, 'readiness check failed: database unreachable');
      return reply.status(503).send({ status: 'unavailable', error_description: 'The database is not reachable.' });
    }
  });
}
