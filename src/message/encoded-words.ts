// RFC 2047 encoded-word decoding for header values (B and Q encodings, adjacent-word rule),
// in one linear pass: safe on hostile multi-megabyte headers.
import { charsetDecoder } from './charset.ts';
import { decodeBase64Into } from './transfer-encoding.ts';

const MAX_CHARSET_LENGTH = 64;
const MAX_CHARSETS_PER_VALUE = 16;

interface Scratch {
  bytes: Buffer; // decoded octets of the pending run of same-charset words
  length: number;
}

/**
 * Decodes RFC 2047 encoded words and unfolds the value. Text outside encoded words is kept;
 * RFC 2047 §6.2: linear whitespace between two adjacent encoded words is ignored. Adjacent words
 * in the same charset are joined before charset decoding, so a multi-byte character split across
 * two words (common with long UTF-8 subjects) decodes correctly.
 */
export function decodeHeaderValue(raw: string): string {
  const value = unfold(raw);
  if (value.indexOf('=?') < 0) return value;
  const parts: string[] = [];
  // One scratch buffer for the decoded bytes of all words, however many a hostile header holds.
  const scratch: Scratch = { bytes: Buffer.allocUnsafe(value.length), length: 0 };
  let pendingCharset: string | null = null;
  const decoders = new Map<string, (bytes: Uint8Array) => string>();
  const flush = (): void => {
    if (pendingCharset !== null) {
      let decode = decoders.get(pendingCharset);
      if (decode === undefined) {
        // Bound the distinct charsets resolved per value: an unknown label costs an exception.
        decode = charsetDecoder(decoders.size < MAX_CHARSETS_PER_VALUE ? pendingCharset : 'iso-8859-1');
        decoders.set(pendingCharset, decode);
      }
      parts.push(decode(scratch.bytes.subarray(0, scratch.length)));
    }
    pendingCharset = null;
    scratch.length = 0;
  };
  // Cached "next occurrence at or after" positions keep the scan linear when a hostile value
  // holds many "=?" openers without a closer.
  const cache = { close: -2, space: -2 };
  let i = 0;
  let textStart = 0;
  let lastWordEnd = -1;
  while (i < value.length) {
    const open = value.indexOf('=?', i);
    if (open < 0) break;
    const word = readEncodedWord(value, open, cache);
    if (word === null) {
      i = open + 1;
      continue;
    }
    const onlySpace = lastWordEnd === textStart && isAllWhitespace(value, textStart, open);
    if (!onlySpace) {
      flush();
      parts.push(value.slice(textStart, open));
    }
    if (pendingCharset !== null && pendingCharset !== word.charset) flush();
    pendingCharset = word.charset;
    scratch.length = word.isBase64
      ? // RFC 2047 §4.1: the B encoding is base64 (RFC 2045 §6.8: characters outside the alphabet are skipped).
        decodeBase64Into(Buffer.from(value.slice(word.textStart, word.textEnd)), scratch.bytes, scratch.length)
      : decodeQInto(value, word.textStart, word.textEnd, scratch.bytes, scratch.length);
    i = word.end;
    textStart = word.end;
    lastWordEnd = word.end;
  }
  flush();
  parts.push(value.slice(textStart));
  return parts.join('');
}

interface EncodedWord {
  end: number; // index just after "?="
  charset: string;
  isBase64: boolean;
  textStart: number;
  textEnd: number;
}

function unfold(raw: string): string {
  if (raw.indexOf('\n') < 0 && raw.indexOf('\r') < 0) return raw;
  // RFC 5322 §2.2.3: unfolding removes the CRLF that precedes folding whitespace.
  return raw.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]+/g, ' ');
}

function isAllWhitespace(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function nextSpace(s: string, from: number): number {
  for (let i = from; i < s.length; i++) if (isSpace(s.charCodeAt(i))) return i;
  return s.length;
}

// RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
function readEncodedWord(s: string, open: number, cache: { close: number; space: number }): EncodedWord | null {
  let p = open + 2;
  const charsetStart = p;
  while (p < s.length && p - charsetStart <= MAX_CHARSET_LENGTH) {
    const c = s.charCodeAt(p);
    if (c === 0x3f /* ? */ || isSpace(c)) break;
    p++;
  }
  if (p >= s.length || s.charCodeAt(p) !== 0x3f || p === charsetStart) return null;
  // RFC 2231 §5: charset may carry "*language"; the language is dropped.
  let charset = s.slice(charsetStart, p).toLowerCase();
  const star = charset.indexOf('*');
  if (star >= 0) charset = charset.slice(0, star);
  const enc = s.charCodeAt(p + 1) | 0x20;
  if ((enc !== 0x62 /* b */ && enc !== 0x71) /* q */ || s.charCodeAt(p + 2) !== 0x3f) return null;
  const textStart = p + 3;
  if (cache.close < textStart) {
    cache.close = s.indexOf('?=', textStart);
    if (cache.close < 0) cache.close = s.length + 1;
  }
  if (cache.space < textStart) cache.space = nextSpace(s, textStart);
  // RFC 2047 §5: an encoded word contains no whitespace.
  if (cache.close > s.length || cache.close > cache.space) return null;
  return { end: cache.close + 2, charset, isBase64: enc === 0x62, textStart, textEnd: cache.close };
}

// RFC 2047 §4.2: "_" is a space, "=XX" an octet.
function decodeQInto(s: string, from: number, to: number, out: Buffer, n: number): number {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5f) {
      out[n++] = 0x20;
    } else if (c === 0x3d && i + 2 < to && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out[n++] = (hexValue(s.charCodeAt(i + 1)) << 4) | hexValue(s.charCodeAt(i + 2));
      i += 2;
    } else {
      out[n++] = c & 0xff;
    }
  }
  return n;
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}
