/**
 * One push to a JMAP push subscription's URL: an HTTPS POST of JSON (RFC 8620 §7.2), with the TTL header
 * push services require (RFC 8030 §5.2), encrypted by RFC 8291 (aes128gcm, through web-push) when the
 * subscription gave keys. Returns the HTTP status, or throws on a network or TLS error or a timeout.
 */
import { request } from 'node:https';
import webpush from 'web-push';
import { guardedLookup } from './push-url.ts';

export interface PushPostOptions {
  url: string;
  keys: { p256dh: string; auth: string } | null;
  body: unknown;
  /** RFC 8030 §5.2: seconds the push service may keep the message. */
  ttl: number;
  /** Internal networks that may be posted to anyway. */
  allowed: readonly string[];
  /** Trust anchors (the system's, plus `outbound_tls.ca_file`). */
  ca: string[];
  timeoutMs: number;
}

export interface PushPostResult {
  status: number;
  /** Retry-After in ms (RFC 9110 §10.2.3), when the answer had one. */
  retryAfterMs: number | null;
}

export function pushPost(options: PushPostOptions): Promise<PushPostResult> {
  const json = Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string | number> = { TTL: options.ttl };
  let payload: Buffer;
  if (options.keys) {
    // RFC 8291 §4: the aes128gcm body carries its salt and the sender's public key in its header.
    payload = webpush.encrypt(options.keys.p256dh, options.keys.auth, json, 'aes128gcm').cipherText;
    headers['Content-Encoding'] = 'aes128gcm';
    headers['Content-Type'] = 'application/octet-stream';
  } else {
    payload = json;
    headers['Content-Type'] = 'application/json';
  }
  headers['Content-Length'] = payload.length;
  return new Promise((resolve, reject) => {
    const req = request(options.url, { method: 'POST', headers, ca: options.ca, lookup: guardedLookup(options.allowed) as never, timeout: options.timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => {
        const after = res.headers['retry-after'];
        const seconds = after === undefined ? NaN : Number(after);
        resolve({ status: res.statusCode ?? 0, retryAfterMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('push timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}
