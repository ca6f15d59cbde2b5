/**
 * Bench helper: the synthetic messages of ../shared/bench/make_maildir.py (same headers, same size),
 * a Dovecot Maildir filled by that script, and the same messages bulk-loaded into a Postamt store
 * (opened directly, server stopped). A few messages carry the word NEEDLE in their body for SEARCH.
 */
import { spawnSync } from 'node:child_process';
import { openSync, readSync, writeSync, closeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.ts';
import { sharedBench } from './postamt.ts';

export const NEEDLE = 'needle';

/** True for the few messages (4) whose body starts with NEEDLE: i = n/5, 2n/5, 3n/5, 4n/5. */
export function hasNeedle(i: number, n: number): boolean {
  const step = Math.max(1, Math.floor(n / 5));
  return i > 0 && i % step === 0 && i / step < 5;
}

/** Message i exactly as make_maildir.py writes it (CRLF, ~size bytes), with NEEDLE if `hasNeedle`. */
export function benchMessage(i: number, n: number, now: number, size = 5120): Buffer {
  const line = 'x'.repeat(76) + '\r\n';
  let body = line.repeat(Math.max(1, Math.floor(size / line.length)));
  if (hasNeedle(i, n)) body = NEEDLE + body.slice(NEEDLE.length);
  const hdr = `From: Sender ${i} <s${i}@bench.example>\r\nTo: bench@test.example\r\nSubject: message ${i}\r\n`
    + `Date: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <${i}.${now}@bench.example>\r\n\r\n`;
  return Buffer.from(hdr + body, 'latin1');
}

/** Fills `maildir` with make_maildir.py, then puts NEEDLE into the same messages as `benchMessage`. */
export function fillMaildir(maildir: string, n: number, size = 5120): void {
  const r = spawnSync('python3', [join(sharedBench, 'make_maildir.py'), maildir, '-n', String(n), '-s', String(size)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_maildir.py failed: ${r.stderr}`);
  const cur = join(maildir, 'cur');
  const byIndex = new Map<number, string>();
  for (const name of readdirSync(cur)) {
    const m = /\.M(\d+)P1\./.exec(name);
    if (m && hasNeedle(Number(m[1]), n)) byIndex.set(Number(m[1]), name);
  }
  for (const name of byIndex.values()) {
    const fd = openSync(join(cur, name), 'r+');
    try {
      const buf = Buffer.alloc(4096);
      const len = readSync(fd, buf, 0, buf.length, 0);
      const at = buf.subarray(0, len).indexOf('\r\n\r\n') + 4;
      writeSync(fd, Buffer.from(NEEDLE), 0, NEEDLE.length, at);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Appends n bench messages to the account's INBOX by opening the store directly (the server must be
 * stopped). Deliveries are committed `batch` at a time, so one group commit (one fsync) covers a batch.
 */
export async function loadPostamtMailbox(options: { dataDir: string; address: string; n: number; size?: number; batch?: number; onProgress?: (done: number) => void }): Promise<void> {
  const store = await openStore({ dataDir: options.dataDir });
  try {
    const account = await store.getAccount(options.address);
    if (!account) throw new Error(`no account ${options.address}`);
    const inbox = await store.getMailbox(account.id, 'INBOX');
    if (!inbox) throw new Error('no INBOX');
    const now = Math.floor(Date.now() / 1000);
    const batch = options.batch ?? 1000;
    for (let start = 0; start < options.n; start += batch) {
      const commits: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(options.n, start + batch); i++) {
        const tx = store.beginDelivery();
        tx.write(benchMessage(i, options.n, now, options.size));
        commits.push(tx.commit({ mailboxes: [{ mailboxId: inbox.id }] }));
      }
      await Promise.all(commits);
      options.onProgress?.(Math.min(options.n, start + batch));
    }
  } finally {
    await store.close();
  }
}
