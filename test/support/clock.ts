/** A clock that follows real time from an offset the test can move forward. */
export class TestClock {
  private offsetMilliseconds = 0;

  readonly now = (): Date => new Date(Date.now() + this.offsetMilliseconds);

  /** Moves the clock forward by `seconds`. */
  advance(seconds: number): void {
    this.offsetMilliseconds += seconds * 1000;
  }
}
