import { parseArgs, type ParseArgsConfig } from 'node:util';

import type { DatabaseKind } from './database.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Function that prints a problem with the command line and the script's usage line, then exits with code 2. */
export type Usage = (problem: string) => never;

/**
 * Returns readers for the options that every benchmark takes. Each reader exits through `usage`
 * on an invalid value.
 */
export function optionReaders(usage: Usage): {
  integerOption(flag: string, text: string, max: number, min?: number): number;
  databaseOption(text: string): DatabaseKind;
} {
  return {
    integerOption(flag, text, max, min = 1) {
      const value = Number(text);
      if (!Number.isInteger(value) || value < min || value > max) usage(`${flag} must be an integer from ${min} to ${max}, not ${text}`);
      return value;
    },

    databaseOption(database) {
      if (database !== 'sqlite' && database !== 'postgres') usage(`--database must be sqlite or postgres, not ${database}`);
      if (database === 'postgres' && !process.env.TEST_DATABASE_URL) usage('--database postgres needs TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test');
      return database;
    },
  };
}

/** Returns the stack of an Error, or the text of any other thrown value. */
export function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * Runs node:util parseArgs in strict mode over `argv` and returns the values, or exits through
 * `usage` on an unknown or malformed option.
 */
export function parseArguments<T extends ParseArgsOptionsConfig>(argv: string[], options: T, usage: Usage) {
  try {
    return parseArgs({ args: argv, options, strict: true }).values;
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}

/** parseArgs specs of the options that every load benchmark (autocannon rounds) takes. */
export const loadOptionSpecs = {
  database: { type: 'string', default: 'sqlite' },
  duration: { type: 'string', default: '10' },
  connections: { type: 'string', default: '10' },
  rounds: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '2' },
  profile: { type: 'string' },
  serve: { type: 'boolean', default: false },
} as const satisfies ParseArgsOptionsConfig;

/** Load benchmark options shared by the scripts that run timed autocannon rounds. */
export interface LoadOptions {
  database: DatabaseKind;
  durationSeconds: number;
  connections: number;
  rounds: number;
  warmupSeconds: number;
  profileDir: string | undefined;
}

/** Reads and checks the values of loadOptionSpecs, with the script's own limits. */
export function readLoadOptions(
  values: { database: string; duration: string; connections: string; rounds: string; warmup: string; profile?: string | undefined },
  usage: Usage,
  limits: { maxConnections: number; minRounds: number },
): LoadOptions {
  const { integerOption, databaseOption } = optionReaders(usage);
  return {
    database: databaseOption(values.database),
    durationSeconds: integerOption('--duration', values.duration, 600),
    connections: integerOption('--connections', values.connections, limits.maxConnections),
    rounds: integerOption('--rounds', values.rounds, 20, limits.minRounds),
    warmupSeconds: integerOption('--warmup', values.warmup, 60, 0),
    profileDir: values.profile,
  };
}
