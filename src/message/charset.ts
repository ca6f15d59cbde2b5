// Charset decoding for MIME text: maps a MIME charset label to a TextDecoder (Node's full ICU),
// falling back to ISO-8859-1 for labels that ICU does not know, so decoding never throws.
import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';

const ALIASES: Readonly<Record<string, string>> = {
  // Labels seen in real mail that the WHATWG encoding registry spells differently.
  'ks_c_5601-1987': 'euc-kr',
  'x-user-defined': 'windows-1252',
  'cp1252': 'windows-1252',
  'cp1251': 'windows-1251',
  'cp1250': 'windows-1250',
  'cp850': 'windows-1252',
  'ansi_x3.4-1968': 'us-ascii',
  'x-sjis': 'shift_jis',
  'x-gbk': 'gbk',
  'utf8': 'utf-8',
};

export function decodeCharset(bytes: Uint8Array, charset: string | null | undefined): string {
  return charsetDecoder(charset)(bytes);
}

/** A decoding function for one charset label: resolve once, decode many (no throw per use). */
export function charsetDecoder(charset: string | null | undefined): (bytes: Uint8Array) => string {
  let label = (charset ?? 'us-ascii').trim().toLowerCase();
  if (label.length === 0) label = 'us-ascii';
  label = ALIASES[label] ?? label;
  if (label === 'us-ascii' || label === 'ascii') {
    // RFC 2046 §4.1.2: us-ascii is the default; 8-bit bytes in "us-ascii" text are almost always
    // UTF-8 in practice, so try that first and fall back to windows-1252 (what WHATWG maps ascii to).
    return (bytes) => decodeUtf8OrFallback(bytes, 'windows-1252');
  }
  if (label === 'utf-8') return (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    return (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
  return (bytes) => decoder.decode(bytes);
}

/** UTF-8 when the bytes are valid UTF-8, otherwise the fallback charset (latin1 by default). */
export function decodeUtf8OrFallback(bytes: Uint8Array, fallback = 'latin1'): string {
  if (isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    if (fallback === 'latin1') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    return new TextDecoder(fallback).decode(bytes);
  }
}
