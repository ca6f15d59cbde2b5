/**
 * JSON Pointer evaluation (RFC 6901) with JMAP's `*` extension for mapping through arrays (RFC 8620 §3.7),
 * used to resolve result references. Evaluation returns a tagged result and never throws.
 */

export type PointerResult = { ok: true; value: unknown } | { ok: false; reason: string };

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** RFC 6901 §3, §4: the pointer is "" or a sequence of "/"-prefixed tokens; "~1" decodes to "/" before "~0" to "~". */
export function parsePointer(pointer: string): string[] | null {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  const tokens = pointer.slice(1).split('/');
  for (const token of tokens) if (/~(?![01])/.test(token)) return null; // RFC 6901 §3: "~" only as "~0" or "~1"
  return tokens.map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function evaluatePointer(document: unknown, pointer: string): PointerResult {
  const tokens = parsePointer(pointer);
  if (tokens === null) return { ok: false, reason: `not a JSON pointer: ${JSON.stringify(pointer)}` };
  return evaluateTokens(document, tokens, 0);
}

function evaluateTokens(value: unknown, tokens: string[], from: number): PointerResult {
  let current = value;
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (Array.isArray(current)) {
      if (token === '*') {
        // RFC 8620 §3.7: "*" applies the rest of the pointer to every item, in order; an item whose result is
        // itself an array contributes its items (the output is flattened one level).
        const out: unknown[] = [];
        for (const item of current) {
          const sub = evaluateTokens(item, tokens, i + 1);
          if (!sub.ok) return sub;
          if (Array.isArray(sub.value)) out.push(...sub.value);
          else out.push(sub.value);
        }
        return { ok: true, value: out };
      }
      // RFC 6901 §4: an array index is decimal digits without leading zeros; "-" names a nonexistent element.
      if (!ARRAY_INDEX.test(token)) return { ok: false, reason: `"${token}" is not an array index` };
      const index = Number(token);
      if (index >= current.length) return { ok: false, reason: `index ${token} is past the end of the array` };
      current = current[index];
      continue;
    }
    if (current !== null && typeof current === 'object') {
      if (!Object.prototype.hasOwnProperty.call(current, token)) return { ok: false, reason: `no member "${token}"` };
      current = (current as Record<string, unknown>)[token];
      continue;
    }
    return { ok: false, reason: `cannot descend into a ${current === null ? 'null' : typeof current} with "${token}"` };
  }
  return { ok: true, value: current };
}
