// TLS-RPT reports to an `https:` rua (RFC 8460 §5.4): the day's report is POSTed as gzip JSON with
// Content-Type application/tlsrpt+gzip to a local HTTPS server whose certificate comes from the test CA
// (outbound_tls.ca_file); an endpoint that answers 503 keeps the report on disk and gets it again on the
// queue's retry schedule; one that never accepts is given up after queue.max_age; an untrusted certificate fails.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { makeTlsFixture } from '../harness/test-ca.ts';
import { PASS, attempts, rawMessage, submit, until } from './queue-helpers.ts';

const ALICE = 'alice@example.org';
const trusted = makeTlsFixture({ dnsNames: ['reports.rpt.test'] });
const untrusted = makeTlsFixture({ dnsNames: ['reports.rpt.test'] });
const today = (): string => new Date().toISOString().slice(0, 10);

interface Post { path: string; type: string; body: Buffer }

describe('TLS-RPT reports to https: rua endpoints', () => {
  let dns: DnsServerHandle;
  let endpoint: Server;
  let stranger: Server;
  let sink: SmtpSinkHandle;
  let t: TestServer;
  const posts: Post[] = [];
  let failing = true;

  const listen = async (server: Server): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  };

  before(async () => {
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posts.push({ path: req.url ?? '', type: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(req.url === '/flaky' && failing ? 503 : 201).end();
      });
    };
    endpoint = createServer({ key: trusted.server.key, cert: trusted.server.cert }, handler);
    stranger = createServer({ key: untrusted.server.key, cert: untrusted.server.cert }, handler);
    const port = await listen(endpoint);
    const strangerPort = await listen(stranger);
    sink = await startSmtpSink({ host: '127.0.0.1' });
    dns = await startDnsServer({
      'rpt.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
      'flaky.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
      'stranger.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
      'mx.sink.test': { A: ['127.0.0.1'] },
      'reports.rpt.test': { A: ['127.0.0.1'] },
      '_smtp._tls.rpt.test': { TXT: [`v=TLSRPTv1; rua=https://reports.rpt.test:${port}/tlsrpt`] },
      '_smtp._tls.flaky.test': { TXT: [`v=TLSRPTv1; rua=https://reports.rpt.test:${port}/flaky`] },
      '_smtp._tls.stranger.test': { TXT: [`v=TLSRPTv1; rua=https://reports.rpt.test:${strangerPort}/tlsrpt`] },
    });
    t = await startTestServer({
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1, cacheSize: 0 }),
      config: { queue: { portOverride: sink.port, delayWarning: null, retrySchedule: [600_000, 3_600_000], maxAge: 86_400_000 }, outboundTls: { caFile: trusted.caPath } },
    });
    await t.addUser(ALICE, PASS);
  });

  after(async () => {
    await t?.stop();
    await sink?.stop();
    await dns?.stop();
    endpoint?.close();
    stranger?.close();
  });

  it('posts the gzip JSON report as application/tlsrpt+gzip; a failing endpoint gets it again on the retry schedule', async () => {
    for (const to of ['a@rpt.test', 'b@flaky.test', 'c@stranger.test']) {
      await submit(t, ALICE, { from: ALICE, to: [to] }, rawMessage(ALICE, to, `tls ${to}`, 'hi\r\n'));
      await until(`delivery to ${to}`, () => attempts(t, to).find((l) => l.result === 'delivered'), 8000);
    }
    await t.server.services.tlsRpt!.sendDay(today());
    const ok = posts.find((p) => p.path === '/tlsrpt')!;
    assert.equal(ok.type, 'application/tlsrpt+gzip');
    const report = JSON.parse(gunzipSync(ok.body).toString()) as { 'organization-name': string; policies: { policy: { 'policy-domain': string }; summary: Record<string, number> }[] };
    assert.equal(report.policies[0]!.policy['policy-domain'], 'rpt.test');
    assert.equal(report.policies[0]!.summary['total-failure-session-count'], 1, 'the sink offers no STARTTLS');
    assert.ok(t.logs.some((l) => l.event === 'tlsrpt.posted' && l.domain === 'rpt.test' && l.status === 201));

    // 503 from the flaky endpoint; the stranger's certificate is not from a trusted CA (never reached).
    assert.equal(posts.filter((p) => p.path === '/flaky').length, 1);
    assert.equal(posts.length, 2, 'no request reached the endpoint with the untrusted certificate');
    const outbox = t.server.services.tlsRpt!.httpsOutbox!;
    const waiting = await outbox.pending();
    assert.deepEqual(waiting.map((w) => [w.domain, w.attempts]).sort(), [['flaky.test', 1], ['stranger.test', 1]]);
    assert.match(waiting.find((w) => w.domain === 'flaky.test')!.lastError!, /HTTP 503/);
    assert.match(waiting.find((w) => w.domain === 'stranger.test')!.lastError!, /certificate/i);
    const failed = t.logs.find((l) => l.event === 'tlsrpt.post_failed' && l.domain === 'flaky.test')!;
    assert.ok(Date.parse(String(failed.nextAt)) - Date.now() > 9 * 60_000, 'the first retry comes after queue.retry_schedule[0]');
    // Kept on disk (0600) until accepted: a restart would find it.
    const dir = join(t.dataDir, 'reports', 'https-outbox');
    assert.equal(readdirSync(dir).filter((n) => n.endsWith('.json')).length, 2);

    // Not due yet: nothing is sent.
    await outbox.runDue(Date.now());
    assert.equal(posts.filter((p) => p.path === '/flaky').length, 1);
    failing = false;
    await outbox.runDue(Date.now() + 11 * 60_000);
    const retried = posts.filter((p) => p.path === '/flaky');
    assert.equal(retried.length, 2);
    assert.deepEqual(retried[1]!.body, retried[0]!.body, 'the same report again');
    assert.ok(t.logs.some((l) => l.event === 'tlsrpt.posted' && l.domain === 'flaky.test' && l.attempts === 2));
    assert.deepEqual((await outbox.pending()).map((w) => w.domain), ['stranger.test']);

    // Never accepted: given up once queue.max_age has passed, as mail would bounce.
    await outbox.runDue(Date.now() + 25 * 3_600_000);
    assert.deepEqual(await outbox.pending(), []);
    assert.ok(t.logs.some((l) => l.event === 'tlsrpt.post_expired' && l.domain === 'stranger.test'));
  });
});
