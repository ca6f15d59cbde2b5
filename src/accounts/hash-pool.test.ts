/**
 * Password hashing on its own threads (hash-pool.ts): the same answers as before, at most the configured
 * number of threads, below normal priority on Linux, and libuv's thread pool (file reads, the CLI's
 * hashes) stays free while logins hash.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { HashPool } from './hash-pool.ts';
import { deriveScram, hashPassword, passwordFunctions, verifyPassword } from './passwords.ts';

/** Niceness of each thread of this process (field 19 of /proc/self/task/<tid>/stat). */
function threadNiceness(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('HashPool', () => {
  it('checks passwords as the thread pool does', async () => {
    const pool = new HashPool({ threads: 2, nice: 10 });
    try {
      const hash = await hashPassword('correct horse', { logN: 10 });
      assert.equal(await verifyPassword(hash, 'correct horse', { pool }), true);
      assert.equal(await verifyPassword(hash, 'wrong horse', { pool }), false);
      const pooled = await hashPassword('Ünïcödé', { logN: 10, pool });
      assert.equal(await verifyPassword(pooled, 'Ünïcödé'), true);
    } finally {
      await pool.close();
    }
  });

  it('derives SCRAM keys (PBKDF2) on its threads, the same keys as libuv\'s pool derives', async () => {
    const pool = new HashPool({ threads: 1, nice: 0 });
    try {
      const salt = Buffer.alloc(16, 7).toString('base64');
      const before = pool.hashed;
      // A non-ASCII space and a combining sequence: the pool gets the same SASLprep'd bytes.
      const pooled = await passwordFunctions({ pool }).deriveScram('pässword\u00A0one', { salt, iterations: 4096 });
      assert.equal(pool.hashed - before, 1, 'one PBKDF2 on the pool');
      assert.deepEqual(pooled, await deriveScram('pässword\u00A0one', { salt, iterations: 4096 }));
    } finally {
      await pool.close();
    }
  });

  it('runs at most its threads, below normal priority, and leaves the file thread pool free', { skip: process.platform !== 'linux' }, async () => {
    const before = threadNiceness().filter((n) => n === 10).length;
    const pool = new HashPool({ threads: 2, nice: 10 });
    try {
      const hash = await hashPassword('pw', { logN: 15 });
      let done = 0;
      const checks = Array.from({ length: 8 }, () => verifyPassword(hash, 'pw', { pool }).finally(() => done++));
      assert.equal(pool.queued, 6, 'two hashes handed to threads, six wait');
      // The threads lower their priority as they start.
      for (let i = 0; i < 250 && threadNiceness().filter((n) => n === 10).length - before < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(threadNiceness().filter((n) => n === 10).length - before, 2, 'two threads at niceness 10');
      const doneBefore = done;
      for (let i = 0; i < 20; i++) await stat(import.meta.filename);
      const doneDuringStats = done - doneBefore;
      const results = await Promise.all(checks);
      assert.deepEqual(results, Array(8).fill(true));
      // On libuv's 4-thread pool the first stat would wait behind the 8 hashes until 5 of them had ended; here
      // the stats run beside them (compared by order, not by a time limit, so that a loaded machine cannot fail it).
      assert.ok(doneBefore + doneDuringStats < 5, `${doneBefore + doneDuringStats} of 8 hashes ended before 20 stat calls had`);
    } finally {
      await pool.close();
    }
  });
});
