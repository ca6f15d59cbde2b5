// RFC 5322 §3.4 address-list parser: display names, angle addresses, routes (obs-route),
// groups, comments, quoted strings. One linear tokenizing pass, bounded output, never throws:
// used by IMAP ENVELOPE, submission's From: check and the hostile-input harness.

/** An address with its display name: RFC 5322 §3.4 calls it a "mailbox", a word that names a folder here. */
export interface NamedAddress {
  kind: 'mailbox';
  /** Display name as written (quoted strings unquoted, RFC 2047 words NOT decoded); falls back
   *  to the last comment when there is no phrase, as Dovecot does. */
  name: string | null;
  /** obs-route ("@a,@b") or null. */
  route: string | null;
  localPart: string;
  /** Null when the address has no "@domain". */
  domain: string | null;
  /** localPart@domain, or localPart alone. */
  address: string;
}

export interface Group {
  kind: 'group';
  name: string;
  members: NamedAddress[];
}

export type AddressOrGroup = NamedAddress | Group;

export interface AddressParseOptions {
  maxAddresses?: number;
}

type Token =
  | { t: 'word'; text: string; quoted: boolean; space: boolean }
  | { t: 'special'; ch: string; space: boolean }
  | { t: 'comment'; text: string };

const MAX_COMMENT_DEPTH = 64;
const NO_SPACES = { spaces: false };
const SPECIALS = '<>@,;:.[]';

function tokenize(value: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let space = false;
  const len = value.length;
  while (i < len) {
    const c = value[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      space = true;
      i++;
    } else if (c === '(') {
      // RFC 5322 §3.2.2: comments nest; quoted-pairs escape.
      let depth = 0;
      const start = i;
      while (i < len) {
        const d = value[i]!;
        if (d === '\\') { i += 2; continue; }
        if (d === '(') depth = Math.min(depth + 1, MAX_COMMENT_DEPTH);
        else if (d === ')') { depth--; if (depth <= 0) { i++; break; } }
        i++;
      }
      const text = value.slice(start + 1, Math.min(i, len) - (value[Math.min(i, len) - 1] === ')' ? 1 : 0));
      tokens.push({ t: 'comment', text: unescape(text).trim() });
      space = true;
    } else if (c === '"') {
      const parts: string[] = [];
      i++;
      let chunk = i;
      while (i < len && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < len) {
          parts.push(value.slice(chunk, i), value[i + 1]!);
          i += 2;
          chunk = i;
        } else {
          i++;
        }
      }
      parts.push(value.slice(chunk, Math.min(i, len)));
      i++;
      // RFC 5322 §3.2.4: folding inside a quoted string is removed.
      tokens.push({ t: 'word', text: parts.join('').replace(/\r?\n/g, ''), quoted: true, space });
      space = false;
    } else if (c === '[') {
      // Domain literal: kept whole, brackets included.
      const end = value.indexOf(']', i);
      const stop = end < 0 ? len : end + 1;
      tokens.push({ t: 'word', text: value.slice(i, stop), quoted: false, space });
      i = stop;
      space = false;
    } else if (SPECIALS.includes(c)) {
      tokens.push({ t: 'special', ch: c, space });
      i++;
      space = false;
    } else {
      const start = i;
      while (i < len) {
        const d = value[i]!;
        if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === '(' || d === '"' || SPECIALS.includes(d)) break;
        i++;
      }
      tokens.push({ t: 'word', text: value.slice(start, i), quoted: false, space });
      space = false;
    }
  }
  return tokens;
}

function unescape(s: string): string {
  return s.indexOf('\\') < 0 ? s : s.replace(/\\(.)/gs, '$1');
}

/** Joins words and dots back into text: a single space where the source had whitespace. */
function joinText(tokens: Token[], from: number, to: number, options: { spaces: boolean } = { spaces: true }): string {
  let out = '';
  for (let k = from; k < to; k++) {
    const tok = tokens[k]!;
    if (tok.t === 'comment') continue;
    const text = tok.t === 'word' ? tok.text : tok.ch;
    if (options.spaces && out.length > 0 && tok.space) out += ' ';
    out += text;
  }
  return out;
}

function lastComment(tokens: Token[], from: number, to: number): string | null {
  for (let k = to - 1; k >= from; k--) {
    const tok = tokens[k]!;
    if (tok.t === 'comment' && tok.text.length > 0) return tok.text;
  }
  return null;
}

