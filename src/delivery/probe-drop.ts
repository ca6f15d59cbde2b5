/**
 * Where `postamt doctor`'s test messages land: postamt-probe-<token>@<domain> is accepted only while the doctor
 * waits for that token, and the message goes to data_dir/doctor-probes/<token>.eml, never into a mailbox.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { bodyChunks, type BodyRef } from '../policy/message-parts.ts';

export const PROBE_PREFIX = 'postamt-probe-';
/** A pending probe older than this is not accepted any more (the doctor that asked for it gave up). */
const PENDING_MAX_AGE_MS = 15 * 60_000;
const TOKEN = /^[0-9a-f]{32}$/;

export class ProbeDrop {
  readonly dir: string;

  constructor(options: { dataDir: string }) {
    this.dir = join(options.dataDir, 'doctor-probes');
  }

  /** Cheap for every other address: one prefix test on the local part. */
  static isProbeAddress(address: string): boolean {
    return address.slice(0, PROBE_PREFIX.length).toLowerCase() === PROBE_PREFIX;
  }

  /** The token of a probe address the doctor waits for now; null otherwise. */
  pendingToken(address: string): string | null {
    if (!ProbeDrop.isProbeAddress(address)) return null;
    const at = address.lastIndexOf('@');
    const token = address.slice(PROBE_PREFIX.length, at < 0 ? undefined : at).toLowerCase();
    if (!TOKEN.test(token)) return null;
    try {
      return Date.now() - statSync(join(this.dir, `${token}.pending`)).mtimeMs < PENDING_MAX_AGE_MS ? token : null;
    } catch {
      return null;
    }
  }

  /** Stores the received probe durably (fsync before rename) so that 250 is only said for a stored copy. */
  async file(token: string, header: Buffer, body: BodyRef): Promise<void> {
    const tmp = join(this.dir, `${token}.eml.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, header);
      for await (const chunk of bodyChunks(body)) writeSync(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, `${token}.eml`));
    // The rename is durable once the directory is synced.
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  /** The doctor's side: a new token, marked pending so that the MX accepts its address. */
  expect(): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const token = randomBytes(16).toString('hex');
    closeSync(openSync(join(this.dir, `${token}.pending`), 'w', 0o600));
    return token;
  }

  /** The received probe, once it is there. */
  take(token: string): Buffer | null {
    const path = join(this.dir, `${token}.eml`);
    return existsSync(path) ? readFileSync(path) : null;
  }

  /** Forgets a probe: its pending mark and its received copy. */
  remove(token: string): void {
    for (const suffix of ['.pending', '.eml', '.eml.tmp']) rmSync(join(this.dir, `${token}${suffix}`), { force: true });
  }
}
