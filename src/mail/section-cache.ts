/**
 * The header sections IMAP clients fetch to fill a message list, shared by every session of the process:
 * blocks of a few hundred UIDs per entry (the engine's ImapSectionBlock), so a FETCH 1:* of a big mailbox
 * costs one lookup per block instead of a string key and an LRU move per message. Bounded: least recently
 * used blocks go first past `maxBytes` (core/byte-lru.ts).
 */
import { ByteLru } from '../core/byte-lru.ts';
import type { ImapSectionBlock, ImapSectionCache } from '../protocols/imap/backend.ts';

/** A block's own memory besides its literals: the entry, its key and the slots of its array. */
const blockCost = (key: string, block: ImapSectionBlock): number => block.bytes + key.length + block.literals.length * 8 + 128;

export class SectionCache implements ImapSectionCache {
  private readonly blocks: ByteLru<string, ImapSectionBlock>;

  constructor(options: { maxBytes?: number } = {}) {
    this.blocks = new ByteLru(options.maxBytes ?? 32 * 1024 * 1024);
  }

  /** Blocks held. */
  get size(): number {
    return this.blocks.size;
  }

  /** Literals held, over every block. */
  get sections(): number {
    let n = 0;
    for (const block of this.blocks.values()) for (const l of block.literals) if (l !== undefined) n++;
    return n;
  }

  get(key: string): ImapSectionBlock | undefined {
    return this.blocks.get(key);
  }

  set(key: string, block: ImapSectionBlock): void {
    this.blocks.set(key, block, blockCost(key, block));
  }
}
