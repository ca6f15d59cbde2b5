/**
 * Formatted IMAP ENVELOPEs shared by every session of the process, so a client that fetches the
 * envelopes of the same messages again (another device, a reconnect without a local cache) is answered
 * without reading and parsing the headers. Keys name a message that never changes (mailbox id,
 * UIDVALIDITY, UID). Bounded: least recently used entries go first past `maxBytes` (core/byte-lru.ts).
 */
import { ByteLru } from '../core/byte-lru.ts';
import type { ImapEnvelopeCache } from '../protocols/imap/backend.ts';

/** An entry's estimated memory: two bytes per UTF-16 unit of key and value, plus the Map slot. */
const cost = (key: string, envelope: string): number => (key.length + envelope.length) * 2 + 64;

export class EnvelopeCache implements ImapEnvelopeCache {
  private readonly entries: ByteLru<string, string>;

  constructor(options: { maxBytes?: number } = {}) {
    this.entries = new ByteLru(options.maxBytes ?? 16 * 1024 * 1024);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  set(key: string, envelope: string): void {
    this.entries.set(key, envelope, cost(key, envelope));
  }
}
