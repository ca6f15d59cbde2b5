/**
 * Bench-only preload for the Postamt server child (`node --expose-gc --import <this file>`, IPC channel
 * open): on request it runs full garbage collections and answers with the process's memory (V8 heap,
 * external/ArrayBuffer memory, the V8 heap's resident size, /proc RSS and PSS), or writes a heap snapshot.
 * Production never loads it. Plain JavaScript so it loads before tsx is registered.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

/** Rss, Pss, Anonymous... of /proc/self/smaps_rollup, in KiB. */
function rollup() {
  const out = {};
  for (const m of readFileSync('/proc/self/smaps_rollup', 'utf8').matchAll(/^(\w+):\s+(\d+) kB/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** Full GCs until the heap stops shrinking (weak callbacks and finalizers run between them). */
async function settle() {
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 1024) break;
    last = used;
  }
}

if (process.send && typeof globalThis.gc === 'function') {
  process.on('message', (msg) => {
    if (msg === null || typeof msg !== 'object' || typeof msg.probe !== 'string') return;
    void (async () => {
      if (msg.gc !== false) await settle();
      if (msg.probe === 'gc') {
        process.send({ id: msg.id });
      } else if (msg.probe === 'memory') {
        const m = process.memoryUsage();
        const v8Physical = v8.getHeapStatistics().total_physical_size;
        process.send({ id: msg.id, memory: { ...m, v8Physical, rollup: rollup(), handles: process.getActiveResourcesInfo().length } });
      } else if (msg.probe === 'snapshot') {
        process.send({ id: msg.id, file: v8.writeHeapSnapshot(msg.path) });
      }
    })();
  });
  // The bench's channel must not keep the server alive after SIGTERM.
  process.channel?.unref();
}
