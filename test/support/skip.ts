import { describe, it } from 'node:test';

/**
 * Declares a suite, or, when `skip` names a missing component, a suite with one skipped test that
 * names what to install. Node's runner counts skipped tests but not skipped suites, so this keeps
 * the closing "skipped" count honest.
 */
export function suite(name: string, skip: string | false, body: () => void): void {
  if (skip) {
    describe(name, () => {
      it('needs a component this machine lacks', { skip }, () => {});
    });
    return;
  }
  describe(name, body);
}
