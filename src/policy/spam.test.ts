import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { queryDnsLists } from './dns-lists.ts';
import { checkFcrdns, checkHelo } from './client-checks.ts';
import { scoreSpam, DEFAULT_SPAM_OPTIONS, type SpamOptions } from './spam.ts';
import { staticResolver } from './static-resolver.ts';
import type { InboundAuthResult } from './inbound-auth.ts';

const V6 = '2001:db8::1';
const V6_LABEL = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2';

describe('DNS block lists (RFC 5782)', () => {
  it('queries reversed octets and nibbles in every zone in parallel; 127.0.0.x is a hit, NXDOMAIN a miss', async () => {
    const log: string[] = [];
    const resolver = staticResolver(
      {
        '2.2.0.192.bl.example': { A: ['127.0.0.2'] },
        '2.2.0.192.slow.example': { A: ['127.0.0.2'], delayMs: 500 },
        [`${V6_LABEL}.bl.example`]: { A: ['127.0.0.10', '127.0.0.4'] },
        '2.2.0.192.refused.example': { A: ['127.255.255.254'] },
      },
      log,
    );
    const zones = [{ zone: 'bl.example', score: 3 }, { zone: 'other.example', score: 2 }, { zone: 'slow.example', score: 1 }, { zone: 'refused.example', score: 1 }];
    const started = Date.now();
    const r = await queryDnsLists({ ip: '192.0.2.2', zones, resolver, timeoutMs: 100 });
    assert.ok(Date.now() - started < 400, 'a slow zone is cut off by the timeout');
    assert.deepEqual(r.hits, [{ zone: 'bl.example', score: 3, codes: ['127.0.0.2'] }]);
    assert.deepEqual(r.failed, ['refused.example', 'slow.example']);
    assert.ok(log.includes('A 2.2.0.192.other.example'));
    const miss = await queryDnsLists({ ip: '192.0.2.3', zones, resolver, timeoutMs: 100 });
    assert.deepEqual(miss.hits, []);
    const v6 = await queryDnsLists({ ip: V6, zones: [zones[0]!], resolver, timeoutMs: 100 });
    assert.deepEqual(v6.hits[0]?.codes, ['127.0.0.10', '127.0.0.4']);
  });
});

describe('FCrDNS and HELO checks', () => {
  const resolver = staticResolver({
    '192.0.2.10': { PTR: ['mail.good.example'] },
    'mail.good.example': { A: ['192.0.2.10'] },
    '192.0.2.11': { PTR: ['liar.example'] },
    'liar.example': { A: ['198.51.100.1'] },
    '192.0.2.12': { fail: true },
    [V6]: { PTR: ['v6.good.example'] },
    'v6.good.example': { AAAA: ['2001:db8:0:0::1'] },
  });
  it('passes when the PTR name resolves back to the address, IPv4 and IPv6', async () => {
    assert.deepEqual(await checkFcrdns({ ip: '192.0.2.10', resolver, timeoutMs: 100 }), { status: 'pass', hostname: 'mail.good.example' });
    assert.deepEqual(await checkFcrdns({ ip: V6, resolver, timeoutMs: 100 }), { status: 'pass', hostname: 'v6.good.example' });
    assert.deepEqual(await checkFcrdns({ ip: '192.0.2.11', resolver, timeoutMs: 100 }), { status: 'mismatch' });
    assert.deepEqual(await checkFcrdns({ ip: '192.0.2.99', resolver, timeoutMs: 100 }), { status: 'none' });
    assert.deepEqual(await checkFcrdns({ ip: '192.0.2.12', resolver, timeoutMs: 100 }), { status: 'temperror' });
  });
  it('flags HELO problems', async () => {
    const h = (helo: string, ip = '192.0.2.10') => checkHelo({ helo, ip, ourHostnames: ['mx.postamt.test'], resolver, timeoutMs: 100 });
    assert.deepEqual(await h('mail.good.example'), []);
    assert.deepEqual(await h('[192.0.2.10]'), []);
    assert.deepEqual(await h('[IPv6:2001:db8::1]', V6), []);
    assert.deepEqual(await h('[192.0.2.99]'), ['literal-mismatch']);
    assert.deepEqual(await h('192.0.2.10'), ['bare-ip']);
    assert.deepEqual(await h('MX.postamt.test'), ['our-hostname']);
    assert.deepEqual(await h('localhost'), ['no-dot']);
    assert.deepEqual(await h('nowhere.example'), ['not-resolving']);
  });
});

