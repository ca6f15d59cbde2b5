/**
 * Blob upload and download over HTTP (RFC 8620 §6.1, §6.2): an upload is streamed into the account named
 * in the URL and durable before 201 is answered; a download streams a blob found only inside the account
 * named, so a blob id from another account is 404 like one that never existed.
 */
import type { Hono } from 'hono';
import type { JmapLimits } from '../protocols/jmap/capabilities.ts';
import type { HttpEnv, HttpUser } from './context.ts';
import { problemResponse } from './problem.ts';
import { BodyTooLarge, declaredLength, streamBody } from './read-body.ts';

export interface HttpBlob {
  size: number;
  type: string | null;
  stream(): AsyncIterable<Buffer>;
}

export interface HttpBlobService {
  /** The store account behind a JMAP account id the user may use, or null. */
  accountFor(user: HttpUser, accountId: string): Promise<number | null>;
  /** Stores the body as it arrives; nothing is kept when the body throws. */
  storeUpload(accountId: number, type: string, body: AsyncIterable<Buffer>): Promise<{ blobId: string; type: string; size: number }>;
  readBlob(accountId: number, blobId: string): Promise<HttpBlob | null>;
}

/** Uploads run at most this many at once per user (maxConcurrentUpload). */
function uploadLimiter(max: number): (username: string) => (() => void) | null {
  const running = new Map<string, number>();
  return (username) => {
    const n = running.get(username) ?? 0;
    if (n >= max) return null;
    running.set(username, n + 1);
    return () => {
      const left = (running.get(username) ?? 1) - 1;
      if (left <= 0) running.delete(username);
      else running.set(username, left);
    };
  };
}

/** RFC 6266 §4.3: the file name for Content-Disposition, as ASCII fallback and RFC 8187 UTF-8. */
function disposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** A media type as RFC 8620 §6.2 lets the client ask for it, or octet-stream when it is not one. */
function mediaType(text: string | undefined): string {
  return text !== undefined && /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\r\n]*"|[A-Za-z0-9!#$&^_.+-]+))*$/.test(text) ? text : 'application/octet-stream';
}

/** The request body stream failed because the client went away (reset, or closed before the end). */
function isClientAbort(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err instanceof Error && /aborted|terminated/i.test(err.message));
}

export function mountBlobRoutes(app: Hono<HttpEnv>, options: { blobs: HttpBlobService; limits: Readonly<JmapLimits> }): void {
  const { blobs, limits } = options;
  const admitUpload = uploadLimiter(limits.maxConcurrentUpload);

  app.post('/jmap/upload/:accountId/', async (c) => {
    const user = c.var.user as HttpUser;
    const accountId = await blobs.accountFor(user, c.req.param('accountId'));
    if (accountId === null) {
      c.var.log.reason = 'accountNotFound';
      return problemResponse(c, 404, 'No such account.');
    }
    const release = admitUpload(user.username);
    if (release === null) {
      c.var.log.reason = 'maxConcurrentUpload';
      return problemResponse(c, 429, `At most ${limits.maxConcurrentUpload} uploads at once.`, {}, { type: 'urn:ietf:params:jmap:error:limit', limit: 'maxConcurrentUpload' });
    }
    const tooLarge = () => {
      c.var.log.reason = 'maxSizeUpload';
      // RFC 8620 §6.1 / §3.6.1: a limit problem naming the limit.
      return problemResponse(c, 413, `The upload is larger than ${limits.maxSizeUpload} octets.`, {}, { type: 'urn:ietf:params:jmap:error:limit', limit: 'maxSizeUpload' });
    };
    try {
      // RFC 8620 §2 maxSizeUpload: refused from Content-Length before reading, or as soon as it is passed
      // while the body streams into storage (which then keeps nothing of it).
      const length = declaredLength(c);
      if (length !== null && length > limits.maxSizeUpload) return tooLarge();
      const type = mediaType(c.req.header('Content-Type'));
      let stored: { blobId: string; type: string; size: number };
      try {
        // Durable before the answer: the blob id may be used in the next request.
        stored = await blobs.storeUpload(accountId, type, streamBody(c, limits.maxSizeUpload));
      } catch (err) {
        if (err instanceof BodyTooLarge) return tooLarge();
        if (c.req.raw.signal.aborted || isClientAbort(err)) {
          c.var.log.reason = 'aborted';
          return c.body(null, 400);
        }
        throw err;
      }
      c.var.log.size = stored.size;
      // RFC 8620 §6.1: accountId, blobId, type, size.
      return c.json({ accountId: c.req.param('accountId'), blobId: stored.blobId, type: stored.type, size: stored.size }, 201, { 'Cache-Control': 'no-store' });
    } finally {
      release();
    }
  });

  app.get('/jmap/download/:accountId/:blobId/:name', async (c) => {
    const user = c.var.user as HttpUser;
    const accountId = await blobs.accountFor(user, c.req.param('accountId'));
    const blob = accountId === null ? null : await blobs.readBlob(accountId, c.req.param('blobId'));
    if (blob === null) {
      c.var.log.reason = accountId === null ? 'accountNotFound' : 'blobNotFound';
      return problemResponse(c, 404, 'No such blob in this account.');
    }
    c.var.log.size = blob.size;
    // One chunk read per chunk the client takes (pull, not a loop in start), so a slow reader of a big blob
    // never has the whole of it queued in memory.
    const chunks = blob.stream()[Symbol.asyncIterator]();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await chunks.return?.(undefined);
      },
    }, { highWaterMark: 0 });
    return c.body(stream, 200, {
      // RFC 8620 §6.2: the type and name the client asked for; shown as a download, never run as a page of ours.
      'Content-Type': mediaType(c.req.query('type')),
      'Content-Length': String(blob.size),
      'Content-Disposition': disposition(c.req.param('name')),
      'Content-Security-Policy': "default-src 'none'; sandbox",
      // A blob id always names the same bytes (RFC 8620 §6), so a client may keep them; only for this user.
      'Cache-Control': 'private, immutable, max-age=604800',
    });
  });
}
