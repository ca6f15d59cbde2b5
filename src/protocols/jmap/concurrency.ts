/**
 * maxConcurrentRequests (RFC 8620 §2) per user: a counter of requests in flight per username, to pass as the
 * engine's `admitRequest` hook. In memory, so it limits one process; the HTTP layer applies it to uploads too.
 */
import type { JmapIdentity } from './backend.ts';

export function concurrencyLimiter(maxPerUser: number): (identity: JmapIdentity) => (() => void) | null {
  const inFlight = new Map<string, number>();
  return (identity) => {
    const current = inFlight.get(identity.username) ?? 0;
    if (current >= maxPerUser) return null;
    inFlight.set(identity.username, current + 1);
    let released = false;
    return () => {
      // Releasing twice must not free a slot someone else holds.
      if (released) return;
      released = true;
      const left = (inFlight.get(identity.username) ?? 1) - 1;
      if (left <= 0) inFlight.delete(identity.username);
      else inFlight.set(identity.username, left);
    };
  };
}
