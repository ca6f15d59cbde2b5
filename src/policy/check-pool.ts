/**
 * Runs the CPU-heavy checks of untrusted messages (mailauth's SPF/DKIM/DMARC/ARC, DKIM signing, ARC sealing)
 * on a pool of worker threads, so that no single message can stall the event loop that serves every other
 * connection. A task that runs past the time limit has its worker terminated (its tasks fail: 451 at the
 * caller) and a fresh worker takes its place.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/log.ts';
import type { InboundAuthResult } from './inbound-auth.ts';
import type { AuthenticateInput, MessageChecks, SealInput, SignInput } from './message-checks.ts';
import { dnsErrorCode, type PolicyResolver } from './types.ts';
import { reviveBuffers, type CheckKind, type FromWorker, type ToWorker } from './check-protocol.ts';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  resolver: PolicyResolver | null;
  timer: NodeJS.Timeout;
  slot: Slot;
}

interface Slot {
  worker: Worker;
  pending: Set<number>;
}

export interface CheckPoolOptions {
  size: number;
  /** A task running longer than this fails and its worker is replaced. */
  timeoutMs: number;
  logger: Logger;
}

export class CheckPool implements MessageChecks {
  private readonly options: CheckPoolOptions;
  private readonly slots: Slot[] = [];
  private readonly tasks = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(options: CheckPoolOptions) {
    this.options = options;
  }

  authenticate(input: AuthenticateInput, resolver: PolicyResolver): Promise<InboundAuthResult> {
    return this.run('authenticate', input, resolver) as Promise<InboundAuthResult>;
  }

  sign(input: SignInput): Promise<Buffer> {
    return this.run('sign', input, null) as Promise<Buffer>;
  }

  seal(input: SealInput): Promise<Buffer> {
    return this.run('seal', input, null) as Promise<Buffer>;
  }

  /** Terminates every worker; tasks still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.splice(0).map((s) => this.retire(s, 'server stopping')));
  }

  private run(kind: CheckKind, input: unknown, resolver: PolicyResolver | null): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('message checks stopped'));
    const slot = this.pickSlot();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.options.logger.error({ event: 'policy.check_timeout', kind, timeoutMs: this.options.timeoutMs }, 'message check ran too long: worker replaced');
        void this.retire(slot, 'message check timed out');
      }, this.options.timeoutMs);
      this.tasks.set(id, { resolve, reject, resolver, timer, slot });
      slot.pending.add(id);
      slot.worker.postMessage({ type: 'task', id, kind, input } satisfies ToWorker);
    });
  }

  /** The least busy worker; a new one while the pool is not full and every worker has work. */
  private pickSlot(): Slot {
    let best: Slot | null = null;
    for (const s of this.slots) if (!best || s.pending.size < best.pending.size) best = s;
    if (best && (best.pending.size === 0 || this.slots.length >= this.options.size)) return best;
    return this.startSlot();
  }

  private startSlot(): Slot {
    const worker = new Worker(new URL('./check-worker.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    const slot: Slot = { worker, pending: new Set() };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (err) => {
      this.options.logger.error({ event: 'policy.check_worker_failed', err }, 'message check worker failed');
      void this.retire(slot, 'message check worker failed');
    });
    worker.on('exit', () => void this.retire(slot, 'message check worker exited'));
    // Idle workers must not keep the process alive (after the listeners: adding one refs the port again).
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (message.type === 'dns') {
      const task = this.tasks.get(message.task);
      if (!task?.resolver) return;
      task.resolver.resolve(message.name, message.rrtype).then(
        (value) => slot.worker.postMessage({ type: 'dns-reply', q: message.q, ok: true, value } satisfies ToWorker),
        (err: unknown) => slot.worker.postMessage({ type: 'dns-reply', q: message.q, ok: false, error: err instanceof Error ? err.message : String(err), code: dnsErrorCode(err) } satisfies ToWorker),
      );
      return;
    }
    const task = this.tasks.get(message.id);
    if (!task) return;
    this.finish(message.id, task);
    if (message.type === 'done') task.resolve(reviveBuffers(message.result));
    else task.reject(new Error(message.error));
  }

  private finish(id: number, task: Pending): void {
    clearTimeout(task.timer);
    this.tasks.delete(id);
    task.slot.pending.delete(id);
  }

  /** Takes a worker out of the pool, failing its tasks. */
  private async retire(slot: Slot, reason: string): Promise<void> {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    for (const id of [...slot.pending]) {
      const task = this.tasks.get(id);
      if (!task) continue;
      this.finish(id, task);
      task.reject(new Error(reason));
    }
    await slot.worker.terminate().catch(() => undefined);
  }
}
