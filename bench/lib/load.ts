import autocannon from 'autocannon';

import { percentile } from './statistics.js';

/** One route under load. */
export interface Route {
  /** Route as the report names it. */
  name: string;
  path: string;
  /** Headers of every GET request. Requests with bodies from a RequestFeed take the feed's headers. */
  headers?: Record<string, string>;
}

/** Figures of one autocannon run against one route. */
export interface LoadFigures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
}

/** Figures of one measured round of one route. */
export interface RunFigures extends LoadFigures {
  /** CPU time (user + system, all threads) the server process spent per request. */
  serverCPUMicroseconds: number;
}

/**
 * Request bodies for a POST route that accepts each body only once, such as the SAML ACS with its
 * replay store. Every request takes the next body, and every response is checked.
 */
export interface RequestFeed {
  /** Headers of every request, such as the content type of the bodies. */
  readonly headers: Record<string, string>;
  /** True once a request found no body left. */
  readonly exhausted: boolean;
  /** Body sent once none is left. The server must reject it, so that the run fails. */
  readonly rejectedBody: string;
  /** Returns the next body and marks it used, or returns undefined when none is left. */
  take(): Buffer | undefined;
  /** Returns whether a response is the one that a fresh body must get. */
  accepts(status: number, body: string): boolean;
  /** Returns the error message for a run that used up the feed, with what to change. */
  exhaustedMessage(): string;
}

/**
 * Runs autocannon against one route and returns its figures. With a `feed`, each request is a POST
 * with the feed's next body (autocannon calls setupRequest once per request sent), and every
 * response must pass the feed's check. Latencies come from the per-response events, as autocannon's
 * own histogram rounds to whole milliseconds, too coarse for a route that responds in about a
 * millisecond. Throws on any error, timeout, non-2xx response, failed check or empty feed.
 * `limit` is a duration in seconds or a number of requests.
 */
export function load(
  url: string,
  route: Route,
  limit: { seconds: number } | { requests: number },
  connections: number,
  feed?: RequestFeed,
): Promise<LoadFigures> {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`load is only sent to 127.0.0.1, not to ${url}`);
  const latencies: number[] = [];
  const started = performance.now();
  let lastResponse = started;
  let unexpected = 0;
  let firstUnexpected = '';
  let instance: autocannon.Instance | undefined;
  const requests: autocannon.Request[] | undefined = feed && [
    {
      method: 'POST',
      path: route.path,
      setupRequest(request) {
        const body = feed.take();
        // The server rejects this body with 400, which fails the run below. NOTE: autocannon stops
        // only at its next one-second tick, so until then every request gets such a 400.
        if (!body) {
          instance?.stop();
          return { ...request, body: feed.rejectedBody };
        }
        return { ...request, body };
      },
      onResponse(status, body) {
        if (feed.accepts(status, body)) return;
        unexpected++;
        if (!firstUnexpected) firstUnexpected = `${status}: ${body.slice(0, 300)}`;
      },
    },
  ];
  return new Promise((resolve, reject) => {
    instance = autocannon(
      {
        url: `${url}${route.path}`,
        connections,
        pipelining: 1,
        timeout: 10,
        ...('seconds' in limit ? { duration: limit.seconds } : { amount: limit.requests }),
        ...(feed ? { method: 'POST' as const, headers: feed.headers, requests } : route.headers ? { headers: route.headers } : {}),
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        if (feed?.exhausted) return reject(new Error(`${route.name}: ${feed.exhaustedMessage()}`));
        if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0 || unexpected > 0) {
          const counts = `${route.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`;
          const statusCounts = `status counts ${JSON.stringify(result.statusCodeStats ?? {})}`;
          return reject(
            new Error(feed ? `${counts}, ${unexpected} unexpected (${statusCounts}; first unexpected ${firstUnexpected || 'none'})` : `${counts} (${statusCounts})`),
          );
        }
        if (latencies.length === 0 || result.duration <= 0) return reject(new Error(`${route.name}: no responses`));
        latencies.sort((a, b) => a - b);
        resolve({
          // autocannon notices the end of a run limited by count only at its next one-second tick, so
          // such a run's rate is taken from the time of its last response instead.
          requestsPerSecond: 'seconds' in limit ? result.requests.total / result.duration : (latencies.length * 1000) / (lastResponse - started),
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
          requests: result.requests.total,
        });
      },
    );
    instance.on('response', (_client, _statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      lastResponse = performance.now();
    });
  });
}
