/** Property checks shared by fuzz targets: IMAP response syntax, MIME offsets, time bounds. */
import assert from 'node:assert/strict';
import type { MimePart } from '../../../src/message/mime-tree.ts';

/**
 * RFC 9051 §4: parentheses must balance outside quoted strings and literals. `{n}\r\n` is followed by
 * n octets (of the UTF-8 encoding) that are skipped; inside quotes, `\` escapes the next character.
 */
export function assertBalancedImap(text: string, what: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let depth = 0;
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c === 0x22) {
      i++;
      while (i < bytes.length && bytes[i] !== 0x22) {
        assert.ok(bytes[i] !== 0x0d && bytes[i] !== 0x0a, `${what}: CR or LF inside a quoted string at ${i}`);
        i += bytes[i] === 0x5c ? 2 : 1;
      }
      assert.ok(i < bytes.length, `${what}: unterminated quoted string`);
      i++;
    } else if (c === 0x7b) {
      const m = /^\{(\d+)\}\r\n/.exec(bytes.subarray(i, i + 24).toString('latin1'));
      assert.ok(m !== null, `${what}: "{" that is not a literal at ${i}`);
      i += m[0].length + Number(m[1]);
      assert.ok(i <= bytes.length, `${what}: literal runs past the end`);
    } else {
      assert.ok(c !== 0x0d && c !== 0x0a, `${what}: CR or LF outside a literal at ${i}`);
      if (c === 0x28) depth++;
      else if (c === 0x29) {
        depth--;
        assert.ok(depth >= 0, `${what}: ")" without "(" at ${i}`);
      }
      i++;
    }
  }
  assert.equal(depth, 0, `${what}: unbalanced parentheses`);
}

/** headerStart ≤ headerEnd ≤ bodyStart ≤ bodyEnd ≤ length, children inside their parent's body. */
export function assertPartOffsets(part: MimePart, length: number, path = 'root', within: [number, number] = [0, length]): number {
  const { headerStart, headerEnd, bodyStart, bodyEnd } = part;
  for (const [name, v] of Object.entries({ headerStart, headerEnd, bodyStart, bodyEnd })) {
    assert.ok(Number.isInteger(v), `${path}.${name} is not an integer: ${v}`);
  }
  assert.ok(
    within[0] <= headerStart && headerStart <= headerEnd && headerEnd <= bodyStart && bodyStart <= bodyEnd && bodyEnd <= within[1],
    `${path}: offsets out of order or outside [${within[0]}, ${within[1]}]: ${headerStart} ${headerEnd} ${bodyStart} ${bodyEnd}`,
  );
  assert.ok(part.lines >= 0 && part.lines <= bodyEnd - bodyStart, `${path}: ${part.lines} lines in ${bodyEnd - bodyStart} octets`);
  let count = 1;
  let previousEnd = bodyStart;
  part.children.forEach((child, i) => {
    assert.ok(child.headerStart >= previousEnd, `${path}.${i + 1}: overlaps the previous part`);
    count += assertPartOffsets(child, length, `${path}.${i + 1}`, [bodyStart, bodyEnd]);
    previousEnd = child.bodyEnd;
  });
  if (part.message) count += assertPartOffsets(part.message, length, `${path}.message`, [bodyStart, bodyEnd]);
  return count;
}

/** Runs `fn` and fails when it takes longer than `limitMs` (a linear-time promise for parsers). */
/**
 * Limits are multiplied by this factor (env FUZZ_TIME_SCALE, default 5) so a loaded CI machine does not fail
 * a linear parser; the quadratic or exponential shapes these checks catch cost 100x and more at these sizes.
 */
const TIME_SCALE = Number(process.env.FUZZ_TIME_SCALE ?? 5);

export function withinTime<T>(limitMs: number, what: string, fn: () => T): T {
  limitMs *= TIME_SCALE;
  const t0 = performance.now();
  const result = fn();
  const elapsed = performance.now() - t0;
  assert.ok(elapsed <= limitMs, `${what} took ${elapsed.toFixed(1)} ms (limit ${limitMs} ms)`);
  return result;
}
