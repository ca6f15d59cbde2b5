/**
 * Password storage: scrypt hashes in PHC string format for PLAIN/LOGIN/IMAP LOGIN/POP3 PASS, and the
 * SCRAM-SHA-256 verifiers (RFC 5802 §3, RFC 7677) so SCRAM works without keeping the clear password.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { SCRAM_DEFAULT_ITERATIONS, saltedPassword, saslPrep, scramKeys } from '../protocols/sasl/scram-crypto.ts';
import type { ScramCredentials } from '../store/types.ts';
import type { HashPool } from './hash-pool.ts';

/**
 * log2(N). The brief suggested 15, but one verify at N=2^15, r=8 takes ~150 ms on the 2-core target;
 * 2^14 (16 MiB, ~75 ms) keeps a verify under 100 ms. Stored hashes carry their own parameters, so this
 * can be raised later without breaking existing accounts.
 */
export const SCRYPT_DEFAULT_LOG_N = 14;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/**
 * A valid hash of a random secret nobody knows, with the default parameters: checking an unknown user's
 * password against it costs the same as checking a real account's, so timing does not reveal accounts.
 */
export const DUMMY_HASH = '$scrypt$ln=14,r=8,p=1$smjwXOujqGNmiJcUAA2GUA$TruQ1q8y2fLx70Hfcx/D0D6jiVgTgfBi8E8AP1MJhk0';

interface ScryptParams {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Where a hash is computed: the server's own pool (hash-pool.ts); without one, libuv's thread pool (the CLI). */
export interface HashOptions {
  pool?: HashPool;
}

function scryptAsync(password: string, salt: Buffer, params: { logN: number; r: number; p: number }, keyBytes: number, where: HashOptions = {}): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options = { N, r: params.r, p: params.p, maxmem: 128 * N * params.r * params.p + 32 * 1024 * 1024 } satisfies ScryptOptions;
  if (where.pool !== undefined) return where.pool.scrypt({ password: password.normalize('NFKC'), salt, keyBytes, options });
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** PHC base64: standard alphabet without padding; we accept padding too. */
function b64(data: Buffer): string {
  return data.toString('base64').replace(/=+$/, '');
}

function parseB64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

function parseScrypt(hash: string): ScryptParams | null {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([^$]+)\$([^$]+)$/.exec(hash);
  if (!m) return null;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // bounds keep a hostile or corrupt hash from costing gigabytes or minutes
  if (logN < 1 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 4) return null;
  const salt = parseB64(m[4]!);
  const key = parseB64(m[5]!);
  if (!salt || !key || salt.length < 8 || key.length < 16 || key.length > 64) return null;
  return { logN, r, p, salt, hash: key };
}

export async function hashPassword(password: string, options: { logN?: number } & HashOptions = {}): Promise<string> {
  const logN = options.logN ?? SCRYPT_DEFAULT_LOG_N;
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, { logN, r: SCRYPT_R, p: SCRYPT_P }, KEY_BYTES, options);
  return `$scrypt$ln=${logN},r=${SCRYPT_R},p=${SCRYPT_P}$${b64(salt)}$${b64(key)}`;
}

/** false for a wrong password and for any hash format we do not know (never throws for bad input). */
export async function verifyPassword(hash: string, password: string, options: HashOptions = {}): Promise<boolean> {
  const params = parseScrypt(hash);
  if (!params) return false;
  try {
    const key = await scryptAsync(password, params.salt, params, params.hash.length, options);
    return timingSafeEqual(key, params.hash);
  } catch {
    return false;
  }
}

/** What a caller that sets or checks passwords is given: each process builds it once (passwordFunctions). */
export interface PasswordFunctions {
  hashPassword(password: string): Promise<string>;
  verifyPassword(hash: string, password: string): Promise<boolean>;
  /** With `salt`/`iterations`: derive with the account's own (app passwords must share them for SCRAM). */
  deriveScram(password: string, options?: { iterations?: number; salt?: string }): Promise<ScramCredentials>;
}

/**
 * The one way a process hashes and checks passwords, on a hash pool: the server passes its own, so a password
 * set or changed over the admin API or the webmail hashes beside the logins, never on libuv's shared pool ahead
 * of file reads and the WAL sync; the CLI passes a one-thread pool. Without a pool (unit tests) libuv's pool
 * runs them; `logN` (cheaper hashes) is for tests too.
 */
export function passwordFunctions(options: { logN?: number } & HashOptions = {}): PasswordFunctions {
  const where: HashOptions = options.pool !== undefined ? { pool: options.pool } : {};
  return {
    hashPassword: (password) => hashPassword(password, { ...where, logN: options.logN }),
    verifyPassword: (hash, password) => verifyPassword(hash, password, where),
    deriveScram: (password, scram) => deriveScram(password, { ...scram, ...where }),
  };
}

/**
 * RFC 5802 §3 / RFC 7677 verifiers. The password is normalized with SASLprep-lite (non-ASCII spaces
 * mapped, NFKC; see scram-crypto.ts). Pass `salt` (base64) and `iterations` of the account's own SCRAM
 * credentials when deriving for an app password: SCRAM sends one salt per user, so an app password is
 * only usable with SCRAM when it shares the account's salt and iteration count.
 */
export async function deriveScram(password: string, options: { iterations?: number; salt?: string } & HashOptions = {}): Promise<ScramCredentials> {
  const iterations = options.iterations ?? SCRAM_DEFAULT_ITERATIONS;
  const salt = options.salt !== undefined ? Buffer.from(options.salt, 'base64') : randomBytes(SALT_BYTES);
  // The same Hi() as saltedPassword: on the pool, a 600,000-round PBKDF2 waits with the logins' hashes instead of
  // taking a libuv thread from file reads and the WAL sync.
  const salted = options.pool !== undefined
    ? await options.pool.pbkdf2({ password: saslPrep(password), salt, iterations, keyBytes: 32 })
    : await saltedPassword(password, salt, iterations);
  const keys = scramKeys(salted);
  return { iterations, salt: salt.toString('base64'), storedKey: keys.storedKey.toString('base64'), serverKey: keys.serverKey.toString('base64') };
}
