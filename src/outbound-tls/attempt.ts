/**
 * One outbound TLS negotiation as TLS-RPT counts it (RFC 8460 §4.4): the policy it ran under, the MX host and
 * address, and success or the failure's result type. Recorded by whatever implements TlsAttemptRecorder.
 */
import type { PolicyRef } from './policy.ts';
import type { TlsResultType } from './tls-check.ts';

export interface TlsAttempt {
  at: number;
  policy: PolicyRef;
  result: TlsResultType;
  mx: string;
  ip: string | null;
  detail?: string;
}

export interface TlsAttemptRecorder {
  /** Cheap and never throws: called once per connection attempt to an MX host. */
  record(attempt: TlsAttempt): void;
}
