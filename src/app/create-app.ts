import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';

import { createLocalVerifier } from '../auth/local-verifier.js';
import type { Config } from '../config/config.js';
import { openStore, type DatabaseTarget } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { buildServer } from '../http/server.js';
import { createLogger } from '../log/logger.js';
import { createContext, type AppContext, type Clock } from './context.js';

/** A built, migrated Gatehouse that has not started listening yet. */
export interface App {
  context: AppContext;
  server: FastifyInstance;
  /** Stops the server and closes the database. */
  close(): Promise<void>;
}

/** Opens the database, applies migrations and builds the HTTP server. */
export async function createApp(
  config: Config,
  options: { clock?: Clock; logger?: Logger; logDestination?: DestinationStream; database?: DatabaseTarget } = {},
): Promise<App> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const store = openStore(options.database ?? config.database);
  try {
    await migrateToLatest(store);
  } catch (error) {
    await store.db.destroy();
    throw error;
  }
  const context = createContext({ config, store, logger, ...(options.clock ? { clock: options.clock } : {}) });
  const server = await buildServer({ context, verifier: createLocalVerifier(context) });

  let closed = false;
  return {
    context,
    server,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await store.db.destroy();
    },
  };
}
