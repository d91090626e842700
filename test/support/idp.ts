import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** What the development provider prints when it is ready. */
export interface DevIdPInfo {
  issuer: string;
  clientId: string;
  clientSecret: string;
  password: string;
}

/** The bundled development OIDC provider, running as its own process on 127.0.0.1. */
export interface RunningIdP extends DevIdPInfo {
  process: ChildProcess;
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL('../../scripts/dev-idp.ts', import.meta.url));

/** Starts scripts/dev-idp.ts on a free port with the given redirect URIs and waits for its ready line. */
export async function startDevIdP(redirectURIs: string[], options: { google?: boolean } = {}): Promise<RunningIdP> {
  const args = ['--import', 'tsx', script, '--port', '0'];
  for (const uri of redirectURIs) args.push('--redirect-uri', uri);
  if (options.google) args.push('--google');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });

  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });

  const info = await new Promise<DevIdPInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`development IdP did not start within 20 s:\n${stderr}`)), 20_000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as DevIdPInfo);
      } catch (error) {
        reject(new Error(`development IdP printed an unexpected first line: ${line}`, { cause: error }));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`development IdP exited with code ${code}:\n${stderr}`));
    });
  });

  return {
    ...info,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
