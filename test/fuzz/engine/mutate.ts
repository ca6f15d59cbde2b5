/**
 * Byte-level mutations for the coverage-guided fuzzer: bit flips, interesting bytes, insert, delete,
 * duplicate, splice with another corpus entry, and protocol dictionary tokens. Output length is bounded.
 */
import type { Random } from './random.ts';

const INTERESTING = [0x00, 0x0a, 0x0d, 0x20, 0x22, 0x28, 0x29, 0x2e, 0x3a, 0x3b, 0x3c, 0x3e, 0x40, 0x5c, 0x7b, 0x7d, 0x7f, 0x80, 0xc3, 0xff];

export interface MutateOptions {
  dictionary: readonly Buffer[];
  /** Another corpus entry, for splicing. */
  other: Buffer;
  maxLength: number;
}

function insert(data: Buffer, at: number, piece: Buffer): Buffer {
  return Buffer.concat([data.subarray(0, at), piece, data.subarray(at)]);
}

export function mutate(input: Buffer, random: Random, options: MutateOptions): Buffer {
  let data: Buffer = Buffer.from(input);
  const rounds = 1 + random.below(4);
  for (let r = 0; r < rounds; r++) {
    const at = random.below(data.length + 1);
    switch (random.below(9)) {
      case 0: // flip one bit
        if (data.length > 0) data[random.below(data.length)]! ^= 1 << random.below(8);
        break;
      case 1: // set an interesting byte
        if (data.length > 0) data[random.below(data.length)] = random.pick(INTERESTING);
        break;
      case 2: // insert random bytes
        data = insert(data, at, Buffer.from(Array.from({ length: 1 + random.below(8) }, () => random.below(256))));
        break;
      case 3: { // delete a range
        const len = 1 + random.below(Math.max(1, Math.min(32, data.length - at)));
        data = Buffer.concat([data.subarray(0, at), data.subarray(at + len)]);
        break;
      }
      case 4: { // duplicate a range (grows repetitive shapes: nesting, many parts)
        const start = random.below(data.length + 1);
        const piece = data.subarray(start, start + 1 + random.below(64));
        const times = 1 + random.below(random.below(4) === 0 ? 200 : 4);
        data = insert(data, at, Buffer.concat(Array.from({ length: times }, () => piece)));
        break;
      }
      case 5: { // splice: our head + the other entry's tail
        const cut = random.below(options.other.length + 1);
        data = Buffer.concat([data.subarray(0, at), options.other.subarray(cut)]);
        break;
      }
      default: // dictionary token (insert or overwrite)
        if (options.dictionary.length > 0) {
          const token = random.pick(options.dictionary);
          if (random.below(2) === 0) data = insert(data, at, token);
          else data = Buffer.concat([data.subarray(0, at), token, data.subarray(at + token.length)]);
        }
    }
  }
  return data.length > options.maxLength ? data.subarray(0, options.maxLength) : data;
}
