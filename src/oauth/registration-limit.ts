const WINDOW_MS = 10 * 60 * 1000;
/** Addresses tracked at once; beyond this the oldest windows are dropped, bounding memory under a flood. */
const MAX_TRACKED = 10_000;

/**
 * Counts dynamic client registrations per client address in fixed windows.
 * NOTE: the counts live in this process, so each node of a deployment allows the limit on its own.
 */
export class RegistrationLimiter {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  /** `maxPerWindow`: registrations one address may make per 10 minutes. */
  constructor(private readonly maxPerWindow: number) {}

  /** Records one registration from `address` at `now` (ms) and returns the seconds to wait when it is over the limit. */
  take(address: string, now: number): number | undefined {
    let window = this.windows.get(address);
    if (!window || now - window.startedAt >= WINDOW_MS) {
      this.windows.delete(address);
      if (this.windows.size >= MAX_TRACKED) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      window = { startedAt: now, count: 0 };
      this.windows.set(address, window);
    }
    window.count += 1;
    if (window.count <= this.maxPerWindow) return undefined;
    return Math.ceil((window.startedAt + WINDOW_MS - now) / 1000);
  }
}
