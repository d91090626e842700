import type { Logger } from 'pino';

import type { Config } from '../config/config.js';
import { deriveKey } from '../config/keys.js';
import { keyRingFrom, type KeyRing } from '../crypto/key-ring.js';
import type { Store } from '../db/database.js';

/** Source of the current time; tests pass a frozen clock. */
export type Clock = () => Date;

/** Everything a request handler or a command needs, built once at start-up. */
export interface AppContext {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  keys: {
    apiKeyHash: Buffer;
    csrf: Buffer;
    secretEncryption: Buffer;
    emailCodeHash: Buffer;
    /** Key-encryption keys for stored provider keys and issuer signing keys. */
    keyRing: KeyRing;
  };
}

/** Builds the application context and derives the purpose-specific keys once. */
export function createContext(options: { config: Config; store: Store; logger: Logger; clock?: Clock }): AppContext {
  const { config } = options;
  return {
    config,
    store: options.store,
    logger: options.logger,
    clock: options.clock ?? (() => new Date()),
    keys: {
      apiKeyHash: deriveKey(config.secret, 'api-key-hash'),
      csrf: deriveKey(config.secret, 'csrf'),
      secretEncryption: deriveKey(config.secret, 'secret-encryption'),
      emailCodeHash: deriveKey(config.secret, 'email-code-hash'),
      keyRing: keyRingFrom(config),
    },
  };
}

/** Returns `date` plus `seconds` as an ISO string. */
export function addSeconds(date: Date, seconds: number): string {
  return new Date(date.getTime() + seconds * 1000).toISOString();
}
