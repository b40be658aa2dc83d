/**
 * A TCP relay in front of a test server that a test can cut: `down()` closes its port and every
 * connection through it, as when the database host goes away; `up()` listens again on the same
 * port. The server itself is never touched, so this works on any PostgreSQL a test runs on.
 */
import net from 'node:net';

export interface TcpProxy {
  /** `serverUrl` with its host and port replaced by the relay's. */
  url(serverUrl: string): string;
  down(): Promise<void>;
  up(): Promise<void>;
}

export async function startTcpProxy(serverUrl: string): Promise<TcpProxy> {
  const target = new URL(serverUrl);
  const sockets = new Set<net.Socket>();
  const relay = (client: net.Socket) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  let server = net.createServer(relay);
  await listen(server, 0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: (url) => throughPort(url, port),
    async down() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async up() {
      server = net.createServer(relay);
      await listen(server, port);
    },
  };
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

/** `url` with its host and port replaced by a relay's on this machine (user, password, database kept). */
export function throughPort(url: string, port: number): string {
  const through = new URL(url);
  through.hostname = '127.0.0.1';
  through.port = String(port);
  return through.toString();
}
