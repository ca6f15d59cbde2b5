/**
 * The messages between the main thread and a message-check worker: tasks and their results, and the DNS
 * questions a task asks back. Buffers cross as Uint8Arrays and are turned back into Buffers on arrival.
 */
export type CheckKind = 'authenticate' | 'sign' | 'seal';

export type ToWorker =
  | { type: 'task'; id: number; kind: CheckKind; input: unknown }
  | { type: 'dns-reply'; q: number; ok: true; value: unknown }
  | { type: 'dns-reply'; q: number; ok: false; error: string; code: string | undefined };

export type FromWorker =
  | { type: 'dns'; task: number; q: number; name: string; rrtype: string }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: string };

/** Structured cloning turns Buffers into plain Uint8Arrays: make them Buffers again (in place, recursively). */
export function reviveBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(reviveBuffers);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out = value as Record<string, unknown>;
    for (const key of Object.keys(out)) out[key] = reviveBuffers(out[key]);
    return out;
  }
  return value;
}
