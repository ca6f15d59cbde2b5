/**
 * RFC 4865 FUTURERELEASE on an EmailSubmission envelope (RFC 8621 §7: sendAt): the MAIL FROM parameters
 * HOLDFOR (seconds) and HOLDUNTIL (an RFC 3339 date-time) say when the message is released, within the
 * server's maximum delay (the capability's maxDelayedSend).
 */

export type ReleaseTime = { ok: true; holdUntil: Date | null } | { ok: false; reply: string };

/** RFC 4865 §3: holdfor-value = 1*9DIGIT. */
const HOLDFOR = /^[0-9]{1,9}$/;
/** RFC 3339 §5.6 date-time (RFC 4865 §3 holduntil-value), with a zone. */
const HOLDUNTIL = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * When the message may be released: null for at once (no parameter). A bad value, both parameters, or a
 * release later than `maxDelaySeconds` from `now` is refused with the SMTP reply RFC 4865 gives.
 */
export function releaseTime(parameters: Record<string, string | null> | null, options: { now: Date; maxDelaySeconds: number }): ReleaseTime {
  let holdFor: string | null | undefined;
  let holdUntil: string | null | undefined;
  for (const [name, value] of Object.entries(parameters ?? {})) {
    // RFC 5321 §4.1.2: parameter keywords are case-insensitive.
    if (name.toUpperCase() === 'HOLDFOR') holdFor = value;
    else if (name.toUpperCase() === 'HOLDUNTIL') holdUntil = value;
  }
  if (holdFor === undefined && holdUntil === undefined) return { ok: true, holdUntil: null };
  // RFC 4865 §3: a server that does not offer FUTURERELEASE treats the parameters as unknown.
  if (options.maxDelaySeconds <= 0) return { ok: false, reply: '555 5.5.4 FUTURERELEASE is not offered (maxDelayedSend is 0)' };
  // RFC 4865 §3: HOLDFOR and HOLDUNTIL MUST NOT both be given.
  if (holdFor !== undefined && holdUntil !== undefined) return { ok: false, reply: '501 5.5.4 HOLDFOR and HOLDUNTIL together' };
  let at: number;
  if (holdFor !== undefined) {
    if (holdFor === null || !HOLDFOR.test(holdFor)) return { ok: false, reply: '501 5.5.4 HOLDFOR is not a number of seconds' };
    at = options.now.getTime() + Number(holdFor) * 1000;
  } else {
    at = holdUntil === null || !HOLDUNTIL.test(holdUntil!) ? NaN : Date.parse(holdUntil!.toUpperCase());
    if (Number.isNaN(at)) return { ok: false, reply: '501 5.5.4 HOLDUNTIL is not an RFC 3339 date-time' };
  }
  // RFC 4865 §3: a release past the advertised maximum is refused with 554 5.3.4.
  if (at - options.now.getTime() > options.maxDelaySeconds * 1000) return { ok: false, reply: `554 5.3.4 release time is more than ${options.maxDelaySeconds} seconds away` };
  // A time already past releases at once.
  // Whole seconds, as sendAt (a UTCDate) shows it.
  return { ok: true, holdUntil: at > options.now.getTime() ? new Date(Math.ceil(at / 1000) * 1000) : null };
}
