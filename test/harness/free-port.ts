/**
 * Loopback ports for servers that must listen on a port known in advance (a child process, pebble, a private
 * PostgreSQL, a server restarted on the same port). They come from below the kernel's ephemeral range: a port the
 * kernel hands out itself (listen on 0, the local end of every outgoing connection) is never one of these, so
 * nothing else in a parallel test run takes it between the check here and the server's own bind.
 */
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/** Lowest port handed out; below are well-known and registered services (PostgreSQL 5432, pebble 14000...). */
const LOWEST = 20_000;
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux default 32768). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Resolves with `port` when it can be bound on 127.0.0.1 now (and releases it), null when it is taken. */
function bindable(port: number): Promise<number | null> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(null));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : null;
      server.close(() => resolvePort(bound));
    });
  });
}

/**
 * A free TCP port on 127.0.0.1, not handed out before by this process. Falls back to one the kernel picks (bound to
 * port 0 and released) when the ephemeral range leaves no room below it.
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralStart() - 1;
  if (highest - LOWEST >= 1_000) {
    for (let attempt = 0; attempt < 200; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
      if (handedOut.has(port)) continue;
      if ((await bindable(port)) === port) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await bindable(0);
  if (port === null) throw new Error('no free loopback port');
  return port;
}
