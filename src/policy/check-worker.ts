/**
 * The task loop of a message-check worker thread: runs the in-process checks (policy/message-checks.ts) for
 * the main thread and asks it every DNS question, so one resolver (and its cache and test stubs) serves all.
 */
import { parentPort } from 'node:worker_threads';
import { localMessageChecks } from './message-checks.ts';
import type { PolicyResolver } from './types.ts';
import { reviveBuffers, type FromWorker, type ToWorker } from './check-protocol.ts';

const port = parentPort!;
const dnsWaiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
let nextQuestion = 1;

function resolverFor(task: number): PolicyResolver {
  return {
    resolve(name, rrtype) {
      const q = nextQuestion++;
      return new Promise((resolve, reject) => {
        dnsWaiting.set(q, { resolve, reject });
        port.postMessage({ type: 'dns', task, q, name, rrtype } satisfies FromWorker);
      });
    },
  };
}

async function run(message: Extract<ToWorker, { type: 'task' }>): Promise<unknown> {
  const input = reviveBuffers(message.input) as never;
  if (message.kind === 'authenticate') return localMessageChecks.authenticate(input, resolverFor(message.id));
  if (message.kind === 'sign') return localMessageChecks.sign(input);
  return localMessageChecks.seal(input);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'dns-reply') {
    const waiting = dnsWaiting.get(message.q);
    if (!waiting) return;
    dnsWaiting.delete(message.q);
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(Object.assign(new Error(message.error), { code: message.code }));
    return;
  }
  run(message).then(
    (result) => port.postMessage({ type: 'done', id: message.id, result } satisfies FromWorker),
    (err: unknown) => port.postMessage({ type: 'failed', id: message.id, error: err instanceof Error ? err.message : String(err) } satisfies FromWorker),
  );
});
