// Memory an idle push connection costs the server: N EventSource and N WebSocket connections (over TLS,
// authenticated, push enabled) are held open by a child process; the server's heap plus external memory
// after a full collection, before and after, divided by the connections, must stay at or under 50 KB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { startTestServer } from '../harness/server.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function used(): { heapAndExternal: number; rss: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heapAndExternal: m.heapUsed + m.external, rss: m.rss };
}

test('an idle EventSource or WebSocket connection costs the server at most 50 KB', async () => {
  const N = 150;
  const t = await startTestServer({
    startQueue: false,
    config: { http: { maxPushConnections: 10_000, connectionsPerIp: 10_000 }, limits: { connectionsTotal: 10_000, connectionsPerIp: 10_000, connectionsPerNetwork: 10_000 } } as any,
  });
  await t.addUser('alice@example.test', 'correct horse battery staple');
  const auth = `Basic ${Buffer.from('alice@example.test:correct horse battery staple').toString('base64')}`;
  try {
    // Warm up the code paths once so their one-time costs are not counted per connection.
    await run(2);
    const before = used();
    const child = clients(N);
    try {
      await child.ready;
      await new Promise((r) => setTimeout(r, 500));
      const after = used();
      assert.equal(t.server.http.listeners.https!.connections >= 2 * N, true);
      const perConnection = (after.heapAndExternal - before.heapAndExternal) / (2 * N);
      const rssPerConnection = (after.rss - before.rss) / (2 * N);
      console.log(`# idle push connections: ${2 * N} (${N} EventSource + ${N} WebSocket, TLS): heap+external ${(perConnection / 1024).toFixed(1)} KB each, RSS ${(rssPerConnection / 1024).toFixed(1)} KB each`);
      assert.ok(perConnection <= 50 * 1024, `${(perConnection / 1024).toFixed(1)} KB per idle push connection`);
    } finally {
      await child.close();
    }
  } finally {
    await t.stop();
  }

  /** The client process holding `n` of each kind open; close() ends it (also when the test failed before). */
  function clients(n: number): { ready: Promise<void>; close(): Promise<void> } {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./push-idle-client.mjs', import.meta.url)), String(t.ports.https), auth, String(n), Buffer.from(t.ca).toString('base64')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
      void exited.then((code) => reject(new Error(`client exited ${code}`)));
    });
    ready.catch(() => {});
    return {
      ready,
      async close() {
        child.stdin.end();
        if (child.exitCode === null && !(await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]))) child.kill('SIGKILL');
        await exited;
      },
    };
  }

  async function run(n: number): Promise<void> {
    const child = clients(n);
    try {
      await child.ready;
    } finally {
      await child.close();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
});