function addrSpec(tokens: Token[], from: number, to: number): { localPart: string; domain: string | null } {
  let at = -1;
  for (let k = to - 1; k >= from; k--) {
    const tok = tokens[k]!;
    if (tok.t === 'special' && tok.ch === '@') { at = k; break; }
  }
  if (at < 0) return { localPart: joinText(tokens, from, to, NO_SPACES), domain: null };
  return {
    localPart: joinText(tokens, from, at, NO_SPACES),
    domain: joinText(tokens, at + 1, to, NO_SPACES),
  };
}

function makeAddress(name: string | null, route: string | null, localPart: string, domain: string | null): NamedAddress {
  return {
    kind: 'mailbox',
    name: name !== null && name.length > 0 ? name : null,
    route: route !== null && route.length > 0 ? route : null,
    localPart,
    domain,
    address: domain === null ? localPart : `${localPart}@${domain}`,
  };
}

function isSpecial(tok: Token | undefined, ch: string): boolean {
  return tok !== undefined && tok.t === 'special' && tok.ch === ch;
}

export function parseAddressList(value: string, options: AddressParseOptions = {}): AddressOrGroup[] {
  const maxAddresses = options.maxAddresses ?? 10_000;
  const tokens = tokenize(value);
  const result: AddressOrGroup[] = [];
  let count = 0;
  let group: Group | null = null;
  let k = 0;
  const emit = (m: NamedAddress): void => {
    if (count >= maxAddresses) return;
    count++;
    if (group !== null) group.members.push(m);
    else result.push(m);
  };
  while (k < tokens.length && count < maxAddresses) {
    const itemStart = k;
    // Scan one item: up to "," or ";" at top level, noting "<" and ":" positions.
    let angle = -1;
    let colon = -1;
    while (k < tokens.length) {
      const tok = tokens[k]!;
      if (tok.t === 'special') {
        if (tok.ch === '<' && angle < 0) {
          angle = k;
          // The angle-addr may contain "," and ":" (obs-route): skip to ">".
          while (k < tokens.length && !isSpecial(tokens[k], '>')) k++;
          if (k < tokens.length) k++;
          continue;
        }
        if (tok.ch === ':' && group === null && angle < 0 && colon < 0) {
          colon = k;
          break;
        }
        if (tok.ch === ',' || tok.ch === ';') break;
      }
      k++;
    }
    if (colon >= 0) {
      // RFC 5322 §3.4: group = display-name ":" [group-list] ";"
      group = { kind: 'group', name: joinText(tokens, itemStart, colon), members: [] };
      result.push(group);
      k = colon + 1;
      continue;
    }
    const itemEnd = k;
    if (angle >= 0) {
      let close = angle + 1;
      while (close < itemEnd && !isSpecial(tokens[close], '>')) close++;
      // obs-route: "@a,@b:" before the addr-spec.
      let specStart = angle + 1;
      let route: string | null = null;
      if (isSpecial(tokens[specStart], '@')) {
        let r = specStart;
        while (r < close && !isSpecial(tokens[r], ':')) r++;
        if (r < close) {
          route = joinText(tokens, specStart, r, NO_SPACES);
          specStart = r + 1;
        }
      }
      const spec = addrSpec(tokens, specStart, close);
      const phrase = joinText(tokens, itemStart, angle);
      // A comment inside the angle brackets belongs to the addr-spec (RFC 5322 §3.2.2), never the name.
      const name = phrase.length > 0 ? phrase : (lastComment(tokens, Math.min(close + 1, itemEnd), itemEnd) ?? lastComment(tokens, itemStart, angle));
      if (spec.localPart.length > 0 || spec.domain !== null) emit(makeAddress(name, route, spec.localPart, spec.domain));
    } else if (hasWord(tokens, itemStart, itemEnd)) {
      const spec = addrSpec(tokens, itemStart, itemEnd);
      emit(makeAddress(lastComment(tokens, itemStart, itemEnd), null, spec.localPart, spec.domain));
    }
    if (k < tokens.length) {
      const sep = tokens[k]!;
      if (sep.t === 'special' && sep.ch === ';') group = null;
      k++;
    }
  }
  return result;
}

function hasWord(tokens: Token[], from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (tokens[k]!.t === 'word') return true;
  return false;
}
