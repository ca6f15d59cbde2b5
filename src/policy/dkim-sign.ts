/**
 * Outbound DKIM (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463), relaxed/relaxed, From over-signed;
 * also key generation and the DNS TXT record that publishes a key. Every active key of the domain signs
 * (RSA + Ed25519 dual signing, RFC 8463 §4: verifiers that do not know Ed25519 ignore that signature).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { RelaxedBodyHash, relaxedHeader, selectSignedFields, splitMessage, toCrlf } from './dkim-canon.ts';
import { bodyChunks, splitParts, type BodyRef } from './message-parts.ts';
import type { DkimAlgorithm, DkimKey } from './types.ts';

/** Fields signed when present (RFC 6376 §5.4.1 recommends these); From is required (§5.4). */
export const DEFAULT_SIGNED_FIELDS = [
  'from', 'reply-to', 'subject', 'date', 'to', 'cc', 'message-id', 'in-reply-to', 'references',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-id', 'content-description',
  'resent-date', 'resent-from', 'resent-sender', 'resent-to', 'resent-cc', 'resent-message-id', 'sender',
  'list-id', 'list-help', 'list-unsubscribe', 'list-unsubscribe-post', 'list-subscribe', 'list-post',
  'list-owner', 'list-archive',
];

/** Fields listed once more than they occur so that nobody can add one later (RFC 6376 §8.15). */
export const DEFAULT_OVERSIGNED_FIELDS = ['from'];

export interface SignMessageOptions {
  message: Buffer;
  domain: string;
  keys: DkimKey[];
  /** Signing time (t= tag); defaults to now. */
  now?: Date;
  signedFields?: string[];
  oversignedFields?: string[];
}

/**
 * Returns the DKIM-Signature header field(s) to prepend, each ending in CRLF; an empty buffer when `keys`
 * is empty. Throws only for an unusable private key (a configuration error).
 */
export async function signMessage(options: SignMessageOptions): Promise<Buffer> {
  const { header, body } = splitParts(toCrlf(options.message));
  return signParts({ ...options, header, body });
}

/** `signMessage` for a message whose body may be in a spool file: the body hash is computed as it streams. */
export async function signParts(options: Omit<SignMessageOptions, 'message'> & { header: Buffer; body: BodyRef }): Promise<Buffer> {
  const { fields } = splitMessage(toCrlf(options.header));
  const hasher = new RelaxedBodyHash();
  for await (const chunk of bodyChunks(options.body)) hasher.update(chunk);
  const bodyHash = hasher.digest();
  const present = options.signedFields ?? DEFAULT_SIGNED_FIELDS;
  const oversigned = new Set(options.oversignedFields ?? DEFAULT_OVERSIGNED_FIELDS);
  const names: string[] = [];
  for (const name of present) {
    const count = fields.filter((f) => f.name === name).length;
    const times = count + (oversigned.has(name) ? 1 : 0);
    for (let i = 0; i < times; i++) names.push(name);
  }
  const signed = selectSignedFields(fields, names);
  const canonicalHeaders = signed.map((f) => relaxedHeader(f.raw) + '\r\n').join('');
  const t = Math.floor((options.now ?? new Date()).getTime() / 1000);

  const out: string[] = [];
  for (const key of options.keys) {
    const algorithm = key.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
    const tags = [
      'v=1', `a=${algorithm}`, 'c=relaxed/relaxed', `d=${options.domain}`, `s=${key.selector}`, `t=${t}`,
      `h=${names.join(':')}`, `bh=${bodyHash}`,
    ];
    const unsigned = foldTags('DKIM-Signature', tags) + ' b=';
    // RFC 6376 §3.7: the signature covers the selected fields, then this field with an empty b= and no CRLF.
    const data = Buffer.from(canonicalHeaders + relaxedHeader(unsigned), 'latin1');
    const privateKey = createPrivateKey(key.privateKeyPem);
    const signature =
      key.algorithm === 'ed25519'
        ? // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data (PureEdDSA over the digest).
          cryptoSign(null, createHash('sha256').update(data).digest(), privateKey)
        : cryptoSign('sha256', data, privateKey);
    out.push(unsigned + foldBase64(signature.toString('base64')) + '\r\n');
  }
  return Buffer.from(out.join(''), 'latin1');
}

/** Joins `tag=value` pairs with "; ", folding lines at about 76 characters (FWS is allowed between tags). */
function foldTags(fieldName: string, tags: string[]): string {
  let text = `${fieldName}:`;
  let lineLength = text.length;
  for (const tag of tags) {
    const piece = tag + ';';
    if (tag.startsWith('h=') && lineLength + piece.length + 1 > 76) {
      // h= may fold around its colons (RFC 6376 §3.5 sig-h-tag allows FWS there).
      const parts = piece.split(':');
      text += '\r\n ';
      lineLength = 1;
      parts.forEach((p, i) => {
        const chunk = p + (i < parts.length - 1 ? ':' : '');
        if (lineLength + chunk.length > 76) {
          text += '\r\n ';
          lineLength = 1;
        }
        text += chunk;
        lineLength += chunk.length;
      });
      continue;
    }
    if (lineLength + piece.length + 1 > 76) {
      text += '\r\n ' + piece;
      lineLength = 1 + piece.length;
    } else {
      text += ' ' + piece;
      lineLength += 1 + piece.length;
    }
  }
  return text;
}

function foldBase64(b64: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < b64.length; i += 72) chunks.push(b64.slice(i, i + 72));
  return chunks.join('\r\n ');
}

export interface GeneratedDkimKey {
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  publicKeyB64: string;
}

/** A fresh key pair: RSA 2048 bits (RFC 8301 §3.2 requires ≥1024, 2048 is today's floor) or Ed25519. */
export function generateDkimKey(algorithm: DkimAlgorithm, options: { rsaBits?: number } = {}): GeneratedDkimKey {
  if (algorithm === 'ed25519') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { algorithm, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyB64: publicKeyRecordValue(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'ed25519') };
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: options.rsaBits ?? 2048 });
  return { algorithm, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyB64: publicKeyRecordValue(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'rsa') };
}

/** The `p=` value of a public key: base64 SPKI for RSA; for Ed25519 the raw 32-byte key (RFC 8463 §4.2). */
export function publicKeyRecordValue(publicKeyPem: string, algorithm: DkimAlgorithm): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return (algorithm === 'ed25519' ? der.subarray(der.length - 32) : der).toString('base64');
}

/** The public key of a stored private key, as its `p=` value. */
export function publicKeyFromPrivate(privateKeyPem: string, algorithm: DkimAlgorithm): string {
  const pem = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
  return publicKeyRecordValue(pem, algorithm);
}

/** RFC 6376 §3.6.1 key record text: "v=DKIM1; k=rsa; p=...". */
export function dkimRecordText(key: { algorithm: DkimAlgorithm; publicKeyB64: string }): string {
  return `v=DKIM1; k=${key.algorithm}; p=${key.publicKeyB64}`;
}

/** A TXT value as quoted character-strings of at most 255 octets each (RFC 1035 §3.3.14). */
export function splitTxt(value: string, max = 255): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += max) out.push(value.slice(i, i + max));
  return out.length ? out : [''];
}

export function formatTxt(value: string): string {
  return splitTxt(value).map((s) => `"${s.replace(/(["\\])/g, '\\$1')}"`).join(' ');
}
