/**
 * One HTTPS request to a host name through our own resolver: the first A address (AAAA when there is none or the
 * A lookup fails), the certificate checked for the name (SNI), no agent, no redirects, one answer within a time limit.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { isIP } from 'node:net';
import type { Resolver } from '../dns/resolver.ts';

/** The address to connect to for `host`: itself when it is an IP literal, else its first A, else its first AAAA. */
async function firstAddress(host: string, resolver: Pick<Resolver, 'a' | 'aaaa'>): Promise<{ ip: string } | { error: string }> {
  if (isIP(host)) return { ip: host };
  let ip: string | undefined;
  try {
    // An IPv6-only host (NXDOMAIN or SERVFAIL on A is no proof there is no AAAA) is still reached over AAAA.
    ip = (await resolver.a(host).catch(() => [] as string[]))[0] ?? (await resolver.aaaa(host))[0];
  } catch (err) {
    return { error: `${host}: ${(err as Error).message}` };
  }
  return ip ? { ip } : { error: `${host} has no address` };
}

export interface HttpsToHostOptions<R> {
  /** The name in the URL: resolved, sent as SNI and as Host, and what the certificate must be valid for. */
  host: string;
  resolver: Pick<Resolver, 'a' | 'aaaa'>;
  port: number;
  path: string;
  method: 'GET' | 'POST';
  headers: OutgoingHttpHeaders;
  body?: Buffer;
  /** Trust anchors. */
  ca: (string | Buffer)[];
  timeoutMs: number;
  /** Reads the answer and calls `done` once (later calls are ignored). */
  onResponse: (res: IncomingMessage, done: (result: R) => void) => void;
  /** The result for a name that resolves to nothing. */
  onNoAddress: (reason: string) => R;
  onError: (err: NodeJS.ErrnoException) => R;
  onTimeout: () => R;
}

export async function httpsToHost<R>(options: HttpsToHostOptions<R>): Promise<R> {
  const address = await firstAddress(options.host, options.resolver);
  if ('error' in address) return options.onNoAddress(address.error);
  const { ip } = address;
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: R): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request({
      host: ip,
      port: options.port,
      path: options.path,
      method: options.method,
      servername: isIP(options.host) ? undefined : options.host,
      headers: options.headers,
      ca: options.ca,
      rejectUnauthorized: true,
      agent: false,
    }, (res) => options.onResponse(res, done));
    const timer = setTimeout(() => done(options.onTimeout()), options.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done(options.onError(err)));
    req.end(options.body);
  });
}
