/**
 * Fetches an MTA-STS policy over HTTPS the way RFC 8461 §3.3 asks: GET of the well-known URL on
 * mta-sts.<domain>, a certificate valid for that name, no redirects, 200 with text/plain, at most 64 KB.
 */
import type { Resolver } from '../dns/resolver.ts';
import { httpsToHost } from '../transport/https-to-host.ts';
import type { TlsCheckOptions } from './tls-check.ts';

/** RFC 8461 §3.3: "senders SHOULD impose a limit of 64 KB on the policy body". */
export const MAX_POLICY_BYTES = 64 * 1024;

export interface FetchPolicyOptions {
  resolver: Resolver;
  timeoutMs: number;
  /** Port of the policy host (443; tests point it at their own HTTPS server). */
  port: number;
  trust: TlsCheckOptions;
}

export type FetchResult =
  | { ok: true; text: string }
  /** `webpki`: the certificate was not valid for mta-sts.<domain> (TLS-RPT sts-webpki-invalid). */
  | { ok: false; reason: string; webpki: boolean };

export async function fetchStsPolicy(domain: string, options: FetchPolicyOptions): Promise<FetchResult> {
  const host = `mta-sts.${domain}`;
  return httpsToHost<FetchResult>({
    host,
    resolver: options.resolver,
    port: options.port,
    path: '/.well-known/mta-sts.txt',
    method: 'GET',
    // RFC 8461 §3.3: the certificate must be valid for the policy host (WebPKI, RFC 6125).
    headers: { Host: host, Accept: 'text/plain' },
    ca: options.trust.ca,
    timeoutMs: options.timeoutMs,
    onResponse: (res, done) => {
      // RFC 8461 §3.3: "HTTP 3xx redirects MUST NOT be followed"; only 200 is a policy.
      if (res.statusCode !== 200) return done({ ok: false, reason: `HTTP ${res.statusCode} from https://${host}/.well-known/mta-sts.txt`, webpki: false });
      const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      // RFC 8461 §3.2: the policy is served as text/plain.
      if (type !== 'text/plain') return done({ ok: false, reason: `Content-Type ${JSON.stringify(type)} instead of text/plain`, webpki: false });
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_POLICY_BYTES) return done({ ok: false, reason: `policy larger than ${MAX_POLICY_BYTES} bytes`, webpki: false });
        chunks.push(chunk);
      });
      res.on('end', () => done({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => done({ ok: false, reason: err.message, webpki: false }));
    },
    onNoAddress: (reason) => ({ ok: false, reason, webpki: false }),
    onError: (err) => {
      const webpki = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP/i.test(`${err.code ?? ''} ${err.message}`);
      return { ok: false, reason: `https://${host}: ${err.message}`, webpki };
    },
    onTimeout: () => ({ ok: false, reason: `no policy from ${host} within ${options.timeoutMs} ms`, webpki: false }),
  });
}
