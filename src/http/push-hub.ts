/**
 * Push of JMAP state changes (RFC 8620 §7.1 StateChange) to EventSource and WebSocket subscribers, fed by
 * the store's change feed through a PushSource: changes are gathered per account for a moment, the states
 * of the types concerned are read once, and each subscriber gets only the types it asked for whose state
 * moved since it last heard. A subscriber holds only its filter, its last states and a send function.
 */
import type { Logger } from '../core/log.ts';

export interface PushSource {
  /** Data type names whose states can be pushed. */
  readonly types: readonly string[];
  /** The JMAP account id of a store account. */
  accountIdOf(accountId: number): string;
  states(accountId: number, types: readonly string[]): Promise<Record<string, string>>;
  /** Calls back with accounts whose types may have changed ('all' after a feed reset); returns unsubscribe. */
  subscribe(listener: (accountId: number | 'all', types: readonly string[]) => void): () => void;
}

/** RFC 8620 §7.1: the StateChange object. */
export interface StateChange {
  '@type': 'StateChange';
  changed: Record<string, Record<string, string>>;
  /** RFC 8887 §4.3.5: a token the client may send back to hear what it missed (WebSocket only). */
  pushState?: string;
}

export interface PushSubscriber {
  accountId: number;
  /** Types the client asked for; null for all. */
  types: ReadonlySet<string> | null;
  /** Last state sent (or seen at subscription) per type. */
  last: Record<string, string>;
  send(change: StateChange): void;
}

/** Changes arriving within this window are pushed together (one read of the states per account). */
const GATHER_MS = 20;

export class PushHub {
  private readonly source: PushSource;
  private readonly logger: Logger;
  private readonly byAccount = new Map<number, Set<PushSubscriber>>();
  private readonly pending = new Map<number, Set<string>>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(options: { source: PushSource; logger: Logger }) {
    this.source = options.source;
    this.logger = options.logger;
  }

  get types(): readonly string[] {
    return this.source.types;
  }

  get size(): number {
    let n = 0;
    for (const set of this.byAccount.values()) n += set.size;
    return n;
  }

  /** Adds a subscriber, its baseline the current states (it hears changes made from now on). */
  async add(subscriber: Omit<PushSubscriber, 'last'> & { last?: Record<string, string> }): Promise<PushSubscriber> {
    this.unsubscribe ??= this.source.subscribe((accountId, types) => this.changed(accountId, types));
    const sub = subscriber as PushSubscriber;
    if (!sub.last) sub.last = await this.source.states(sub.accountId, this.wanted(sub));
    let set = this.byAccount.get(sub.accountId);
    if (!set) this.byAccount.set(sub.accountId, (set = new Set()));
    set.add(sub);
    // A state that moved between reading the baseline and now is pushed at once.
    this.changed(sub.accountId, this.source.types);
    return sub;
  }

  remove(subscriber: PushSubscriber): void {
    const set = this.byAccount.get(subscriber.accountId);
    if (!set) return;
    set.delete(subscriber);
    if (set.size === 0) this.byAccount.delete(subscriber.accountId);
  }

  /** The current states of the subscriber's types (WebSocket pushState catch-up). */
  async current(accountId: number, types: ReadonlySet<string> | null): Promise<Record<string, string>> {
    return this.source.states(accountId, types ? [...types].filter((t) => this.source.types.includes(t)) : this.source.types);
  }

  accountIdOf(accountId: number): string {
    return this.source.accountIdOf(accountId);
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.byAccount.clear();
    this.pending.clear();
  }

  private wanted(sub: Pick<PushSubscriber, 'types'>): string[] {
    return sub.types ? this.source.types.filter((t) => sub.types!.has(t)) : [...this.source.types];
  }

  private changed(accountId: number | 'all', types: readonly string[]): void {
    const accounts = accountId === 'all' ? [...this.byAccount.keys()] : this.byAccount.has(accountId) ? [accountId] : [];
    for (const id of accounts) {
      let set = this.pending.get(id);
      if (!set) this.pending.set(id, (set = new Set()));
      for (const t of types) set.add(t);
    }
    if (this.pending.size > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, GATHER_MS);
      this.timer.unref();
    }
  }

  private async flush(): Promise<void> {
    const work = [...this.pending];
    this.pending.clear();
    for (const [accountId, types] of work) {
      const subs = this.byAccount.get(accountId);
      if (!subs || subs.size === 0) continue;
      let states: Record<string, string>;
      try {
        states = await this.source.states(accountId, [...types]);
      } catch (err) {
        this.logger.warn({ event: 'jmap.push_failed', accountId, err }, 'reading states for push failed');
        continue;
      }
      const jmapId = this.source.accountIdOf(accountId);
      for (const sub of subs) {
        const moved: Record<string, string> = {};
        for (const [type, state] of Object.entries(states)) {
          if (sub.types && !sub.types.has(type)) continue;
          if (sub.last[type] !== state) moved[type] = state;
        }
        if (Object.keys(moved).length === 0) continue;
        Object.assign(sub.last, moved);
        try {
          sub.send({ '@type': 'StateChange', changed: { [jmapId]: moved } });
        } catch (err) {
          this.logger.warn({ event: 'jmap.push_failed', accountId, err }, 'sending a state change failed');
        }
      }
    }
  }
}
