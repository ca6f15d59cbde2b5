/**
 * Retry timing: the configurable retry schedule with jitter, the expiry deadline and the delay-warning
 * threshold. Pure; time and randomness are passed in.
 */

export interface RetryPolicy {
  /** Delay after attempt 1, 2, ...; the last value repeats (default 1m, 5m, 15m, 30m, 1h, 2h, 4h). */
  scheduleMs: number[];
  /** Fraction of the delay added at random (0.1 = up to +10 %), so retries do not arrive in herds. */
  jitter: number;
  /** A message is bounced once it has been queued this long (default 5 days). */
  maxAgeMs: number;
  /** Send a delay DSN once a recipient has been queued this long (default 4 h; 0 disables). */
  delayWarningMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  scheduleMs: [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000],
  jitter: 0.1,
  maxAgeMs: 5 * 24 * 3_600_000,
  delayWarningMs: 4 * 3_600_000,
};

/** When to try again after `attempts` failed attempts; never later than the expiry deadline. */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, now: Date, createdAt: Date, random: () => number = Math.random): Date {
  const list = policy.scheduleMs.length > 0 ? policy.scheduleMs : [DEFAULT_RETRY_POLICY.scheduleMs[0]!];
  const base = list[Math.min(Math.max(attempts, 1) - 1, list.length - 1)]!;
  const delay = base * (1 + policy.jitter * random());
  const expiry = createdAt.getTime() + policy.maxAgeMs;
  return new Date(Math.min(now.getTime() + delay, Math.max(expiry, now.getTime())));
}

/**
 * Where a message's time in the queue starts, for expiry, retries and delay warnings: the release time of
 * one held for a delayed send (RFC 4865 §3: it is not in transit before), else its arrival.
 */
export function queuedSince(message: { createdAt: Date; holdUntil: Date | null }): Date {
  return message.holdUntil && message.holdUntil > message.createdAt ? message.holdUntil : message.createdAt;
}

export function isExpired(policy: RetryPolicy, createdAt: Date, now: Date): boolean {
  return now.getTime() - createdAt.getTime() >= policy.maxAgeMs;
}

/**
 * A delay warning is due when this deferral is the first one past the threshold: the previous result was
 * recorded before it (`lastUpdate`) and now is after it. Stateless, so a restart does not repeat it.
 */
export function isDelayWarningDue(policy: RetryPolicy, createdAt: Date, lastUpdate: Date, now: Date): boolean {
  if (policy.delayWarningMs <= 0) return false;
  const threshold = createdAt.getTime() + policy.delayWarningMs;
  return lastUpdate.getTime() < threshold && now.getTime() >= threshold;
}
