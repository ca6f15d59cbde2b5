/**
 * One TLS-RPT report POSTed to an `https:` rua (RFC 8460 §5.4): the gzip JSON with Content-Type
 * application/tlsrpt+gzip, the server's certificate verified for the URL's host, no redirects, a time limit.
 */
import { request } from 'node:https';
import { isIP } from 'node:net';
import type { Resolver } from '../dns/resolver.ts';

export interface PostOptions {
  resolver: Pick<Resolver, 'a' | 'aaaa'>;
  /** Trust anchors: the system roots plus outbound_tls.ca_file. */
  ca: (string | Buffer)[];
  timeoutMs: number;
}

export type PostResult = { ok: true; status: number } | { ok: false; reason: string };

export async function postReport(url: string, body: Buffer, options: PostOptions): Promise<PostResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, reason: `not a URL: ${url}` };
  }
  if (target.protocol !== 'https:') return { ok: false, reason: `not an https: URL: ${url}` };
  const host = target.hostname.replace(/^\[|\]$/g, '');
  let ip: string | undefined = isIP(host) ? host : undefined;
  if (!ip) {
    try {
      ip = (await options.resolver.a(host).catch(() => [] as string[]))[0] ?? (await options.resolver.aaaa(host))[0];
    } catch (err) {
      return { ok: false, reason: `${host}: ${(err as Error).message}` };
    }
  }
  if (!ip) return { ok: false, reason: `${host} has no address` };
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: PostResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request({
      host: ip,
      port: target.port ? Number(target.port) : 443,
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      servername: isIP(host) ? undefined : host,
      // RFC 8460 §5.4: the gzip report is posted as application/tlsrpt+gzip.
      headers: { Host: target.host, 'Content-Type': 'application/tlsrpt+gzip', 'Content-Length': String(body.length) },
      ca: options.ca,
      rejectUnauthorized: true,
      agent: false,
    }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      // RFC 8460 §5.4: a 2xx answer means the report was received; anything else (redirects too) is a failure.
      done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, reason: `HTTP ${status} from ${url}` });
    });
    const timer = setTimeout(() => done({ ok: false, reason: `no answer from ${url} within ${options.timeoutMs} ms` }), options.timeoutMs);
    req.on('error', (err) => done({ ok: false, reason: `${url}: ${err.message}` }));
    req.end(body);
  });
}
