/**
 * Who is on the other end of a request: the peer address, or, when the peer is a configured trusted
 * reverse proxy, the client it forwarded for (X-Forwarded-For, rightmost address that is not itself a
 * trusted proxy) and whether that client used TLS (X-Forwarded-Proto). Nobody else's headers are believed.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ipInCidr } from '../policy/ip-prefix.ts';
import { connectionInfo } from '../transport/http-listener.ts';
import type { ClientInfo } from './context.ts';

export class ProxyTrust {
  private readonly proxies: readonly string[];
  constructor(proxies: readonly string[]) {
    this.proxies = proxies;
  }

  isTrusted(ip: string): boolean {
    return this.proxies.some((cidr) => ipInCidr(ip, cidr));
  }

  clientOf(incoming: IncomingMessage, publicUrl: string): ClientInfo {
    const socket = incoming.socket;
    const peer = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const tlsSocket = (socket as TLSSocket).encrypted === true;
    const listener = connectionInfo(socket)?.listener ?? (tlsSocket ? 'https' : 'http');
    let ip = peer;
    let secure = tlsSocket;
    let viaProxy = false;
    let scheme = tlsSocket ? 'https' : 'http';
    if (this.isTrusted(peer)) {
      const forwarded = headerText(incoming.headers['x-forwarded-for']);
      if (forwarded !== null) {
        // RFC 7239 §5.2 (the same for X-Forwarded-For): each proxy appends the address it saw, so only the
        // rightmost entries that our own proxies added can be believed; the first untrusted one is the client.
        const hops = forwarded.split(',').map((s) => s.trim().replace(/^\[(.*)\]$/, '$1')).filter((s) => isIP(s) !== 0);
        for (let i = hops.length - 1; i >= 0; i--) {
          ip = hops[i]!;
          if (!this.isTrusted(ip)) break;
        }
        viaProxy = hops.length > 0;
      }
      const proto = headerText(incoming.headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase();
      if (proto === 'https' || proto === 'http') {
        secure = proto === 'https';
        scheme = proto;
        viaProxy = true;
      }
    }
    const host = headerText(incoming.headers.host) ?? 'localhost';
    const origin = publicUrl !== '' ? publicUrl : `${scheme}://${/^[A-Za-z0-9.\-:[\]]+$/.test(host) ? host : 'localhost'}`;
    return { listener, ip: ip.replace(/^::ffff:/, ''), peer, secure, origin, viaProxy };
  }
}

function headerText(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(',') : value;
}
