/**
 * The spam score: each check (DNS lists, FCrDNS, HELO sanity, SPF/DKIM/DMARC results) can be switched off and
 * weighted; the sum against two thresholds gives accept / junk / reject, and an X-Spam-Status field lists
 * every contribution so that a user can see why.
 */
import { checkFcrdns, checkHelo, type HeloProblem } from './client-checks.ts';
import { queryDnsLists, type DnsListZone } from './dns-lists.ts';
import type { InboundAuthResult } from './inbound-auth.ts';
import type { PolicyReply, PolicyResolver } from './types.ts';

export interface SpamOptions {
  /** Score at or above which the message goes to Junk. */
  junkThreshold: number;
  /** Score at or above which the message is refused at end of DATA; Infinity disables. */
  rejectThreshold: number;
  /** Shadow mode: score and report, but the verdict neither refuses nor files in Junk (trying thresholds on live mail). */
  shadow: boolean;
  dnsTimeoutMs: number;
  dnsbl: { enabled: boolean; zones: DnsListZone[] };
  dnswl: { enabled: boolean; zones: DnsListZone[] };
  fcrdns: { enabled: boolean; scoreNone: number; scoreMismatch: number };
  helo: { enabled: boolean; scores: Record<HeloProblem, number> };
  auth: {
    enabled: boolean;
    spfFail: number;
    spfSoftfail: number;
    spfPass: number;
    dkimFail: number;
    dkimPassAligned: number;
    dmarcFail: number;
    dmarcPass: number;
  };
}

export const DEFAULT_SPAM_OPTIONS: SpamOptions = {
  junkThreshold: 5,
  rejectThreshold: 15,
  shadow: false,
  dnsTimeoutMs: 3000,
  dnsbl: { enabled: false, zones: [] },
  dnswl: { enabled: false, zones: [] },
  fcrdns: { enabled: true, scoreNone: 1.5, scoreMismatch: 1 },
  helo: { enabled: true, scores: { 'literal-mismatch': 2, 'bare-ip': 2.5, 'our-hostname': 5, 'no-dot': 1.5, 'not-resolving': 1 } },
  auth: { enabled: true, spfFail: 3, spfSoftfail: 1, spfPass: -0.5, dkimFail: 1, dkimPassAligned: -1, dmarcFail: 4, dmarcPass: -1 },
};

export interface SpamContribution {
  /** SpamAssassin-style test name: DNSBL_<ZONE>, FCRDNS_NONE, HELO_NO_DOT, SPF_FAIL ... */
  test: string;
  score: number;
}

export interface SpamInput {
  ip: string;
  helo: string;
  /** Our own names: a client greeting with one of them is lying. */
  ourHostnames: string[];
  /** May be a promise so that the DNS checks run while authentication is still going on. */
  auth: InboundAuthResult | null | Promise<InboundAuthResult | null>;
  resolver: PolicyResolver;
  options: SpamOptions;
}

export interface SpamResult {
  score: number;
  verdict: 'accept' | 'junk' | 'reject';
  contributions: SpamContribution[];
  /** "X-Spam-Status: Yes, score=7.5 required=5.0 tests=..." folded, CRLF-terminated. */
  header: string;
  reply: PolicyReply | null;
}

