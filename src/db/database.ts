import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';

import type { Database } from './schema.js';

export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema?: string };

/** Kysely instance plus the dialect it talks to, for the few places where SQL differs. */
export interface Store {
  db: Kysely<Database>;
  kind: DatabaseTarget['kind'];
  /**
   * Turns a query compiled once into a function that runs it with new parameters, prepared once
   * per connection: a better-sqlite3 statement, or a named PostgreSQL statement that is planned
   * once. For queries on the path of every request, where building, compiling and preparing the
   * query each time costs more than running it.
   */
  prepare<Row>(name: string, query: CompiledQuery<Row>): (parameters: readonly unknown[]) => Promise<Row[]>;
}

/**
 * Opens the database. SQLite runs in WAL mode with foreign keys on; PostgreSQL uses a pool whose
 * connections optionally pin a search_path (tests use one schema each).
 */
export function openStore(target: DatabaseTarget): Store {
  if (target.kind === 'sqlite') {
    if (target.file !== ':memory:') mkdirSync(dirname(target.file), { recursive: true, mode: 0o700 });
    const database = new SQLite(target.file);
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    database.pragma('synchronous = NORMAL');
    return {
      db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }),
      kind: 'sqlite',
      prepare<Row>(_name: string, query: CompiledQuery<Row>) {
        const statement = database.prepare(query.sql);
        // better-sqlite3 runs synchronously on this thread, so there is no connection to share.
        return async (parameters) => statement.all(...parameters) as Row[];
      },
    };
  }

  const pool = new pg.Pool({
    connectionString: target.url,
    max: 10,
    ...(target.schema ? { options: `-c search_path=${quoteIdentifier(target.schema)}` } : {}),
  });
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    kind: 'postgres',
    prepare<Row>(name: string, query: CompiledQuery<Row>) {
      return async (parameters) => {
        const result = await pool.query({ name, text: query.sql, values: [...parameters] });
        return result.rows as Row[];
      };
    },
  };
}

function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`invalid schema name: ${name}`);
  return name;
}

/**
 * Returns an accessor for a query on the path of every request: for each store, `build` compiles
 * the query once and the store prepares it once (see Store.prepare), on first use.
 */
export function preparedQuery<Row>(name: string, build: (store: Store) => CompiledQuery<Row>): (store: Store) => (parameters: readonly unknown[]) => Promise<Row[]> {
  const prepared = new WeakMap<Store, (parameters: readonly unknown[]) => Promise<Row[]>>();
  return (store) => {
    let run = prepared.get(store);
    if (!run) {
      run = store.prepare(name, build(store));
      prepared.set(store, run);
    }
    return run;
  };
}
