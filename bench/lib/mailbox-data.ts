/**
 * Bench helper: the synthetic messages of ../shared/bench/make_maildir.py (same headers, same size), a
 * Dovecot Maildir of them, and the same messages bulk-loaded into a Postamt store. A few messages carry the word NEEDLE in their body for SEARCH.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';

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

/**
 * Fills `maildir` (cur/, unseen) with the messages of `benchMessage` under make_maildir.py's file names, whose
 * microsecond field (".M<i>") makes Dovecot give them UIDs in the order of i. Written here rather than by the
 * Python script: one pass, the NEEDLE bodies included, about 10 s for 100,000 messages.
 */
export function fillMaildir(maildir: string, n: number, size = 5120): void {
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  const cur = join(maildir, 'cur');
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < n; i++) writeFileSync(join(cur, `${now}.M${i}P1.bench:2,`), benchMessage(i, n, now, size));
  const r = spawnSync('chown', ['-R', 'nobody:', dirname(maildir.replace(/\/+$/, ''))], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chown failed: ${r.stderr}`);
}

/**
 * Appends n bench messages to the account's INBOX of an open store, `batch` deliveries to one commit (one
 * transaction, one fsync), message i received i seconds after message 0 so the newest-first order is i's.
 */
export async function loadPostamtStore(options: { store: Store; address: string; n: number; size?: number; batch?: number; onProgress?: (done: number) => void }): Promise<void> {
  const { store } = options;
  const account = await store.getAccount(options.address);
  if (!account) throw new Error(`no account ${options.address}`);
  const inbox = await store.getMailbox(account.id, 'INBOX');
  if (!inbox) throw new Error('no INBOX');
  const now = Math.floor(Date.now() / 1000);
  const first = Date.now() - options.n * 1000;
  const batch = options.batch ?? 2000;
  for (let start = 0; start < options.n; start += batch) {
    const deliveries = [];
    for (let i = start; i < Math.min(options.n, start + batch); i++) {
      const tx = store.beginDelivery();
      tx.write(benchMessage(i, options.n, now, options.size));
      deliveries.push({ tx, plan: { mailboxes: [{ mailboxId: inbox.id, internalDate: new Date(first + i * 1000) }] } });
    }
    await store.commitDeliveries(deliveries);
    options.onProgress?.(Math.min(options.n, start + batch));
  }
}

/** Like loadPostamtStore, opening the store in `dataDir` directly (the server must be stopped). */
export async function loadPostamtMailbox(options: { dataDir: string; address: string; n: number; size?: number; batch?: number; onProgress?: (done: number) => void }): Promise<void> {
  const store = await openStore({ dataDir: options.dataDir });
  try {
    await loadPostamtStore({ ...options, store });
  } finally {
    await store.close();
  }
}
