/**
 * The bench IPC (see common.ts) for servers that run on Bun, which has neither node:inspector's heap
 * sampler nor monitorEventLoopDelay: the port, CPU time and RSS, and stop. Bun speaks Node's fork IPC.
 */
export const BENCH_USER = { id: 'u_bench_0001', username: 'alice', role: 'user' } as const;
export const BENCH_PASSWORD = 'correct horse battery staple';

/** The Bun global, as far as the bench servers use it (`declare const Bun: BunGlobal`). */
export type BunGlobal = {
  serve(options: {
    port: number;
    hostname: string;
    fetch(
      request: Request,
      server: { requestIP(request: Request): { address: string } | null },
    ): Response | Promise<Response>;
  }): { port: number; stop(closeActive?: boolean): Promise<void> | void };
};

export function announce(port: number, close: () => Promise<void>): void {
  let cpuSince = process.cpuUsage();
  const send = (message: unknown) => process.send?.(message);
  process.on('message', (message: { type: string; id?: number; what?: string }) => {
    if (message.type === 'stop') {
      void close().finally(() => process.exit(0));
      return;
    }
    if (message.type !== 'call') return;
    if (message.what === 'reset') {
      cpuSince = process.cpuUsage();
      send({ type: 'reply', id: message.id, value: null });
    } else if (message.what === 'stats') {
      const { user, system } = process.cpuUsage(cpuSince);
      const value = {
        eventLoopDelay: { p50: 0, p99: 0, max: 0, mean: 0 },
        operations: 0,
        cpuMicroseconds: user + system,
        rss: process.memoryUsage().rss,
      };
      send({ type: 'reply', id: message.id, value });
    }
  });
  send({ type: 'ready', port });
}
