/**
 * A TCP proxy in front of PostgreSQL for one keycard instance that can refuse the revocation feed's
 * reconnections alone: a partition of the LISTEN connection, which the server itself cannot be told to do
 * (a superuser's LISTEN needs no privilege to revoke). Used by the hybrid feed tests and the PostgreSQL
 * restart test, to hold a feed gap open by the proxy rather than by a sleep.
 */
import { connect, createServer, type Socket } from 'node:net';

/** The feed's application_name from a v3 StartupMessage (protocol 196608), if it is one. */
function startupApplicationName(message: Buffer): string | undefined {
  if (message.length < 8 || message.readInt32BE(4) !== 196_608) return undefined;
  const fields = message.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'application_name') return fields[i + 1];
  return undefined;
}

export interface FeedGate {
  port: number;
  /** While true, new connections whose startup names `applicationName` are dropped unanswered. */
  refuse: boolean;
  /** Local ports of the proxy's connections to PostgreSQL (pg_stat_activity.client_port). */
  upstreamPorts(): number[];
  close(): Promise<void>;
}

/**
 * A TCP proxy to PostgreSQL (`target`) for one instance. It reads each connection's StartupMessage
 * (plain text without TLS: pg does not ask for TLS on loopback here) and, while `refuse` is set, drops
 * the feed's reconnections — a partition of the LISTEN connection alone, which the server itself cannot
 * be told to do (a superuser's LISTEN needs no privilege to revoke).
 */
export async function startFeedGate(target: URL, applicationName: string): Promise<FeedGate> {
  const sockets = new Set<Socket>();
  const upstreams = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  };
  const gate = {
    port: 0,
    refuse: false,
    upstreamPorts: () => [...upstreams].map((socket) => socket.localPort as number),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((client) => {
    track(client);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4 || buffered.length < buffered.readInt32BE(0)) return;
      client.off('data', onData);
      client.pause();
      if (gate.refuse && startupApplicationName(buffered) === applicationName) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: target.hostname, port: Number(target.port || 5432) });
      track(upstream);
      upstream.once('connect', () => {
        upstreams.add(upstream);
        upstream.write(buffered);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.once('close', () => {
        upstreams.delete(upstream);
        client.destroy();
      });
      client.once('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.port = (server.address() as { port: number }).port;
  return gate;
}