/** Runs every enabled check in parallel and scores the message. Never throws: a DNS failure adds nothing. */
export async function scoreSpam(input: SpamInput): Promise<SpamResult> {
  const { options: o } = input;
  const parts = await Promise.all([
    o.dnsbl.enabled ? dnsListContributions(input, o.dnsbl.zones, 'DNSBL') : [],
    o.dnswl.enabled ? dnsListContributions(input, o.dnswl.zones, 'DNSWL') : [],
    o.fcrdns.enabled ? fcrdnsContributions(input) : [],
    o.helo.enabled ? heloContributions(input) : [],
    Promise.resolve(input.auth).then((auth) => (o.auth.enabled && auth ? authContributions(auth, o) : [])),
  ]);
  const contributions = parts.flat().filter((c) => c.score !== 0);
  const score = round(contributions.reduce((s, c) => s + c.score, 0));
  const verdict = score >= o.rejectThreshold ? 'reject' : score >= o.junkThreshold ? 'junk' : 'accept';
  const reply: PolicyReply | null =
    verdict === 'reject'
      ? // RFC 3463 §3.8: X.7.1 "delivery not authorized, message refused".
        { code: 550, enhancedCode: '5.7.1', text: `Message refused as spam (score ${score.toFixed(1)}, tests ${contributions.filter((c) => c.score > 0).map((c) => c.test).join(',') || 'none'})`, rule: 'spam_score' }
      : null;
  return { score, verdict, contributions, header: formatSpamStatus(score, o.junkThreshold, contributions), reply };
}

export function formatSpamStatus(score: number, required: number, contributions: SpamContribution[]): string {
  const tests = contributions.map((c) => `${c.test}=${round(c.score).toFixed(1)}`);
  const line = `X-Spam-Status: ${score >= required ? 'Yes' : 'No'}, score=${score.toFixed(1)} required=${required.toFixed(1)}`;
  let text = '';
  let current = line + ' tests=';
  if (tests.length === 0) tests.push('NONE');
  tests.forEach((t, i) => {
    const piece = t + (i < tests.length - 1 ? ',' : '');
    if (current.length + piece.length > 76) {
      text += current + '\r\n';
      current = '\t' + piece;
    } else current += piece;
  });
  return text + current + '\r\n';
}

async function dnsListContributions(input: SpamInput, zones: DnsListZone[], prefix: string): Promise<SpamContribution[]> {
  const r = await queryDnsLists({ ip: input.ip, zones, resolver: input.resolver, timeoutMs: input.options.dnsTimeoutMs });
  return r.hits.map((h) => ({ test: `${prefix}_${testName(h.zone)}`, score: h.score }));
}

async function fcrdnsContributions(input: SpamInput): Promise<SpamContribution[]> {
  const r = await checkFcrdns({ ip: input.ip, resolver: input.resolver, timeoutMs: input.options.dnsTimeoutMs });
  if (r.status === 'none') return [{ test: 'FCRDNS_NONE', score: input.options.fcrdns.scoreNone }];
  if (r.status === 'mismatch') return [{ test: 'FCRDNS_MISMATCH', score: input.options.fcrdns.scoreMismatch }];
  return [];
}

async function heloContributions(input: SpamInput): Promise<SpamContribution[]> {
  const problems = await checkHelo({ helo: input.helo, ip: input.ip, ourHostnames: input.ourHostnames, resolver: input.resolver, timeoutMs: input.options.dnsTimeoutMs });
  return problems.map((p) => ({ test: `HELO_${testName(p)}`, score: input.options.helo.scores[p] }));
}

function authContributions(auth: InboundAuthResult, o: SpamOptions): SpamContribution[] {
  const out: SpamContribution[] = [];
  const a = o.auth;
  if (auth.spf.result === 'fail') out.push({ test: 'SPF_FAIL', score: a.spfFail });
  else if (auth.spf.result === 'softfail') out.push({ test: 'SPF_SOFTFAIL', score: a.spfSoftfail });
  else if (auth.spf.result === 'pass') out.push({ test: 'SPF_PASS', score: a.spfPass });
  if (auth.dkim.some((d) => d.result === 'pass' && d.aligned)) out.push({ test: 'DKIM_PASS_ALIGNED', score: a.dkimPassAligned });
  else if (auth.dkim.length > 0 && auth.dkim.every((d) => d.result === 'fail')) out.push({ test: 'DKIM_FAIL', score: a.dkimFail });
  if (auth.dmarc.result === 'fail') out.push({ test: 'DMARC_FAIL', score: a.dmarcFail });
  else if (auth.dmarc.result === 'pass') out.push({ test: 'DMARC_PASS', score: a.dmarcPass });
  return out;
}

function testName(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
