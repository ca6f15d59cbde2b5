/**
 * The header sections IMAP clients fetch to fill a message list, shared by every session of the process:
 * blocks of a few hundred UIDs per entry (the engine's ImapSectionBlock), so a FETCH 1:* of a big mailbox
 * costs one lookup per block instead of a string key and an LRU move per message. Bounded: least recently
 * used blocks go first past `maxBytes`.
 */
import type { ImapSectionBlock, ImapSectionCache } from '../protocols/imap/backend.ts';

/** A block's own memory besides its literals: the entry, its key and the slots of its array. */
const blockCost = (key: string, block: ImapSectionBlock): number => block.bytes + key.length + block.literals.length * 8 + 128;

export class SectionCache implements ImapSectionCache {
  /** In least-recently-used order (a Map iterates in insertion order), with the cost each was counted at. */
  private readonly entries = new Map<string, { block: ImapSectionBlock; cost: number }>();
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(options: { maxBytes?: number } = {}) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  }

  /** Blocks held. */
  get size(): number {
    return this.entries.size;
  }

  /** Literals held, over every block. */
  get sections(): number {
    let n = 0;
    for (const { block } of this.entries.values()) for (const l of block.literals) if (l !== undefined) n++;
    return n;
  }

  get(key: string): ImapSectionBlock | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.block;
  }

  set(key: string, block: ImapSectionBlock): void {
    const cost = blockCost(key, block);
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.bytes -= old.cost;
    }
    if (cost > this.maxBytes) return;
    this.entries.set(key, { block, cost });
    this.bytes += cost;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.cost;
    }
  }
}
