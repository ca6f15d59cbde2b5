/**
 * Login failure caps and connection/message rate limits held by every node sharing one store: each node
 * keeps its own limiter (checks stay in memory, no store read per attempt) and tells the others what it
 * counted through the change feed. Failures and clearing successes are announced as they settle (one
 * write each; a node starting reads those still in the window); rate tokens are summed per client and
 * announced once a second at most, so the cluster as a whole keeps one rate, up to a second behind.
 * Submission sends per user are announced the same way, once a second, and kept for the limit's hour
 * (a node starting reads them); reservations of open transactions stay with their node.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/log.ts';
import type { AuthLimiter, AuthSettlement } from '../policy/auth-limiter.ts';
import type { RateKind, RateLimiter } from '../policy/rate-limit.ts';
import type { SubmissionRateLimiter } from '../policy/submission-rate.ts';
import type { ChangeFeed, SharedStateStore } from '../store/types.ts';

const RATE_FLUSH_MS = 1000;
const SUBMISSION_WINDOW_MS = 3600_000;

/** Sends of one node in one flush: user, recipients, time. */
type Sends = [string, number, number][];

export interface SharedLimits {
  /** Pass to AuthLimiter's `onSettled`. */
  authSettled(event: AuthSettlement): void;
  /** Pass to RateLimiter's `onTake`. */
  rateTaken(kind: RateKind, ip: string): void;
  /** Pass to SubmissionRateLimiter's `onRecord`. */
  submissionSent(user: string, recipients: number, at: number): void;
  /** Starts following the other nodes (after the limiters exist); returns a stop function. */
  follow(limiters: { auth: AuthLimiter; rates: RateLimiter | null; submission?: SubmissionRateLimiter | null }): Promise<() => void>;
}

export function sharedLimits(deps: { shared: SharedStateStore; feed: ChangeFeed; logger: Logger; authWindowMs: number }): SharedLimits {
  const { shared, feed, logger } = deps;
  const node = randomBytes(6).toString('hex');
  const pendingTakes = new Map<string, number>();
  let pendingSends: Sends = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let seq = 0;

  const warn = (err: unknown): void => logger.warn({ event: 'store.shared_failed', err }, 'telling the other nodes about login failures or rate limits failed');

  function flush(): void {
    flushTimer = null;
    if (pendingTakes.size > 0) {
      const takes = [...pendingTakes].map(([k, n]) => [k.slice(0, 1), k.slice(2), n] as const);
      pendingTakes.clear();
      shared.putShared('rate', node, { node, takes }, { announce: true, expiresAt: new Date(Date.now() + 60_000) }).catch(warn);
    }
    if (pendingSends.length > 0) {
      const sends = pendingSends;
      pendingSends = [];
      const now = Date.now();
      shared.putShared('submission', `${String(now).padStart(15, '0')}:${node}:${seq++}`, { node, sends }, { announce: true, expiresAt: new Date(now + SUBMISSION_WINDOW_MS) }).catch(warn);
    }
  }

  function flushSoon(): void {
    if (flushTimer) return;
    flushTimer = setTimeout(flush, RATE_FLUSH_MS);
    flushTimer.unref();
  }

  return {
    authSettled(event) {
      const key = `${String(event.atMs).padStart(15, '0')}:${node}:${seq++}`;
      shared.putShared('auth', key, { ...event, node }, { announce: true, expiresAt: new Date(event.atMs + deps.authWindowMs) }).catch(warn);
    },
    rateTaken(kind, ip) {
      const k = `${kind}|${ip}`;
      pendingTakes.set(k, (pendingTakes.get(k) ?? 0) + 1);
      flushSoon();
    },
    submissionSent(user, recipients, at) {
      pendingSends.push([user, recipients, at]);
      flushSoon();
    },
    async follow({ auth, rates, submission = null }) {
      for (const { value } of await shared.listShared('auth')) {
        const e = value as AuthSettlement & { node: string };
        if (e.node !== node) auth.applyRemote(e);
      }
      const applySends = (v: { node: string; sends: Sends }): void => {
        if (v.node === node || !submission) return;
        for (const [user, recipients, at] of v.sends) submission.applyRemote(user, recipients, at);
      };
      if (submission) for (const { value } of await shared.listShared('submission')) applySends(value as { node: string; sends: Sends });
      const unsubscribe = feed.subscribe((change, source) => {
        if (change.kind !== 'shared' || source.local || change.value === undefined) return;
        if (change.namespace === 'auth') {
          const e = change.value as AuthSettlement & { node: string };
          if (e.node !== node) auth.applyRemote(e);
        } else if (change.namespace === 'rate' && rates) {
          const v = change.value as { node: string; takes: [RateKind, string, number][] };
          if (v.node === node) return;
          for (const [kind, ip, n] of v.takes) rates.applyRemote(kind, ip, n);
        } else if (change.namespace === 'submission') {
          applySends(change.value as { node: string; sends: Sends });
        }
      });
      return () => {
        unsubscribe();
        if (flushTimer) clearTimeout(flushTimer);
        flushTimer = null;
      };
    },
  };
}
