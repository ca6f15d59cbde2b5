// Parsing of MIME structured header values with parameters: Content-Type and
// Content-Disposition (RFC 2045 §5.1, RFC 2183), including RFC 2231 continuations and charsets.
import { decodeCharset } from './charset.ts';
import { decodeHeaderValue } from './encoded-words.ts';

export interface ParameterizedValue {
  value: string; // the main token, lower-cased, comments and whitespace removed
  /** Decoded parameters: names lower-cased, RFC 2231 values joined and charset-decoded,
   *  RFC 2047 encoded words decoded in name/filename (non-standard but common practice). */
  params: Record<string, string>;
  /** Parameters as IMAP BODYSTRUCTURE sends them, Dovecot style: RFC 2231 continuations are
   *  joined; an extended value keeps its "*" name and its charset'language'%XX form. */
  wireParams: [string, string][];
}

const MAX_SECTIONS = 1000;
/** Parameters read from one field by default (limits.mime_parameters): a field with a million of them
 * would otherwise cost seconds and gigabytes in every BODYSTRUCTURE built from it. */
export const DEFAULT_MAX_PARAMETERS = 128;
const MAX_COMMENT_DEPTH = 64;

interface RawParam {
  name: string; // lower-cased, without section/extended markers
  section: number; // -1 when not sectioned
  extended: boolean;
  value: string;
}

export function parseParameterizedValue(input: string, maxParameters = DEFAULT_MAX_PARAMETERS): ParameterizedValue {
  let i = 0;
  const len = input.length;
  const mainParts: string[] = [];
  // Main value: everything up to the first ";" outside quotes and comments.
  while (i < len) {
    const c = input.charCodeAt(i);
    if (c === 0x3b /* ; */) break;
    if (c === 0x28 /* ( */) { i = skipComment(input, i); continue; }
    if (c === 0x22 /* " */) {
      const q = readQuoted(input, i);
      mainParts.push(q.value);
      i = q.end;
      continue;
    }
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) mainParts.push(input[i]!);
    i++;
  }
  const main = mainParts.join('').toLowerCase();
  const raw: RawParam[] = [];
  // Parameters past the limit are ignored (not scanned): RFC 2231 sections count one each.
  while (i < len && raw.length < maxParameters) {
    // At a ";" (or junk): move past it.
    i++;
    i = skipCfws(input, i);
    const nameStart = i;
    while (i < len) {
      const c = input.charCodeAt(i);
      if (c === 0x3d || c === 0x3b || c === 0x20 || c === 0x09 || c === 0x28 || c === 0x22) break;
      i++;
    }
    const attribute = input.slice(nameStart, i).toLowerCase();
    i = skipCfws(input, i);
    if (attribute.length === 0 || i >= len || input.charCodeAt(i) !== 0x3d) {
      i = skipToSemicolon(input, i);
      continue;
    }
    i = skipCfws(input, i + 1);
    let value: string;
    if (i < len && input.charCodeAt(i) === 0x22) {
      const q = readQuoted(input, i);
      value = q.value;
      i = skipToSemicolon(input, q.end);
    } else {
      // Lenient token: up to ";" or a comment, trimmed, so "name=my file.txt" survives and
      // RFC 2045's "charset=us-ascii (Plain text)" gives "us-ascii".
      const start = i;
      while (i < len) {
        const c = input.charCodeAt(i);
        if (c === 0x3b || c === 0x28) break;
        i++;
      }
      value = input.slice(start, i).trim();
      i = skipToSemicolon(input, i);
    }
    raw.push(splitAttribute(attribute, value));
  }
  return combine(main, raw);
}

function splitAttribute(attribute: string, value: string): RawParam {
  let name = attribute;
  let extended = false;
  let section = -1;
  // RFC 2231 §3, §4: name*N*=, name*N=, name*=
  if (name.endsWith('*')) {
    extended = true;
    name = name.slice(0, -1);
  }
  const star = name.lastIndexOf('*');
  if (star > 0) {
    const digits = name.slice(star + 1);
    if (digits.length > 0 && digits.length <= 3 && /^[0-9]+$/.test(digits)) {
      section = Number(digits);
      name = name.slice(0, star);
    }
  }
  return { name, section, extended, value };
}

