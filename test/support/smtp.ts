import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { ReceivedMail } from '../../scripts/dev-smtp.js';

/** The development SMTP server, running as its own process on 127.0.0.1, with the mail it received. */
export interface RunningSMTP {
  url: string;
  mails: ReceivedMail[];
  /** Resolves with the next message to `to` (one already received counts), or rejects after 10 s. */
  waitForMail(to: string, after?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL('../../scripts/dev-smtp.ts', import.meta.url));

/** Starts scripts/dev-smtp.ts on a free port and collects every message it prints. */
export async function startSMTP(): Promise<RunningSMTP> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const mails: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  const lines = createInterface({ input: child.stdout! });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`SMTP server did not start within 20 s:\n${stderr}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`SMTP server exited with code ${code}:\n${stderr}`));
    });
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as { url?: string } & Partial<ReceivedMail>;
      if (parsed.url) {
        clearTimeout(timer);
        resolve(parsed.url);
        return;
      }
      mails.push(parsed as ReceivedMail);
      for (const wake of waiters.splice(0)) wake();
    });
  });

  return {
    url,
    mails,
    async waitForMail(to, after = 0) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = mails.slice(after).find((mail) => mail.to.includes(to));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within 10 s`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Returns the 6-digit code in a sign-in email. */
export function codeIn(mail: ReceivedMail): string {
  const match = /sign-in code is (\d{6})\./.exec(mail.text);
  if (!match) throw new Error(`no code in mail: ${mail.text}`);
  return match[1]!;
}
