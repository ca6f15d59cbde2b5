/**
 * The WAL sync on its own thread (sync-thread.ts): once a database has been written to for a while, a
 * commit becomes durable while libuv's thread pool is busy with password hashes, instead of waiting for
 * them; what was acknowledged survives a reopen.
 */
import assert from 'node:assert/strict';
import { scrypt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from './database.ts';
import { GroupCommit } from './group-commit.ts';

/** One scrypt the size of a password check at log2(N)=17: a few hundred ms on the thread pool. */
function slowHash(): Promise<void> {
  return new Promise((resolve, reject) => scrypt('pw', 'salt', 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve())));
}

describe('GroupCommit sync thread', () => {
  it('makes a commit durable while the thread pool is busy hashing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postamt-sync-'));
    try {
      const db = openDatabase({ dataDir: dir });
      db.exec('CREATE TABLE sync_test (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
      const commits = new GroupCommit(db);
      const insert = db.prepare('INSERT INTO sync_test (n) VALUES (?)');
      for (let i = 0; i < 80; i++) await commits.run(() => insert.run(i));
      await new Promise((r) => setTimeout(r, 300)); // the thread comes up

      const hashStarted = performance.now();
      const hashes = Array.from({ length: 8 }, () => slowHash());
      await new Promise((r) => setImmediate(r));
      const started = performance.now();
      await commits.run(() => insert.run(1000));
      const commitMs = performance.now() - started;
      await Promise.all(hashes);
      const hashMs = performance.now() - hashStarted;
      assert.ok(commitMs < hashMs / 4, `the commit took ${commitMs.toFixed(1)} ms while the hashes took ${hashMs.toFixed(1)} ms`);

      await commits.idle();
      commits.close();
      db.close();
      const again = openDatabase({ dataDir: dir });
      assert.deepEqual(again.prepare('SELECT count(*) AS n FROM sync_test').get(), { n: 81 });
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('answers the commits that reach the thread the moment it is up', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'postamt-sync-'));
      const db = openDatabase({ dataDir: dir });
      const commits = new GroupCommit(db);
      let timer: NodeJS.Timeout | undefined;
      try {
        db.exec('CREATE TABLE sync_test (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
        const insert = db.prepare('INSERT INTO sync_test (n) VALUES (?)');
        // Commit after commit while the thread starts: the first ones it gets may come before its code runs.
        const deadline = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('a commit was never answered')), 10_000);
        });
        for (let i = 0; i < 400; i++) await Promise.race([commits.run(() => insert.run(i)), deadline]);
        await commits.idle();
      } finally {
        clearTimeout(timer);
        commits.close();
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
