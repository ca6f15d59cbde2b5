/**
 * The checkpoint worker (checkpointer.ts) on a real database: under sustained writes it copies the WAL
 * into the database file and the WAL is started over (bounded), every committed row survives a reopen,
 * the main connection closes last (the WAL file is removed), and a brief writer never starts a worker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from './database.ts';
import { GroupCommit } from './group-commit.ts';

const ROW_BYTES = 64 * 1024;

function open(dir: string): { db: ReturnType<typeof openDatabase>; commits: GroupCommit } {
  const db = openDatabase({ dataDir: dir });
  db.exec('CREATE TABLE IF NOT EXISTS ckpt_test (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
  return { db, commits: new GroupCommit(db) };
}

describe('Checkpointer', () => {
  it('keeps the WAL bounded under sustained writes and loses no committed row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postamt-ckpt-'));
    try {
      const { db, commits } = open(dir);
      const insert = db.prepare('INSERT INTO ckpt_test (data) VALUES (?)');
      const rows = 1200; // 75 MiB through the WAL, well past the 128 MiB backstop's reach only if never reset
      let largestWal = 0;
      for (let i = 0; i < rows; i += 20) {
        const batch: Promise<unknown>[] = [];
        for (let j = i; j < i + 20; j++) batch.push(commits.run(() => insert.run(Buffer.alloc(ROW_BYTES, j % 251))));
        await Promise.all(batch);
        largestWal = Math.max(largestWal, statSync(`${db.name}-wal`).size);
        await new Promise((r) => setTimeout(r, 2));
      }
      const stats = commits.checkpointer.stats;
      assert.ok(stats.workerRuns > 0, 'the worker ran');
      assert.ok(stats.finalPasses > 0, 'the writer held back for final passes');
      assert.equal(stats.failed, false);
      assert.ok(largestWal < 48 * 1024 * 1024, `WAL grew to ${largestWal} bytes for ${rows * ROW_BYTES} written`);
      await commits.idle();
      commits.close();
      db.close();
      assert.equal(existsSync(join(dir, 'postamt.db-wal')), false, 'the main connection closed last and removed the WAL');

      const again = openDatabase({ dataDir: dir });
      const check = again.prepare('SELECT count(*) AS n, sum(length(data)) AS bytes FROM ckpt_test').get() as { n: number; bytes: number };
      assert.deepEqual(check, { n: rows, bytes: rows * ROW_BYTES });
      const sample = again.prepare('SELECT id, data FROM ckpt_test WHERE id IN (1, 600, 1200)').all() as { id: number; data: Buffer }[];
      for (const row of sample) assert.ok(row.data.equals(Buffer.alloc(ROW_BYTES, (row.id - 1) % 251)), `row ${row.id} intact`);
      assert.equal(again.pragma('integrity_check', { simple: true }), 'ok');
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not start a worker for a process that writes only briefly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postamt-ckpt-'));
    try {
      const { db, commits } = open(dir);
      const insert = db.prepare('INSERT INTO ckpt_test (data) VALUES (?)');
      for (let i = 0; i < 10; i++) await commits.run(() => insert.run(Buffer.alloc(100)));
      assert.equal(commits.checkpointer.stats.workerRuns, 0);
      commits.close();
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
