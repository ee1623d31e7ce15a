/**
 * The load generator as its own process: `node --import tsx bench/clients/autocannon.ts '<json options>'`
 * runs autocannon against one URL and prints one JSON line with the result. It runs apart from the
 * benchmark driver and the server so that neither competes with it inside one event loop.
 */
import autocannon from 'autocannon';

interface Options {
  url: string;
  connections: number;
  seconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const result = await autocannon({
  url: options.url,
  connections: options.connections,
  duration: options.seconds,
  method: options.method ?? 'GET',
  headers: options.headers ?? {},
  body: options.body,
  // Keep-alive connections, one request in flight on each, as a browser or API client would.
  pipelining: 1,
});
const seconds = result.duration || options.seconds;
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / seconds,
    latency: { p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.mean },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  })}\n`,
);
