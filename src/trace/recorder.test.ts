import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../core/log.ts';
import { openStore } from '../store/open.ts';
import { TraceRecorder } from './recorder.ts';

const DAY = 86_400_000;

test('events are written in one batch after a short wait, and events past the retention are pruned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-trace-'));
  const store = await openStore({ dataDir: dir });
  try {
    const recorder = new TraceRecorder({ store, logger: createLogger({ level: 'silent' }), enabled: true, retentionMs: 30 * DAY });
    const now = Date.now();
    for (let i = 0; i < 3; i++) recorder.record({ at: new Date(now - (i === 2 ? 31 * DAY : 0)), queueId: `Q${i}`, event: 'deferred' });
    assert.deepEqual(await store.searchTrace({}), [], 'nothing written at once');
    // The timer fires after 200 ms; its write may take a while longer on a loaded machine.
    for (const end = Date.now() + 10_000; (await store.searchTrace({})).length < 3 && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await store.searchTrace({})).length, 3, 'written by the timer without a flush');
    assert.equal(await recorder.prune(new Date(now)), 1);
    assert.deepEqual((await store.searchTrace({})).map((e) => e.queueId).sort(), ['Q0', 'Q1']);
    await recorder.close();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a disabled recorder records nothing', async () => {
  const writes: unknown[] = [];
  const recorder = new TraceRecorder({ store: { appendTrace: async (e) => void writes.push(e), pruneTrace: async () => 0 }, logger: createLogger({ level: 'silent' }), enabled: false, retentionMs: DAY });
  recorder.record({ at: new Date(), queueId: 'Q', event: 'deferred' });
  await recorder.flush();
  assert.deepEqual(writes, []);
});
