/**
 * One TLS-RPT report POSTed to an `https:` rua (RFC 8460 §5.4): the gzip JSON with Content-Type
 * application/tlsrpt+gzip, the server's certificate verified for the URL's host, no redirects, a time limit.
 */
import type { Resolver } from '../dns/resolver.ts';
import { httpsToHost } from '../transport/https-to-host.ts';

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
  return httpsToHost<PostResult>({
    host: target.hostname.replace(/^\[|\]$/g, ''),
    resolver: options.resolver,
    port: target.port ? Number(target.port) : 443,
    path: `${target.pathname}${target.search}`,
    method: 'POST',
    // RFC 8460 §5.4: the gzip report is posted as application/tlsrpt+gzip.
    headers: { Host: target.host, 'Content-Type': 'application/tlsrpt+gzip', 'Content-Length': String(body.length) },
    body,
    ca: options.ca,
    timeoutMs: options.timeoutMs,
    onResponse: (res, done) => {
      res.resume();
      const status = res.statusCode ?? 0;
      // RFC 8460 §5.4: a 2xx answer means the report was received; anything else (redirects too) is a failure.
      done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, reason: `HTTP ${status} from ${url}` });
    },
    onNoAddress: (reason) => ({ ok: false, reason }),
    onError: (err) => ({ ok: false, reason: `${url}: ${err.message}` }),
    onTimeout: () => ({ ok: false, reason: `no answer from ${url} within ${options.timeoutMs} ms` }),
  });
}
