import type { DatabaseKind } from './database.js';

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
