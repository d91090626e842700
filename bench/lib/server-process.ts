/**
 * The parent's side of the server child: forking it, the messages both sides exchange over the
 * fork IPC channel, and stopping it. The child's side is gatehouse-server.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';

import type { DatabaseKind } from './database.js';

/** Requests that every server child handles. After 'stop' it closes Gatehouse, drops its database and exits. */
export type BaseServerRequest = 'stop' | 'cpu';

/** Message from a server child whose start or request failed, with the error's stack. */
export interface FailedMessage {
  type: 'failed';
  message: string;
}

/** Reply to 'cpu': the user and system CPU time of the server process so far, all threads. */
export interface CPUMessage {
  type: 'cpu';
  microseconds: number;
}

/** Messages from a server child to the parent that every benchmark uses. */
export type BaseServerMessage = FailedMessage | CPUMessage;

/** Forks `script` with `--serve` and `extraArgs` and waits for the child's 'ready' message. */
export function startServer<Ready extends { type: 'ready' }>(
  script: string,
  database: DatabaseKind,
  profileDir: string | undefined,
  extraArgs: readonly string[] = [],
): Promise<{ child: ChildProcess; ready: Ready }> {
  const args = ['--serve', '--database', database, ...extraArgs];
  const execArgv = [...process.execArgv];
  if (profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error('server did not start within 60 s'));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited before it was ready (code ${code}, signal ${signal})`));
    });
    child.once('message', (message: Ready | BaseServerMessage) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve({ child, ready: message as Ready });
      else reject(new Error(`server failed to start:\n${message.type === 'failed' ? message.message : JSON.stringify(message)}`));
    });
  });
}

/** Asks a child to shut down (the server cleans up its database), and kills it if it is still running after 30 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send('stop');
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Sends one request to the server child and waits for its reply of type `type`, or for a failure.
 * Rejects if no reply arrives within `seconds`.
 */
export function askServer<Reply extends { type: string }>(
  child: ChildProcess,
  request: string | { type: string; [field: string]: unknown },
  type: Reply['type'],
  seconds: number,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`server did not reply to ${typeof request === 'string' ? request : request.type} within ${seconds} s`));
    }, seconds * 1000);
    const onMessage = (message: Reply | BaseServerMessage) => {
      if (message.type !== type && message.type !== 'failed') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (message.type === 'failed') reject(new Error(`server failed:\n${(message as FailedMessage).message}`));
      else resolve(message as Reply);
    };
    child.on('message', onMessage);
    child.send(request);
  });
}

/** Returns the CPU time the server process has used so far, in microseconds. */
export async function serverCPU(child: ChildProcess): Promise<number> {
  return (await askServer<CPUMessage>(child, 'cpu', 'cpu', 10)).microseconds;
}
