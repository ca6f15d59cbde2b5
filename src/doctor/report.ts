/**
 * The result of `postamt doctor`: one check per concern, each with what was found and, when it fails, what to
 * do about it. The report passes only when no check failed (a skipped check says why it was not made).
 */
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface DoctorCheck {
  /** Stable name for machines: mx, ptr, spf, dkim, dmarc, mta-sts, tls-rpt, tlsa, certificate, port, dnsbl. */
  check: string;
  status: CheckStatus;
  /** What was looked at (a record name, host:port, a list zone). */
  subject: string;
  /** What was found. */
  detail: string;
  /** What to do about a failure; "" when it passed. */
  fix: string;
}

export interface DoctorReport {
  domain: string;
  ok: boolean;
  checks: DoctorCheck[];
}

export function pass(check: string, subject: string, detail: string): DoctorCheck {
  return { check, status: 'pass', subject, detail, fix: '' };
}

export function fail(check: string, subject: string, detail: string, fix: string): DoctorCheck {
  return { check, status: 'fail', subject, detail, fix };
}

export function skip(check: string, subject: string, detail: string): DoctorCheck {
  return { check, status: 'skip', subject, detail, fix: '' };
}

export function report(domain: string, checks: DoctorCheck[]): DoctorReport {
  return { domain, ok: checks.every((c) => c.status !== 'fail'), checks };
}

/** Lines for people: status, check, subject, what was found, and the fix under each failure. */
export function formatReport(r: DoctorReport): string[] {
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(5)} ${c.check.padEnd(12)} ${c.subject}: ${c.detail}`);
    if (c.fix) lines.push(`      fix: ${c.fix}`);
  }
  const failed = r.checks.filter((c) => c.status === 'fail').length;
  lines.push(failed === 0 ? `all checks for ${r.domain} pass` : `${failed} check(s) for ${r.domain} failed`);
  return lines;
}