function auth(partial: { spf?: string; dmarc?: string; dkim?: string[] }): InboundAuthResult {
  return {
    header: Buffer.alloc(0),
    authResultsHeader: '',
    spf: { result: (partial.spf ?? 'none') as never, domain: 'x.example', comment: '' },
    heloSpf: null,
    dkim: (partial.dkim ?? []).map((r) => ({ result: r as never, domain: 'x.example', selector: 's', aligned: true })),
    dmarc: { result: (partial.dmarc ?? 'none') as never, domain: 'x.example', published: null },
    arc: { result: 'none', instances: 0 },
    arcSealInput: { authResults: '', cv: 'none' },
    dmarcPolicy: null,
  };
}

describe('spam score', () => {
  const resolver = staticResolver({
    '10.2.0.192.bl.example': { A: ['127.0.0.2'] },
    '10.2.0.192.wl.example': { A: ['127.0.10.2'] },
    '192.0.2.10': { PTR: ['mail.good.example'] },
    'mail.good.example': { A: ['192.0.2.10'] },
  });
  const options: SpamOptions = {
    ...DEFAULT_SPAM_OPTIONS,
    dnsbl: { enabled: true, zones: [{ zone: 'bl.example', score: 4 }] },
    dnswl: { enabled: false, zones: [{ zone: 'wl.example', score: -5 }] },
  };

  it('adds up every contribution and explains it in X-Spam-Status', async () => {
    const r = await scoreSpam({ ip: '192.0.2.10', helo: 'localhost', ourHostnames: ['mx.postamt.test'], auth: auth({ spf: 'fail', dmarc: 'fail' }), resolver, options });
    assert.deepEqual(r.contributions.map((c) => `${c.test}=${c.score}`).sort(), ['DMARC_FAIL=4', 'DNSBL_BL_EXAMPLE=4', 'HELO_NO_DOT=1.5', 'SPF_FAIL=3']);
    assert.equal(r.score, 12.5);
    assert.equal(r.verdict, 'junk');
    assert.match(r.header, /^X-Spam-Status: Yes, score=12\.5 required=5\.0 tests=/);
    assert.match(r.header.replace(/\r\n\t/g, ''), /DNSBL_BL_EXAMPLE=4\.0/);
    assert.ok(r.header.split('\r\n').every((l) => l.length <= 78));
  });

  it('rejects at the reject threshold with 550 5.7.1 naming the tests', async () => {
    const r = await scoreSpam({ ip: '192.0.2.10', helo: 'localhost', ourHostnames: [], auth: auth({ spf: 'fail', dmarc: 'fail' }), resolver, options: { ...options, rejectThreshold: 10 } });
    assert.equal(r.verdict, 'reject');
    assert.equal(r.reply?.code, 550);
    assert.equal(r.reply?.enhancedCode, '5.7.1');
    assert.match(r.reply!.text, /score 12\.5.*DNSBL_BL_EXAMPLE/);
  });

  it('accepts a clean authenticated sender; checks can be switched off; a DNSWL hit subtracts', async () => {
    const clean = await scoreSpam({ ip: '192.0.2.10', helo: 'mail.good.example', ourHostnames: [], auth: auth({ spf: 'pass', dmarc: 'pass', dkim: ['pass'] }), resolver, options });
    assert.equal(clean.verdict, 'accept');
    assert.equal(clean.score, 4 - 0.5 - 1 - 1);
    assert.match(clean.header, /^X-Spam-Status: No, /);
    const off = await scoreSpam({ ip: '192.0.2.10', helo: 'localhost', ourHostnames: [], auth: null, resolver, options: { ...options, dnsbl: { ...options.dnsbl, enabled: false }, helo: { ...options.helo, enabled: false }, dnswl: { ...options.dnswl, enabled: true } } });
    assert.deepEqual(off.contributions, [{ test: 'DNSWL_WL_EXAMPLE', score: -5 }]);
  });
});
