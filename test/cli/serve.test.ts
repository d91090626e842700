import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

describe('gatehouse command', () => {
  it('serves on SQLite, prints a setup link and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], {
      env: { ...baseEnv, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PORT: '0', GATEHOUSE_PUBLIC_URL: 'http://localhost:3999' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stderr}`)), 30_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.deepEqual(await ready.json(), { status: 'ready' });

    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(lines.some((line) => /^ {2}http:\/\/localhost:3999\/setup\?token=[A-Za-z0-9_-]{43}$/.test(line)), 'a setup link is printed');
    assert.match(stderr, /WARNING: DEVELOPMENT MODE/);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(lines.some((line) => line.includes('"event":"server.stopped"')), 'the stop is logged');
  });

  it('explains a port that is already in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const result = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], {
          env: { ...baseEnv, GATEHOUSE_PORT: String(port), GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-cli-')) },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('exit', (status) => resolve({ status, stderr }));
      });
      assert.equal(result.status, 1);
      assert.match(result.stderr, new RegExp(`error: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
      assert.match(result.stderr, /set GATEHOUSE_PORT to a free port/);
    } finally {
      blocker.close();
    }
  });

  it('refuses to start in production without its secrets', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve'], {
      env: { ...baseEnv, GATEHOUSE_ENV: 'production', GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-cli-')) },
      encoding: 'utf8',
    });
    assert.equal(result.status, 78);
    assert.match(result.stderr, /GATEHOUSE_PUBLIC_URL: required in production/);
    assert.match(result.stderr, /GATEHOUSE_SECRET: required in production/);
  });

  it('names the variable and the fix for an invalid value', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'migrate'], {
      env: { ...baseEnv, GATEHOUSE_PORT: '99999', GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-cli-')) },
      encoding: 'utf8',
    });
    assert.equal(result.status, 78);
    assert.match(result.stderr, /GATEHOUSE_PORT: .*Expected: TCP port to listen on, 0-65535 \(default 3000\)/);
  });

  it('sets a plan and rejects an unknown one', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
    const env = { ...baseEnv, GATEHOUSE_DATA_DIR: dataDir };
    const unknown = spawnSync(process.execPath, ['--import', 'tsx', cli, 'admin', 'set-plan', '--organization', 'org_x', '--plan', 'gold'], { env, encoding: 'utf8' });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /expected free, pro or enterprise/);
    const missing = spawnSync(process.execPath, ['--import', 'tsx', cli, 'admin', 'set-plan', '--organization', 'org_x', '--plan', 'pro'], { env, encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no organization has the id org_x/);
  });
});
