import type { ChildProcess } from 'node:child_process';

/**
 * Ends the whole run if a phase takes longer than its budget: prints an error, sends SIGTERM to the
 * children (the server drops its database), and exits with code 1. Each phase sets a new budget.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly children: () => ChildProcess[]) {}

  /** Replaces the current budget with `seconds` for the phase described by `phase`. */
  arm(seconds: number, phase: string): void {
    this.clear();
    this.timer = setTimeout(() => {
      console.error(`benchmark stopped: ${phase} took longer than ${Math.round(seconds)} s`);
      for (const child of this.children()) child.kill('SIGTERM');
      process.exit(1);
    }, seconds * 1000);
  }

  /** Cancels the current budget. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
