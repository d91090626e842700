import type { ChildProcess } from 'node:child_process';

import type { LoadFigures, Route, RunFigures } from './load.js';
import { serverCPU } from './server-process.js';
import { median } from './statistics.js';

/** Medians over the rounds of one route, next to the rounds themselves. */
export interface RouteSummary {
  route: Route;
  list: RunFigures[];
  requestsPerSecond: number;
  p50: number;
  p99: number;
  serverCPU: number;
}

/**
 * Measures every route once per round, in the order given, so that drift on the machine affects
 * all routes alike. `loadRoute` runs one measured load. Its optional `note` is printed after the
 * request count in the progress line on stderr. The server's CPU time is read before and after
 * each load, so it covers only that route's requests.
 */
export async function alternateRounds(
  server: ChildProcess,
  routes: Route[],
  rounds: number,
  loadRoute: (route: Route) => Promise<LoadFigures & { note?: string }>,
): Promise<Map<Route, RunFigures[]>> {
  const runs = new Map<Route, RunFigures[]>(routes.map((route) => [route, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const route of routes) {
      const cpuBefore = await serverCPU(server);
      const { note = '', ...measured } = await loadRoute(route);
      const figures = { ...measured, serverCPUMicroseconds: ((await serverCPU(server)) - cpuBefore) / measured.requests };
      runs.get(route)!.push(figures);
      console.error(
        `round ${round}/${rounds} ${route.name}: ${figures.requests} requests${note}, ${figures.requestsPerSecond.toFixed(0)} req/s, ` +
          `p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, server CPU ${figures.serverCPUMicroseconds.toFixed(0)} µs/req`,
      );
    }
  }
  return runs;
}

/** Returns the median of each figure over the rounds, one row per route in the order of `routes`. */
export function summarizeRounds(routes: Route[], runs: Map<Route, RunFigures[]>): RouteSummary[] {
  return routes.map((route) => {
    const list = runs.get(route)!;
    return {
      route,
      list,
      requestsPerSecond: median(list.map((run) => run.requestsPerSecond)),
      p50: median(list.map((run) => run.p50)),
      p99: median(list.map((run) => run.p99)),
      serverCPU: median(list.map((run) => run.serverCPUMicroseconds)),
    };
  });
}
