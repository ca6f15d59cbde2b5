/**
 * JMAP capability identifiers and the Core capability object with its limits (RFC 8620 §2): the limits the
 * engine enforces are the ones it advertises, so both come from one `JmapLimits` value.
 */

export const CORE_CAPABILITY = 'urn:ietf:params:jmap:core';
export const MAIL_CAPABILITY = 'urn:ietf:params:jmap:mail';
export const SUBMISSION_CAPABILITY = 'urn:ietf:params:jmap:submission';
export const VACATION_CAPABILITY = 'urn:ietf:params:jmap:vacationresponse';
export const WEBSOCKET_CAPABILITY = 'urn:ietf:params:jmap:websocket';

export interface JmapLimits {
  maxSizeUpload: number;
  maxConcurrentUpload: number;
  maxSizeRequest: number;
  maxConcurrentRequests: number;
  maxCallsInRequest: number;
  maxObjectsInGet: number;
  maxObjectsInSet: number;
  /**
   * Not a session capability: nesting depth of the request JSON beyond which it is refused as a `limit`
   * error before anything walks it (result references and validation recurse into it).
   */
  maxJsonDepth: number;
}

/** RFC 8620 §2 gives a suggested minimum for each limit; the defaults are those minimums. */
export const DEFAULT_LIMITS: Readonly<JmapLimits> = Object.freeze({
  maxSizeUpload: 50_000_000,
  maxConcurrentUpload: 4,
  maxSizeRequest: 10_000_000,
  maxConcurrentRequests: 4,
  maxCallsInRequest: 16,
  maxObjectsInGet: 500,
  maxObjectsInSet: 500,
  maxJsonDepth: 64,
});

/** Collations the server can use in /query comparators (RFC 8620 §2, RFC 4790 names). */
export const COLLATION_ALGORITHMS: readonly string[] = ['i;ascii-numeric', 'i;ascii-casemap', 'i;unicode-casemap'];

/** The value of `capabilities["urn:ietf:params:jmap:core"]` in the Session object (RFC 8620 §2). */
export function coreCapability(limits: JmapLimits): Record<string, unknown> {
  return {
    maxSizeUpload: limits.maxSizeUpload,
    maxConcurrentUpload: limits.maxConcurrentUpload,
    maxSizeRequest: limits.maxSizeRequest,
    maxConcurrentRequests: limits.maxConcurrentRequests,
    maxCallsInRequest: limits.maxCallsInRequest,
    maxObjectsInGet: limits.maxObjectsInGet,
    maxObjectsInSet: limits.maxObjectsInSet,
    collationAlgorithms: [...COLLATION_ALGORITHMS],
  };
}

export function resolveLimits(overrides: Partial<JmapLimits> = {}): JmapLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides) as [keyof JmapLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`JMAP limit ${key} must be a positive integer`);
    limits[key] = value;
  }
  return limits;
}
