/**
 * The outbound side of relay alone: N queued messages (enqueued before the clock starts) relayed by the
 * QueueRunner into Postfix's `smtp-sink`, 20 connections; prints msg/s and CPU ms per message of the main
 * thread and of the whole process (so the delivery threads' share shows). No acceptance, no load generator.
 *
 *   node --import tsx bench/relay-runner.ts [--n 2000] [--kb 100] [--threads 1] [--port 12527] [--prof FILE]
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { startDnsServer } from '../test/harness/dns-server.ts';
import { tempDir } from '../test/harness/temp-dir.ts';
import { createLogger } from '../src/core/log.ts';
import { openStore } from '../src/store/open.ts';
import { QueueRunner } from '../src/queue/runner.ts';
import { loopbackRunnerOptions } from '../src/queue/testing/loopback-runner-options.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const n = Number(opt('n', '2000'));
const kb = Number(opt('kb', '100'));
const threads = Number(opt('threads', '1'));
const port = Number(opt('port', '12527'));
/** Writes a V8 CPU profile of the main thread during the relay phase only to this file. */
const prof = opt('prof', '');

/** user+system CPU ms of a thread of this process (main thread: the process id). */
function threadCpuMs(tid: number): number {
  const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function waitPort(p: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: p });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sink = spawn('smtp-sink', [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), `127.0.0.1:${port}`, '256'], { stdio: 'ignore' });
await waitPort(port);
const dns = await startDnsServer({ 'relay.example': { MX: [{ preference: 10, exchange: 'mx.relay.example' }] }, 'mx.relay.example': { A: ['127.0.0.1'] } });
const store = await openStore({ dataDir: tempDir('postamt-relay-runner-') });
const line = 'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012345678\r\n';
const body = Buffer.from(`From: <a@sender.example>\r\nTo: <b@relay.example>\r\nSubject: bench\r\nMessage-ID: <x@sender.example>\r\n\r\n${line.repeat(Math.ceil((kb * 1024) / line.length))}`);
const out = new PassThrough();
out.resume();
const runner = new QueueRunner({
  store,
  logger: createLogger({ destination: out, level: 'info' }),
  ...loopbackRunnerOptions(dns.server, port),
  maxConnectionsPerDestination: 20,
  pollIntervalMs: 600_000,
  deliveryThreads: threads,
});
// The thread loads first; the messages are queued after (nothing kicks the runner), then one kick starts the clock.
runner.start();
while (threads > 0 && !runner.deliveryThreads!.available()) await new Promise((r) => setTimeout(r, 20));
await Promise.all(Array.from({ length: n }, (_, i) => store.enqueue({ sender: 'a@sender.example', recipients: [{ address: `b${i % 50}@relay.example` }] }, body)));
const session = prof ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const began = performance.now();
const main0 = threadCpuMs(process.pid);
const proc0 = process.cpuUsage();
runner.kick();
let left = n;
while (left > 0) {
  await new Promise((r) => setTimeout(r, 20));
  left = (await store.queueStats()).messages;
}
const ms = performance.now() - began;
if (session) writeFileSync(prof, JSON.stringify((await session.post('Profiler.stop')).profile));
const mainMs = threadCpuMs(process.pid) - main0;
const p = process.cpuUsage(proc0);
const procMs = (p.user + p.system) / 1000;
console.log(JSON.stringify({ n, kb, threads, msgPerS: Math.round((n / ms) * 1000), mainMsPerMsg: +(mainMs / n).toFixed(3), processMsPerMsg: +(procMs / n).toFixed(3), load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') }));
await runner.stop();
await store.close();
await dns.stop();
sink.kill();
