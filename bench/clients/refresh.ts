/**
 * Refresh-rotation load as its own process: `node --import tsx bench/clients/refresh.ts '<json options>'`.
 * One loop per refresh token (a client of its own, on its own keep-alive connection): POST the token to
 * /auth/refresh, take the successor from the answer, repeat — as long-lived clients do, never reusing a
 * spent token. Prints one JSON line: refreshes, refreshes/s, latency p50/p99 (ms), failures.
 */
import { Agent, request } from 'node:http';

interface Options {
  url: string;
  tokens: string[];
  seconds: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const agent = new Agent({ keepAlive: true, maxSockets: options.tokens.length });
const latencies: number[] = [];
let failures = 0;

function refresh(token: string): Promise<string | null> {
  const body = JSON.stringify({ refresh_token: token });
  return new Promise((resolve) => {
    const req = request(
      options.url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          if (response.statusCode !== 200) return resolve(null);
          resolve((JSON.parse(text) as { refresh_token?: string }).refresh_token ?? null);
        });
      },
    );
    req.on('error', () => resolve(null));
    req.end(body);
  });
}

const deadline = performance.now() + options.seconds * 1000;
const start = performance.now();
await Promise.all(
  options.tokens.map(async (first) => {
    let token: string | null = first;
    while (token && performance.now() < deadline) {
      const began = performance.now();
      token = await refresh(token);
      if (token) latencies.push(performance.now() - began);
      else failures++;
    }
  }),
);
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const at = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({ refreshes: latencies.length, perSecond: latencies.length / elapsed, latency: { p50: at(50), p99: at(99) }, failures })}\n`,
);
agent.destroy();