function combine(main: string, raw: RawParam[]): ParameterizedValue {
  const params: Record<string, string> = {};
  const wireParams: [string, string][] = [];
  const groups = new Map<string, RawParam[]>();
  const order: string[] = [];
  for (const p of raw) {
    // Plain and RFC 2231 forms of one name are kept apart, as Dovecot sends both.
    const key = (p.extended || p.section >= 0 ? '*' : '=') + p.name;
    let g = groups.get(key);
    if (g === undefined) {
      g = [];
      groups.set(key, g);
      order.push(key);
    }
    if (g.length < MAX_SECTIONS) g.push(p);
  }
  const decoded2231 = new Set<string>();
  for (const key of order) {
    const group = groups.get(key)!;
    const name = group[0]!.name;
    if (key.startsWith('=')) {
      // Duplicate plain parameters: the first one wins.
      const value = group[0]!.value;
      wireParams.push([name, value]);
      if (!decoded2231.has(name) && !(name in params)) {
        params[name] = name === 'name' || name === 'filename' ? decodeHeaderValue(value) : value;
      }
      continue;
    }
    // RFC 2231 §3: sections are joined in numeric order.
    const sections = [...group].sort((a, b) => a.section - b.section);
    const anyExtended = sections.some((s) => s.extended);
    let charset: string | null = null;
    const bytes: Buffer[] = [];
    const wire: string[] = [];
    sections.forEach((s, idx) => {
      let v = s.value;
      if (s.extended && idx === 0) {
        // RFC 2231 §4: charset'language'value in the first extended section.
        const q1 = v.indexOf("'");
        const q2 = q1 >= 0 ? v.indexOf("'", q1 + 1) : -1;
        if (q2 >= 0) {
          charset = v.slice(0, q1) || null;
          wire.push(v);
          v = v.slice(q2 + 1);
        } else {
          wire.push(anyExtended ? "''" + v : v);
        }
      } else if (s.extended) {
        wire.push(v);
      } else {
        wire.push(anyExtended ? percentEncode(v, idx === 0) : v);
      }
      bytes.push(s.extended ? percentDecode(v) : Buffer.from(v, 'utf8'));
    });
    const wireName = anyExtended ? name + '*' : name;
    wireParams.push([wireName, wire.join('')]);
    params[name] = anyExtended ? decodeCharset(Buffer.concat(bytes), charset ?? 'us-ascii') : Buffer.concat(bytes).toString('utf8');
    decoded2231.add(name);
  }
  return { value: main, params, wireParams };
}

function percentDecode(v: string): Buffer {
  const out = Buffer.allocUnsafe(v.length * 3);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x25 && i + 2 < v.length && /^[0-9a-fA-F]{2}$/.test(v.slice(i + 1, i + 3))) {
      out[n++] = parseInt(v.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (c < 0x80) {
      out[n++] = c;
    } else {
      n += out.write(v[i]!, n, 'utf8');
    }
  }
  return out.subarray(0, n);
}

// A plain section inside an extended parameter is re-encoded so the joined wire value stays one
// valid RFC 2231 extended value (Dovecot's rfc2231_parse does the same).
function percentEncode(v: string, first: boolean): string {
  let out = first ? "''" : '';
  for (const b of Buffer.from(v, 'utf8')) {
    const ch = String.fromCharCode(b);
    out += b > 0x20 && b < 0x7f && !"*'%()<>@,;:\\\"/[]?=".includes(ch) ? ch : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function readQuoted(s: string, open: number): { value: string; end: number } {
  const out: string[] = [];
  let i = open + 1;
  let chunkStart = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x5c /* \ */ && i + 1 < s.length) {
      out.push(s.slice(chunkStart, i), s[i + 1]!);
      i += 2;
      chunkStart = i;
      continue;
    }
    if (c === 0x22) {
      out.push(s.slice(chunkStart, i));
      return { value: out.join(''), end: i + 1 };
    }
    i++;
  }
  // Unterminated quoted string: take the rest (lenient).
  out.push(s.slice(chunkStart));
  return { value: out.join(''), end: s.length };
}

/** Index after a (possibly nested) comment starting at `open`; nesting is bounded. */
export function skipComment(s: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) { i += 2; continue; }
    if (c === 0x28) depth = Math.min(depth + 1, MAX_COMMENT_DEPTH);
    else if (c === 0x29) {
      depth--;
      if (depth <= 0) return i + 1;
    }
    i++;
  }
  return s.length;
}

function skipCfws(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) i++;
    else if (c === 0x28) i = skipComment(s, i);
    else break;
  }
  return i;
}

function skipToSemicolon(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) !== 0x3b) {
    if (s.charCodeAt(i) === 0x22) i = readQuoted(s, i).end;
    else i++;
  }
  return i;
}
