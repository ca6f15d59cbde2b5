/**
 * JMAP push subscriptions (RFC 8620 §7.2): kept in the store per login credential, verified by a posted
 * PushVerification, then fed the PushHub's StateChanges (the ones EventSource and WebSocket get) and posted
 * one at a time per subscription, changes arriving meanwhile coalesced, failures retried with back-off.
 */
import { randomBytes } from 'node:crypto';
import { loginProblem } from '../accounts/credential-stamp.ts';
import type { Logger } from '../core/log.ts';
import type { PushHub, PushSubscriber, StateChange } from '../http/push-hub.ts';
import type { JmapIdentity } from '../protocols/jmap/backend.ts';
import { setError, type SetError } from '../protocols/jmap/method-error.ts';
import type { JmapPushSubscription, PushSubscriptionBackend, PushSubscriptionCreate, PushSubscriptionUpdate } from '../protocols/jmap/methods/push-subscription.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import { isAccountDataEvent, type AccessTokenStore, type AccountStore, type ChangeFeed, type PushSubscriptionRecord, type PushSubscriptionStore } from '../store/types.ts';
import { pushPost, type PushPostOptions, type PushPostResult } from './push-post.ts';
import { pushUrlProblem, resolvesRefused } from './push-url.ts';

export interface PushSubscriptionSettings {
  /** Subscriptions per login credential. */
  perCredential: number;
  maxExpiryMs: number;
  /** Internal networks push URLs may reach anyway. */
  allowed: readonly string[];
  maxFailures: number;
  ca: string[];
}

interface Live {
  record: PushSubscriptionRecord;
  subscriber: PushSubscriber | null;
  /** StateChange `changed` waiting to be posted (coalesced). */
  pending: Record<string, Record<string, string>> | null;
  busy: boolean;
  failures: number;
  closed: boolean;
}

const POST_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 60_000;
const SWEEP_MS = 60_000;
/** RFC 8030 §5.2: a state change is worth little after a day. */
const MAX_TTL_S = 86_400;

