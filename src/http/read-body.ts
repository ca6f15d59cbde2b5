/**
 * Reads a request body under a byte limit: refused from Content-Length before anything is read, and cut
 * off while reading when a chunked body grows past it, so an oversized request never fills memory.
 */
import type { Context } from 'hono';
import type { HttpEnv } from './context.ts';

export type BodyOutcome = { ok: true; bytes: Uint8Array } | { ok: false; reason: 'too-large' | 'aborted' };

/** The declared length, or null when the client sends the body chunked. */
export function declaredLength(c: Context<HttpEnv>): number | null {
  const text = c.req.header('Content-Length');
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Number(text);
}

export async function readBody(c: Context<HttpEnv>, maxBytes: number): Promise<BodyOutcome> {
  const length = declaredLength(c);
  if (length !== null && length > maxBytes) return { ok: false, reason: 'too-large' };
  const stream = c.req.raw.body;
  if (stream === null) return { ok: true, bytes: new Uint8Array(0) };
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { ok: false, reason: 'too-large' };
      }
      parts.push(value);
    }
  } catch {
    return { ok: false, reason: 'aborted' };
  }
  return { ok: true, bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, total) };
}

/** The body as a stream of chunks under `maxBytes` (uploads): throws BodyTooLarge past it. */
export async function* streamBody(c: Context<HttpEnv>, maxBytes: number): AsyncGenerator<Buffer> {
  const stream = c.req.raw.body;
  if (stream === null) return;
  let total = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > maxBytes) throw new BodyTooLarge();
      yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export class BodyTooLarge extends Error {
  constructor() {
    super('request body too large');
    this.name = 'BodyTooLarge';
  }
}
