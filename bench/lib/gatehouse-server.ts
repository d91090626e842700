/**
 * The server child of a benchmark: Gatehouse on 127.0.0.1 with an empty temporary database, run
 * in-process with createApp. The parent's side is server-process.ts.
 */
import { randomBytes } from 'node:crypto';

import { createApp, type App } from '../../src/app/create-app.js';
import type { Config } from '../../src/config/config.js';
import { errorText } from './cli.js';
import { createDatabase, type DatabaseKind, type TemporaryDatabase } from './database.js';
import type { BaseServerMessage } from './server-process.js';

/** Benchmark-specific part of the server child: the data it creates and any extra requests. */
export interface ServerRole<Request, Reply extends { type: string }> {
  /**
   * Fills the new database and returns the 'ready' message for the parent. Runs once the server
   * listens, because values derived from the public URL, such as a SAML connection's ACS URL, need
   * the real port.
   */
  setUp(app: App, config: Config): Promise<{ type: 'ready' }>;
  /** Returns the reply to a request other than 'stop' and 'cpu', or undefined to ignore the request. */
  reply?(request: Request): Promise<Reply> | undefined;
}

/**
 * Starts Gatehouse on 127.0.0.1 on a new `kind` database, lets `role` set it up, and sends the
 * parent its 'ready' message, or 'failed' and exits. Replies to 'cpu' with the process's CPU time.
 * Shuts down and drops the database when the parent sends 'stop' or goes away.
 */
export async function serveGatehouse<Request, Reply extends { type: string }>(
  kind: DatabaseKind,
  role: ServerRole<Request, Reply>,
  overrides: Partial<Config> = {},
): Promise<void> {
  const send = (message: { type: 'ready' } | Reply | BaseServerMessage) => process.send?.(message);
  let database: TemporaryDatabase | undefined;
  let app: App | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      await app?.close();
    } finally {
      await database?.cleanup();
      process.exit(code);
    }
  };
  process.on('message', (message: 'stop' | 'cpu' | Request) => {
    if (message === 'stop') void stop(0);
    else if (message === 'cpu') {
      const usage = process.cpuUsage();
      send({ type: 'cpu', microseconds: usage.user + usage.system });
    } else {
      void role.reply?.(message)?.then(send, (error: unknown) => send({ type: 'failed', message: errorText(error) }));
    }
  });
  // The parent may exit without sending 'stop', so the schema or temporary directory is removed here too.
  process.on('disconnect', () => void stop(1));
  process.on('SIGINT', () => void stop(130));
  process.on('SIGTERM', () => void stop(143));

  try {
    database = await createDatabase(kind);
    const config: Config = {
      env: 'production',
      publicUrl: 'http://127.0.0.1:0',
      host: '127.0.0.1',
      port: 0,
      dataDir: database.dataDir,
      database: database.target.kind === 'sqlite' ? { kind: 'sqlite', file: database.target.file } : { kind: 'postgres', url: database.target.url },
      secret: randomBytes(32),
      session: { idleSeconds: 3600, maxSeconds: 86_400 },
      oneTimeLinkSeconds: 3600,
      allowHttpLoopbackIssuers: false,
      allowLoopbackFetch: false,
      // A benchmark verifies no domain. These are the defaults of GATEHOUSE_DNS_SERVERS and
      // GATEHOUSE_DOMAIN_RECHECK_MINUTES.
      dnsServers: [],
      domainRecheckSeconds: 21_600,
      google: undefined,
      mail: { smtpUrl: undefined, from: 'gatehouse@localhost.test' },
      trustProxy: false,
    oauthRegistrationLimit: 100_000,
      // Fastify logs two info lines per request, which would dominate the profile. Warnings, such as
      // a rejected SAML response, go to stderr so that the parent's report on stdout stays clean.
      logLevel: 'warn',
      deployment: 'self-hosted',
      gateway: { enabled: true, timeoutSeconds: 120, exchangeTimeoutSeconds: 10 },
      keyEncryptionKeys: [],
      issuerKeyRotationSeconds: 30 * 86_400,
      ...overrides,
    };
    app = await createApp(config, { logDestination: process.stderr, database: database.target });
    await app.server.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    config.publicUrl = `http://127.0.0.1:${address.port}`;

    send(await role.setUp(app, config));
  } catch (error) {
    send({ type: 'failed', message: errorText(error) });
    await stop(1);
  }
}
