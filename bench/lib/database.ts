import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import type { DatabaseTarget } from '../../src/db/database.js';

export type DatabaseKind = 'sqlite' | 'postgres';

/** An empty database for one benchmark run, and the data directory of the server that uses it. */
export interface TemporaryDatabase {
  target: DatabaseTarget;
  dataDir: string;
  /** Drops the PostgreSQL schema, if any, and removes the temporary directory. */
  cleanup(): Promise<void>;
}

/** Creates an empty database: a file in a new temporary directory, or a fresh PostgreSQL schema. */
export async function createDatabase(kind: DatabaseKind): Promise<TemporaryDatabase> {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const removeDirectory = () => rmSync(directory, { recursive: true, force: true });
  if (kind === 'sqlite') {
    return { target: { kind: 'sqlite', file: join(directory, 'gatehouse.sqlite') }, dataDir: directory, cleanup: async () => removeDirectory() };
  }

  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    removeDirectory();
    throw new Error('--database postgres needs TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test');
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
    await admin.query(`create schema ${schema}`);
  } catch (error) {
    removeDirectory();
    throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }
  return {
    target: { kind: 'postgres', url, schema },
    dataDir: directory,
    async cleanup() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
      removeDirectory();
    },
  };
}