/** RFC 8620 §1.4 UTCDate, whole seconds. */
function utcDate(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

function merge(into: Record<string, Record<string, string>> | null, from: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  const out = into ?? {};
  for (const [account, states] of Object.entries(from)) out[account] = { ...out[account], ...states };
  return out;
}

export class PushSubscriptions implements PushSubscriptionBackend {
  private readonly store: PushSubscriptionStore & Pick<AccountStore, 'getAccountById' | 'listAppPasswords'> & Pick<AccessTokenStore, 'getAccessToken'> & ChangeFeed;
  private readonly hub: PushHub;
  private readonly settings: PushSubscriptionSettings;
  private readonly logger: Logger;
  private readonly post: (options: PushPostOptions) => Promise<PushPostResult>;
  private readonly live = new Map<string, Live>();
  private unsubscribe: (() => void) | null = null;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(options: { store: PushSubscriptions['store']; hub: PushHub; settings: PushSubscriptionSettings; logger: Logger; post?: (options: PushPostOptions) => Promise<PushPostResult> }) {
    this.store = options.store;
    this.hub = options.hub;
    this.settings = options.settings;
    this.logger = options.logger;
    this.post = options.post ?? pushPost;
  }

  /** Loads the verified subscriptions and starts watching credentials and expiry. */
  async start(): Promise<void> {
    this.unsubscribe = this.store.subscribe((change) => {
      if (change.kind === 'account' && change.event !== 'added' && !isAccountDataEvent(change.event)) void this.checkCredentials(change.accountId);
      else if (change.kind === 'reset') void this.checkAll();
    });
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    await this.sweep();
    for (const record of await this.store.listAllPushSubscriptions()) if (record.verified) await this.activate(record);
    await this.checkAll();
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const id of [...this.live.keys()]) this.deactivate(id);
  }

  async pushSubscriptions(identity: JmapIdentity): Promise<JmapPushSubscription[]> {
    const now = Date.now();
    return (await this.owned(identity)).filter((r) => r.expires.getTime() > now).map((r) => ({
      id: r.id, deviceClientId: r.deviceClientId, verificationCode: r.verified ? r.verificationCode : null, expires: utcDate(r.expires), types: r.types,
    }));
  }

  async createPushSubscription(identity: JmapIdentity, input: PushSubscriptionCreate): Promise<{ id: string; expires: string } | SetError> {
    const login = identity as JmapIdentity & AuthIdentity;
    const refuse = (error: SetError, why: string): SetError => {
      this.logger.info({ event: 'jmap.push_subscription_refused', account: identity.username, url: input.url, reason: why }, 'push subscription refused');
      return error;
    };
    // RFC 8620 §7.2: the url must be https; internal addresses are refused so no user can reach them through us.
    const problem = pushUrlProblem(input.url, this.settings.allowed) ?? ((await resolvesRefused(input.url, this.settings.allowed)) ? 'an internal address' : null);
    if (problem) return refuse(setError('invalidProperties', { properties: ['url'], description: `The push URL is refused: ${problem}.` }), problem);
    const now = Date.now();
    if (input.expires !== null && input.expires.getTime() <= now) return refuse(setError('invalidProperties', { properties: ['expires'], description: 'expires is in the past.' }), 'expires in the past');
    if ((await this.owned(identity)).length >= this.settings.perCredential) return refuse(setError('overQuota', { description: `At most ${this.settings.perCredential} push subscriptions per login.` }), 'too many');
    // RFC 8620 §7.2: the server may shorten expires (and tells the client the value it keeps).
    const expires = new Date(Math.min(input.expires?.getTime() ?? Infinity, now + this.settings.maxExpiryMs));
    const record: PushSubscriptionRecord = {
      id: `P${randomBytes(12).toString('base64url')}`,
      accountId: login.accountId,
      appPasswordId: login.appPasswordId ?? null,
      credential: login.credential ?? null,
      accessToken: login.accessToken ?? null,
      deviceClientId: input.deviceClientId,
      url: input.url,
      keys: input.keys,
      verificationCode: randomBytes(16).toString('base64url'),
      verified: false,
      expires,
      types: input.types,
      createdAt: new Date(now),
    };
    await this.store.addPushSubscription(record);
    this.logger.info({ event: 'jmap.push_subscription_created', account: identity.username, id: record.id, url: record.url, encrypted: record.keys !== null, expires: utcDate(expires) }, 'push subscription created');
    // RFC 8620 §7.2.2: a PushVerification goes to the url; nothing else until the client sets the code back.
    setImmediate(() => void this.send(record, { '@type': 'PushVerification', pushSubscriptionId: record.id, verificationCode: record.verificationCode }, 'verification'));
    return { id: record.id, expires: utcDate(expires) };
  }

  async updatePushSubscription(identity: JmapIdentity, id: string, patch: PushSubscriptionUpdate): Promise<{ expires?: string } | SetError | null> {
    const record = (await this.owned(identity)).find((r) => r.id === id);
    if (!record) return null;
    const extra: { expires?: string } = {};
    const change: { verified?: boolean; expires?: Date; types?: string[] | null } = {};
    if (patch.verificationCode !== undefined) {
      // RFC 8620 §7.2.2: only the code the server sent verifies the subscription.
      if (patch.verificationCode !== record.verificationCode) return setError('invalidProperties', { properties: ['verificationCode'], description: 'That is not the verification code sent to the push URL.' });
      change.verified = true;
    }
    if (patch.expires !== undefined) {
      const now = Date.now();
      if (patch.expires !== null && patch.expires.getTime() <= now) return setError('invalidProperties', { properties: ['expires'], description: 'expires is in the past.' });
      change.expires = new Date(Math.min(patch.expires?.getTime() ?? Infinity, now + this.settings.maxExpiryMs));
      if (patch.expires === null || change.expires.getTime() !== patch.expires.getTime()) extra.expires = utcDate(change.expires);
    }
    if (patch.types !== undefined) change.types = patch.types;
    if (!(await this.store.updatePushSubscription(id, change))) return null;
    const after: PushSubscriptionRecord = { ...record, ...change };
    if (after.verified && (change.verified !== undefined || change.types !== undefined || change.expires !== undefined)) await this.activate(after);
    return extra;
  }

  async destroyPushSubscription(identity: JmapIdentity, id: string): Promise<boolean> {
    if (!(await this.owned(identity)).some((r) => r.id === id)) return false;
    this.deactivate(id);
    return this.store.removePushSubscription(id);
  }

  /** RFC 8620 §7.2: a subscription is visible only to the credential that made it. */
  private async owned(identity: JmapIdentity): Promise<PushSubscriptionRecord[]> {
    const login = identity as JmapIdentity & Partial<AuthIdentity>;
    if (typeof login.accountId !== 'number') return [];
    return (await this.store.listPushSubscriptions(login.accountId)).filter((r) => r.appPasswordId === (login.appPasswordId ?? null) && r.credential === (login.credential ?? null) && r.accessToken === (login.accessToken ?? null));
  }

  private async activate(record: PushSubscriptionRecord): Promise<void> {
    const before = this.live.get(record.id);
    const live: Live = { record, subscriber: null, pending: before?.pending ?? null, busy: false, failures: 0, closed: false };
    if (before) this.deactivate(record.id);
    this.live.set(record.id, live);
    live.subscriber = await this.hub.add({ accountId: record.accountId, types: record.types === null ? null : new Set(record.types), send: (change: StateChange) => this.enqueue(live, change) });
    if (live.closed) this.hub.remove(live.subscriber);
  }

  private deactivate(id: string): void {
    const live = this.live.get(id);
    if (!live) return;
    live.closed = true;
    if (live.subscriber) this.hub.remove(live.subscriber);
    this.live.delete(id);
  }

  private enqueue(live: Live, change: StateChange): void {
    live.pending = merge(live.pending, change.changed);
    if (!live.busy) void this.pump(live);
  }

  /** One POST at a time per subscription; what arrives meanwhile goes in the next one. */
  private async pump(live: Live): Promise<void> {
    live.busy = true;
    try {
      while (live.pending && !live.closed) {
        if (live.record.expires.getTime() <= Date.now()) {
          await this.remove(live.record, 'expired');
          return;
        }
        // A subscription of a login session that ended goes with it (logout leaves no change to hear).
        if (live.record.accessToken !== null && (await this.sessionEnded(live.record.accessToken))) {
          await this.remove(live.record, 'login session ended');
          return;
        }
        const changed = live.pending;
        live.pending = null;
        const outcome = await this.send(live.record, { '@type': 'StateChange', changed }, 'state');
        if (outcome === 'ok' || outcome === 'refused') live.failures = 0;
        else if (outcome === 'gone') {
          await this.remove(live.record, 'push service said the subscription is gone');
          return;
        } else {
          live.failures += 1;
          if (live.failures >= this.settings.maxFailures) {
            this.logger.warn({ event: 'jmap.push_dropped', id: live.record.id, accountId: live.record.accountId, failures: live.failures }, 'push failed repeatedly: pending state change dropped');
            live.failures = 0;
            continue;
          }
          // Keep what failed, under anything newer; wait, doubling each time (or as Retry-After says).
          live.pending = merge(changed, live.pending ?? {});
          const delay = outcome.retryAfterMs ?? Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (live.failures - 1));
          await new Promise((r) => setTimeout(r, Math.min(delay, MAX_BACKOFF_MS)).unref());
        }
      }
    } finally {
      live.busy = false;
    }
  }

  /** Posts one object; 'gone' for 404/410 (RFC 8030 §7.3), 'refused' for another 4xx, a retry for 429/5xx/network. */
  private async send(record: PushSubscriptionRecord, body: unknown, kind: string): Promise<'ok' | 'gone' | 'refused' | { retryAfterMs: number | null }> {
    const started = Date.now();
    const ttl = Math.max(0, Math.min(MAX_TTL_S, Math.floor((record.expires.getTime() - started) / 1000)));
    const fields = { id: record.id, accountId: record.accountId, kind, encrypted: record.keys !== null };
    try {
      const result = await this.post({ url: record.url, keys: record.keys, body, ttl, allowed: this.settings.allowed, ca: this.settings.ca, timeoutMs: POST_TIMEOUT_MS });
      const level = result.status >= 200 && result.status < 300 ? 'info' : 'warn';
      this.logger[level]({ event: 'jmap.push_sent', ...fields, status: result.status, ms: Date.now() - started }, 'push posted');
      if (result.status >= 200 && result.status < 300) return 'ok';
      if (result.status === 404 || result.status === 410) return 'gone';
      if (result.status === 429 || result.status >= 500) return { retryAfterMs: result.retryAfterMs };
      return 'refused';
    } catch (err) {
      this.logger.warn({ event: 'jmap.push_failed', ...fields, err }, 'push post failed');
      return { retryAfterMs: null };
    }
  }

  private async remove(record: PushSubscriptionRecord, reason: string): Promise<void> {
    this.deactivate(record.id);
    if (await this.store.removePushSubscription(record.id)) this.logger.info({ event: 'jmap.push_subscription_removed', id: record.id, accountId: record.accountId, reason }, 'push subscription removed');
  }

  private async sweep(): Promise<void> {
    try {
      for (const id of await this.store.removeExpiredPushSubscriptions(new Date())) {
        this.deactivate(id);
        this.logger.info({ event: 'jmap.push_subscription_removed', id, reason: 'expired' }, 'push subscription removed');
      }
      for (const record of await this.store.listAllPushSubscriptions()) {
        if (record.accessToken !== null && (await this.sessionEnded(record.accessToken))) await this.remove(record, 'login session ended');
      }
    } catch (err) {
      this.logger.warn({ event: 'jmap.push_sweep_failed', err }, 'removing expired push subscriptions failed');
    }
  }

  private async sessionEnded(tokenHash: string): Promise<boolean> {
    const token = await this.store.getAccessToken(tokenHash);
    return token === null || token.expiresAt.getTime() <= Date.now();
  }

  private async checkAll(): Promise<void> {
    const accounts = new Set((await this.store.listAllPushSubscriptions().catch(() => [])).map((r) => r.accountId));
    for (const accountId of accounts) await this.checkCredentials(accountId);
  }

  /** Removes the subscriptions whose credential no longer logs in (password changed, app password removed, account gone). */
  private async checkCredentials(accountId: number): Promise<void> {
    try {
      const records = await this.store.listPushSubscriptions(accountId);
      if (records.length === 0) return;
      const account = await this.store.getAccountById(accountId);
      const appIds = new Set((await this.store.listAppPasswords(accountId)).map((a) => a.id));
      for (const record of records) {
        const identity: AuthIdentity = { accountId, address: '', ...(record.credential !== null ? { credential: record.credential } : {}), ...(record.appPasswordId !== null ? { appPasswordId: record.appPasswordId } : {}) };
        const reason = loginProblem(identity, account) ?? (record.appPasswordId !== null && !appIds.has(record.appPasswordId) ? 'app password removed' : null)
          ?? (record.accessToken !== null && (await this.sessionEnded(record.accessToken)) ? 'login session ended' : null);
        if (reason) await this.remove(record, reason);
      }
      // Rows removed with their app password by the store itself leave nothing live behind.
      const kept = new Set((await this.store.listPushSubscriptions(accountId)).map((r) => r.id));
      for (const [id, live] of this.live) if (live.record.accountId === accountId && !kept.has(id)) this.deactivate(id);
    } catch (err) {
      this.logger.warn({ event: 'jmap.push_check_failed', accountId, err }, 'checking push subscription credentials failed');
    }
  }
}
