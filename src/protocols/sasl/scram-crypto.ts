/**
 * SCRAM-SHA-256 building blocks shared by the server exchange, the client and password storage:
 * key derivation (RFC 5802 §3, RFC 7677), SASLprep-lite, saslname escaping and attribute parsing.
 */
import { createHash, createHmac, pbkdf2, timingSafeEqual } from 'node:crypto';

/**
 * PBKDF2 rounds of new SCRAM keys (config auth.scram_iterations; RFC 7677 §4: at least 4096): OWASP's advice
 * for PBKDF2-HMAC-SHA256. The server never runs PBKDF2 at login (it keeps StoredKey and ServerKey); the
 * client does, ~0.2 s on one core.
 */
export const SCRAM_DEFAULT_ITERATIONS = 600_000;

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function hmacSha256(key: Buffer, data: Buffer | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function xorBuffers(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ (b[i] ?? 0);
  return out;
}

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * SASLprep-lite (RFC 4013 §2 minus the prohibition/bidi checks): non-ASCII spaces (C.1.2) become
 * U+0020, "commonly mapped to nothing" characters (B.1) are removed, then NFKC. ASCII is unchanged,
 * which is what every real client sends; passwords with prohibited code points are accepted as is.
 */
export function saslPrep(text: string): string {
  // The RFC 4013 tables list combining and joining code points on purpose: each is mapped on its own.
  const mapped = text
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    // eslint-disable-next-line no-misleading-character-class
    .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, '');
  return mapped.normalize('NFKC');
}

/** SaltedPassword := Hi(Normalize(password), salt, i) — RFC 5802 §3, Hi is PBKDF2 with HMAC-SHA-256. */
export function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** RFC 5802 §3: ClientKey := HMAC(SaltedPassword, "Client Key"), StoredKey := H(ClientKey), ServerKey := HMAC(SaltedPassword, "Server Key"). */
export function scramKeys(salted: Buffer): ScramKeys {
  const clientKey = hmacSha256(salted, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmacSha256(salted, 'Server Key') };
}

/** RFC 5802 §5.1: "," and "=" in a saslname are sent as "=2C" and "=3D". */
export function encodeSaslname(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** null when the name holds any other "=" escape (RFC 5802 §5.1: the server MUST fail). */
export function decodeSaslname(encoded: string): string | null {
  if (/=(?!2C|3D)/.test(encoded)) return null;
  return encoded.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** One `a=value` attribute; the value may contain "=" (base64) but never ",". */
export interface ScramAttribute {
  name: string;
  value: string;
}

/** Splits `a=1,b=2` into attributes; null when one is not `letter=value`. */
export function parseAttributes(text: string): ScramAttribute[] | null {
  const out: ScramAttribute[] = [];
  for (const part of text.split(',')) {
    // RFC 5802 §7: attr-val = ALPHA "=" value
    if (!/^[A-Za-z]=/.test(part)) return null;
    out.push({ name: part[0]!, value: part.slice(2) });
  }
  return out;
}

/** RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ","). */
export function isPrintableNonce(nonce: string): boolean {
  return nonce.length > 0 && /^[\x21-\x2B\x2D-\x7E]+$/.test(nonce);
}

