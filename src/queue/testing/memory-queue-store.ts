/**
 * An in-memory QueueStore for queue tests (not for production), held to the storage contract's queue part
 * (store/contract/queue-contract.ts) like the real backends.
 */
import { LocalLeases } from '../../store/local-leases.ts';
import type { QueueAttemptRecord, QueueEnqueueInput, QueueLease, QueueMessageRecord, QueueRecipientRecord, QueueRecipientUpdate, QueueStats, QueueStore } from '../../store/types.ts';

export class MemoryQueueStore implements QueueStore {
  readonly messages = new Map<string, QueueMessageRecord>();
  readonly bodies = new Map<string, Buffer>();
  #nextId = 1;
  #seq = 1;
  readonly #leases = new LocalLeases();
  now: () => Date;

  constructor(options: { now?: () => Date } = {}) {
    this.now = options.now ?? (() => new Date());
  }

  async queueStats(): Promise<QueueStats> {
    const all = [...this.messages.values()];
    const oldest = all.reduce<Date | null>((min, m) => (min === null || m.createdAt < min ? m.createdAt : min), null);
    const pending = all.flatMap((m) => m.recipients).filter((r) => r.state === 'queued' || r.state === 'deferred' || r.state === 'held').length;
    return { messages: all.length, pendingRecipients: pending, oldestCreatedAt: oldest };
  }

  async listQueue(): Promise<QueueMessageRecord[]> {
    return [...this.messages.values()].map((m) => structuredClone(m));
  }
  async getQueueMessage(id: string): Promise<QueueMessageRecord | null> {
    const m = this.messages.get(id);
    return m ? structuredClone(m) : null;
  }
  async readQueueMessage(id: string): Promise<Buffer> {
    const b = this.bodies.get(id);
    if (!b) throw new Error(`no queue message ${id}`);
    return Buffer.from(b);
  }
  async *streamQueueMessage(id: string): AsyncIterable<Buffer> {
    yield await this.readQueueMessage(id);
  }
  #all(): QueueRecipientRecord[] {
    return [...this.messages.values()].flatMap((m) => m.recipients);
  }
  async dueRecipients(now: Date, limit: number, options: { excludeIds?: number[] } = {}): Promise<QueueRecipientRecord[]> {
    return this.#due(now, limit, options.excludeIds ?? []);
  }
  #due(now: Date, limit: number, excludeIds: number[]): QueueRecipientRecord[] {
    const exclude = new Set(excludeIds);
    return this.#all()
      .filter((r) => (r.state === 'queued' || r.state === 'deferred') && r.nextAttemptAt.getTime() <= now.getTime() && !exclude.has(r.id))
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime())
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }
  async claimRecipients(now: Date, limit: number, lease: QueueLease): Promise<QueueRecipientRecord[]> {
    const due = this.#due(now, limit, this.#leases.liveIds(now.getTime()));
    this.#leases.take(due.map((r) => r.id), lease);
    return due;
  }
  async renewLeases(ids: number[], lease: QueueLease): Promise<number[]> {
    return this.#leases.renew(ids, lease);
  }
  async nextDueAt(): Promise<Date | null> {
    const now = this.now().getTime();
    const leased = new Set(this.#leases.liveIds(now));
    const times = this.#all().filter((r) => (r.state === 'queued' || r.state === 'deferred') && !leased.has(r.id)).map((r) => r.nextAttemptAt.getTime());
    const expiry = this.#leases.earliestExpiry(now);
    if (expiry !== null) times.push(expiry);
    return times.length ? new Date(Math.min(...times)) : null;
  }
  async updateRecipients(updates: QueueRecipientUpdate[]): Promise<void> {
    const byId = new Map(this.#all().map((r) => [r.id, r]));
    for (const u of updates) {
      const r = byId.get(u.id);
      if (!r) continue;
      const stayHeld = u.keepHeld === true && r.state === 'held' && (u.state === 'queued' || u.state === 'deferred');
      if (!stayHeld) r.state = u.state;
      if (u.attempts !== undefined) r.attempts = u.attempts;
      if (u.nextAttemptAt && !stayHeld) r.nextAttemptAt = u.nextAttemptAt;
      if (u.lastResult !== undefined) r.lastResult = u.lastResult;
      if (u.retryRequestedAt !== undefined) r.retryRequestedAt = u.retryRequestedAt;
      r.updatedAt = this.now();
      this.#leases.release(u.id, u.leaseOwner);
    }
  }
  async recordAttempt(attempt: QueueAttemptRecord): Promise<{ enqueued: string[]; removed: boolean }> {
    await this.updateRecipients(attempt.updates);
    const enqueued: string[] = [];
    for (const m of attempt.enqueue ?? []) enqueued.push(await this.enqueue(m.input, m.body));
    const message = this.messages.get(attempt.queueId);
    const removed = message !== undefined && message.recipients.every((r) => r.state === 'delivered' || r.state === 'bounced') && (await this.deleteQueueMessage(attempt.queueId));
    return { enqueued, removed };
  }
  async deleteQueueMessage(id: string): Promise<boolean> {
    this.bodies.delete(id);
    return this.messages.delete(id);
  }
  async cancelHeldMessage(id: string, now: Date): Promise<boolean> {
    const m = this.messages.get(id);
    if (!m || m.holdUntil === null || m.holdUntil <= now) return false;
    if (m.recipients.some((r) => r.attempts > 0 || (r.state !== 'queued' && r.state !== 'held') || (r.state === 'queued' && r.nextAttemptAt <= now))) return false;
    return this.deleteQueueMessage(id);
  }
  async enqueue(input: QueueEnqueueInput, body: Buffer): Promise<string> {
    const id = input.id ?? `Q${this.#seq++}`;
    const now = this.now();
    const due = input.holdUntil && input.holdUntil > now ? input.holdUntil : now;
    this.messages.set(id, {
      id,
      sender: input.sender,
      envid: input.envid ?? null,
      ret: input.ret ?? null,
      origin: input.origin ?? 'smtp',
      submitter: input.submitter ?? null,
      size: body.length,
      createdAt: now,
      holdUntil: input.holdUntil ? due : null,
      recipients: input.recipients.map((r) => ({
        id: this.#nextId++,
        queueId: id,
        address: r.address,
        domain: r.address.slice(r.address.lastIndexOf('@') + 1).toLowerCase(),
        orcpt: r.orcpt ?? null,
        notify: r.notify ?? null,
        state: 'queued',
        attempts: 0,
        nextAttemptAt: due,
        lastResult: null,
        updatedAt: now,
        retryRequestedAt: null,
      })),
    });
    this.bodies.set(id, Buffer.from(body));
    return id;
  }
}
