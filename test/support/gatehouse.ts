import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';

import { createApp, type App } from '../../src/app/create-app.js';
import type { Config } from '../../src/config/config.js';
import type { DatabaseTarget } from '../../src/db/database.js';
import { createOneTimeLink } from '../../src/setup/one-time-links.js';
import type { DatabaseCase } from './databases.js';
import { TestClock } from './clock.js';

/** A Gatehouse listening on 127.0.0.1 for one test, with its captured log lines. */
export interface TestGatehouse {
  app: App;
  target: DatabaseTarget;
  url: string;
  clock: TestClock;
  logs: string[];
  setupLink(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts Gatehouse on an empty database of the given kind, on a free port, reachable as
 * http://localhost:PORT. With `shareWith`, it uses that instance's database instead, as a second
 * node of the same deployment would (pass the same `secret` too).
 */
export async function startGatehouse(database: DatabaseCase, overrides: Partial<Config> = {}, shareWith?: TestGatehouse): Promise<TestGatehouse> {
  const { target, cleanup } = shareWith ? { target: shareWith.target, cleanup: async () => {} } : await database.create();
  const clock = new TestClock();
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });

  const config: Config = {
    env: 'development',
    publicUrl: 'http://localhost:0',
    host: '127.0.0.1',
    port: 0,
    dataDir: '/nonexistent',
    database: target.kind === 'sqlite' ? { kind: 'sqlite', file: target.file } : { kind: 'postgres', url: target.url },
    secret: randomBytes(32),
    session: { idleSeconds: 3600, maxSeconds: 86_400 },
    oneTimeLinkSeconds: 3600,
    allowHttpLoopbackIssuers: true,
    allowLoopbackFetch: true,
    dnsServers: [],
    domainRecheckSeconds: 21_600,
    google: undefined,
    mail: { smtpUrl: undefined, from: 'gatehouse@localhost.test' },
    trustProxy: false,
    // Every test client registers from 127.0.0.1; the limit has its own test.
    oauthRegistrationLimit: 100_000,
    logLevel: 'info',
    deployment: 'self-hosted',
    gateway: { enabled: true, timeoutSeconds: 30, exchangeTimeoutSeconds: 10 },
    keyEncryptionKeys: [],
    issuerKeyRotationSeconds: 30 * 86_400,
    ...overrides,
  };
  const app = await createApp(config, { clock: clock.now, logDestination, database: target });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  // The port is known only after listening, so the public URL is set now; nothing has read it yet.
  config.publicUrl = `http://localhost:${address.port}`;

  return {
    app,
    target,
    url: config.publicUrl,
    clock,
    logs,
    async setupLink() {
      return (await createOneTimeLink(app.context, { purpose: 'setup' })).url;
    },
    async close() {
      await app.close();
      await cleanup();
    },
  };
}
