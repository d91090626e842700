import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../../src/config/load.js';

const secret = Buffer.alloc(32, 7).toString('base64url');

function load(env: Record<string, string>) {
  const warnings: string[] = [];
  const config = loadConfig({ env, warn: (message) => warnings.push(message) });
  return { config, warnings };
}

describe('configuration', () => {
  it('generates, persists and reuses a development secret with a warning', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
    const first = load({ GATEHOUSE_DATA_DIR: dataDir });
    assert.match(first.warnings.join('\n'), /WARNING: DEVELOPMENT MODE/);
    const file = join(dataDir, 'development-secret');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url').length, 32);

    const second = load({ GATEHOUSE_DATA_DIR: dataDir });
    assert.deepEqual(Buffer.from(second.config.secret), Buffer.from(first.config.secret));
    assert.equal(second.config.database.kind, 'sqlite');
    assert.equal(second.config.publicUrl, 'http://localhost:3000');
  });

  it('refuses production without a public URL and a secret', () => {
    assert.throws(
      () => load({ GATEHOUSE_ENV: 'production' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /GATEHOUSE_PUBLIC_URL: required in production/.test(error.message) &&
        /GATEHOUSE_SECRET: required in production/.test(error.message),
    );
  });

  it('refuses an http public URL and development issuers in production', () => {
    assert.throws(
      () => load({ GATEHOUSE_ENV: 'production', GATEHOUSE_SECRET: secret, GATEHOUSE_PUBLIC_URL: 'http://gatehouse.example.com', GATEHOUSE_ALLOW_HTTP_LOOPBACK_ISSUERS: 'true' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /GATEHOUSE_PUBLIC_URL: must use https:\/\//.test(error.message) &&
        /GATEHOUSE_ALLOW_HTTP_LOOPBACK_ISSUERS: must be false in production/.test(error.message),
    );
  });

  it('names each invalid variable and the expected value', () => {
    assert.throws(
      () => load({ GATEHOUSE_PORT: 'eighty', GATEHOUSE_PUBLIC_URL: 'https://example.com/path', DATABASE_URL: 'mysql://x', GATEHOUSE_SECRET: 'short' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /GATEHOUSE_PORT: .*Expected: TCP port to listen on/);
        assert.match(error.message, /GATEHOUSE_PUBLIC_URL: must have no path, query or fragment/);
        assert.match(error.message, /DATABASE_URL: must start with postgres:\/\/ or postgresql:\/\//);
        assert.match(error.message, /GATEHOUSE_SECRET: must decode to at least 32 bytes/);
        assert.doesNotMatch(error.message, /short/, 'the secret value is not echoed');
        return true;
      },
    );
  });

  it('accepts a valid production configuration without warnings', () => {
    const { config, warnings } = load({
      GATEHOUSE_ENV: 'production',
      GATEHOUSE_SECRET: secret,
      GATEHOUSE_PUBLIC_URL: 'https://gatehouse.example.com/',
      DATABASE_URL: 'postgres://db.internal/gatehouse',
    });
    assert.deepEqual(warnings, []);
    assert.equal(config.publicUrl, 'https://gatehouse.example.com');
    assert.deepEqual(config.database, { kind: 'postgres', url: 'postgres://db.internal/gatehouse' });
  });

  it('reads a JSON config file and lets the environment override it', () => {
    const directory = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
    const file = join(directory, 'gatehouse.json');
    writeFileSync(file, JSON.stringify({ GATEHOUSE_PORT: 4000, GATEHOUSE_SECRET: secret, GATEHOUSE_LOG_LEVEL: 'debug' }));
    const { config } = load({ GATEHOUSE_CONFIG_FILE: file, GATEHOUSE_LOG_LEVEL: 'warn' });
    assert.equal(config.port, 4000);
    assert.equal(config.logLevel, 'warn');
  });

  it('rejects unknown keys in the config file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
    const file = join(directory, 'gatehouse.json');
    writeFileSync(file, JSON.stringify({ GATEHOUSE_PROT: 4000 }));
    assert.throws(() => load({ GATEHOUSE_CONFIG_FILE: file }), /unknown setting "GATEHOUSE_PROT"/);
  });
});
