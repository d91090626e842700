import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import type { DatabaseTarget } from '../../src/db/database.js';

/** A database a test runs against, with a reason when it is not available here. */
export interface DatabaseCase {
  name: 'sqlite' | 'postgres';
  /** Set when the test must be reported as skipped, naming what to install or set. */
  skip: string | false;
  /** Creates an empty database (a temporary file, or a fresh PostgreSQL schema) and a cleanup function. */
  create(): Promise<{ target: DatabaseTarget; cleanup(): Promise<void> }>;
}

const postgresURL = process.env.TEST_DATABASE_URL;

/** The databases every storage test runs on: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export const databaseCases: DatabaseCase[] = [
  {
    name: 'sqlite',
    skip: false,
    async create() {
      const directory = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
      return {
        target: { kind: 'sqlite', file: join(directory, 'gatehouse.sqlite') },
        async cleanup() {
          rmSync(directory, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: postgresURL
      ? false
      : 'PostgreSQL tests need TEST_DATABASE_URL: install PostgreSQL (apt-get install postgresql), then set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test',
    async create() {
      if (!postgresURL) throw new Error('TEST_DATABASE_URL is not set');
      const schema = `test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: postgresURL });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      return {
        target: { kind: 'postgres', url: postgresURL, schema },
        async cleanup() {
          const client = new pg.Client({ connectionString: postgresURL });
          await client.connect();
          await client.query(`drop schema if exists ${schema} cascade`);
          await client.end();
        },
      };
    },
  },
];
