/**
 * Formatted IMAP ENVELOPEs shared by every session of the process, so a client that fetches the
 * envelopes of the same messages again (another device, a reconnect without a local cache) is answered
 * without reading and parsing the headers. Keys name a message that never changes (mailbox id,
 * UIDVALIDITY, UID). Bounded: least recently used entries go first past `maxBytes`.
 */
import type { ImapEnvelopeCache } from '../protocols/imap/backend.ts';

/** An entry's estimated memory: two bytes per UTF-16 unit of key and value, plus the Map slot. */
const cost = (key: string, envelope: string): number => (key.length + envelope.length) * 2 + 64;

export class EnvelopeCache implements ImapEnvelopeCache {
  /** In least-recently-used order (a Map iterates in insertion order). */
  private readonly entries = new Map<string, string>();
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(options: { maxBytes?: number } = {}) {
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): string | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, envelope: string): void {
    const bytes = cost(key, envelope);
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.bytes -= cost(key, old);
    }
    this.entries.set(key, envelope);
    this.bytes += bytes;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= cost(k, v);
    }
  }
}
