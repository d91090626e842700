/** Pieces of the Markdown report that both benchmarks print to stdout. */
import { cpus } from 'node:os';
import { relative } from 'node:path';

import type { Route } from './load.js';
import type { RouteSummary } from './rounds.js';

/** Returns the command that ran `script`, relative to the working directory, with its arguments. */
export function commandLine(script: string): string {
  return ['npx tsx', relative(process.cwd(), script), ...process.argv.slice(2)].join(' ');
}

/** Returns the report's list item that names the Node version and the CPU. */
export function machineLine(): string {
  const cpu = cpus();
  return `- Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores`;
}

/** Returns the lines of the Markdown table of medians, one row per route. */
export function routeTable(summary: RouteSummary[]): string[] {
  return [
    '| route | req/s | p50 ms | p99 ms | server CPU µs/req |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...summary.map((row) => `| ${row.route.name} | ${row.requestsPerSecond.toFixed(0)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.serverCPU.toFixed(0)} |`),
  ];
}

/** Returns the line that lists each route's req/s per round, the route labelled by `label`. */
export function perRoundLine(summary: RouteSummary[], label: (route: Route) => string): string {
  return 'Per round, req/s: ' + summary.map((row) => `${label(row.route)} ${row.list.map((run) => run.requestsPerSecond.toFixed(0)).join(', ')}`).join('; ');
}
