import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkInbound, checkSpfAtMail, stripForgedAuthResults } from './inbound-auth.ts';
import { generateDkimKey, dkimRecordText, signMessage } from './dkim-sign.ts';
import { staticResolver, type StaticRecordSet } from './static-resolver.ts';
import type { DkimKey } from './types.ts';

// RFC 7208 Appendix A: the example.com zone the examples are evaluated against.
function appendixA(spf: string): Record<string, StaticRecordSet> {
  return {
    'example.com': {
      TXT: [spf],
      MX: [{ exchange: 'mail-a.example.com', priority: 10 }, { exchange: 'mail-b.example.com', priority: 20 }],
      A: ['192.0.2.10', '192.0.2.11'],
    },
    'amy.example.com': { A: ['192.0.2.65'] },
    'bob.example.com': { A: ['192.0.2.66'] },
    'mail-a.example.com': { A: ['192.0.2.129'] },
    'mail-b.example.com': { A: ['192.0.2.130'] },
    'example.org': { MX: [{ exchange: 'mail-c.example.org', priority: 10 }] },
    'mail-c.example.org': { A: ['192.0.2.140'] },
    '192.0.2.10': { PTR: ['example.com'] },
    '192.0.2.11': { PTR: ['example.com'] },
    '192.0.2.65': { PTR: ['amy.example.com'] },
    '192.0.2.66': { PTR: ['bob.example.com'] },
    '192.0.2.129': { PTR: ['mail-a.example.com'] },
    '192.0.2.130': { PTR: ['mail-b.example.com'] },
    '192.0.2.140': { PTR: ['mail-c.example.org'] },
    '_spf.example.org': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
    '_spf.example.com': { TXT: ['v=spf1 mx:example.com -all'] },
  };
}

async function spfFor(spf: string, ip: string, extra: Record<string, StaticRecordSet> = {}) {
  const r = await checkSpfAtMail({ ip, helo: 'client.example.net', sender: 'user@example.com', hostname: 'mx.postamt.test', resolver: staticResolver({ ...appendixA(spf), ...extra }) });
  return r.result;
}

describe('SPF (RFC 7208 Appendix A examples)', () => {
  const cases: [string, string, string][] = [
    ['v=spf1 +all', '203.0.113.9', 'pass'],
    ['v=spf1 a -all', '192.0.2.10', 'pass'],
    ['v=spf1 a -all', '192.0.2.11', 'pass'],
    ['v=spf1 a -all', '192.0.2.65', 'fail'],
    ['v=spf1 a:example.org -all', '192.0.2.10', 'fail'],
    ['v=spf1 mx -all', '192.0.2.129', 'pass'],
    ['v=spf1 mx -all', '192.0.2.10', 'fail'],
    ['v=spf1 mx:example.org -all', '192.0.2.140', 'pass'],
    ['v=spf1 mx mx:example.org -all', '192.0.2.130', 'pass'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.131', 'pass'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.143', 'pass'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.150', 'fail'],
    ['v=spf1 ptr -all', '192.0.2.65', 'pass'],
    ['v=spf1 ptr -all', '192.0.2.140', 'fail'],
    ['v=spf1 ip4:192.0.2.128/28 -all', '192.0.2.65', 'fail'],
    ['v=spf1 ip4:192.0.2.128/28 -all', '192.0.2.129', 'pass'],
    ['v=spf1 a ~all', '203.0.113.9', 'softfail'],
    ['v=spf1 a ?all', '203.0.113.9', 'neutral'],
    ['v=spf1 include:_spf.example.org -all', '198.51.100.7', 'pass'],
    ['v=spf1 include:_spf.example.org -all', '203.0.113.9', 'fail'],
    ['v=spf1 redirect=_spf.example.com', '192.0.2.129', 'pass'],
    ['v=spf1 redirect=_spf.example.com', '192.0.2.65', 'fail'],
    ['v=spf1 include:nonexistent.example.com -all', '192.0.2.65', 'permerror'],
  ];
  for (const [record, ip, expected] of cases) {
    it(`"${record}" from ${ip} is ${expected}`, async () => {
      assert.equal(await spfFor(record, ip), expected);
    });
  }

  it('is "none" without an SPF record and "temperror" when DNS fails', async () => {
    const none = await checkSpfAtMail({ ip: '192.0.2.1', helo: 'h.example.net', sender: 'u@nospf.test', hostname: 'mx.postamt.test', resolver: staticResolver({ 'nospf.test': { A: ['192.0.2.1'] } }) });
    assert.equal(none.result, 'none');
    const temp = await checkSpfAtMail({ ip: '192.0.2.1', helo: 'h.example.net', sender: 'u@broken.test', hostname: 'mx.postamt.test', resolver: staticResolver({ 'broken.test': { fail: true } }) });
    assert.equal(temp.result, 'temperror');
  });
});

function makeKey(domain: string): DkimKey {
  const k = generateDkimKey('ed25519');
  return { domain, selector: 's1', algorithm: 'ed25519', privateKeyPem: k.privateKeyPem, publicKeyB64: k.publicKeyB64, createdAt: new Date(), active: true };
}

const body = 'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nSubject: test\r\nMessage-ID: <a@b>\r\n\r\nhello\r\n';

describe('DMARC alignment (RFC 7489 §3.1)', () => {
  // From: news.example.test; SPF passes for bounces@example.test; DKIM d=example.test.
  async function run(dmarc: string, options: { spf: boolean; dkim: boolean }) {
    const key = makeKey('example.test');
    let message = Buffer.from(`From: News <info@news.example.test>\r\nTo: u@postamt.test\r\n${body}`);
    if (options.dkim) message = Buffer.concat([await signMessage({ message, domain: 'example.test', keys: [key] }), message]);
    const resolver = staticResolver({
      'example.test': { TXT: [options.spf ? 'v=spf1 ip4:192.0.2.0/24 -all' : 'v=spf1 -all'] },
      'news.example.test': { A: ['192.0.2.5'] },
      '_dmarc.example.test': { TXT: [dmarc] },
      's1._domainkey.example.test': { TXT: [dkimRecordText(key)] },
    });
    return checkInbound({ message, ip: '192.0.2.5', helo: 'mail.example.test', sender: 'bounces@example.test', hostname: 'mx.postamt.test', resolver });
  }

  it('SPF-aligned in relaxed mode passes; strict mode fails and applies p=reject', async () => {
    const relaxed = await run('v=DMARC1; p=reject; aspf=r', { spf: true, dkim: false });
    assert.equal(relaxed.spf.result, 'pass');
    assert.equal(relaxed.dmarc.result, 'pass');
    assert.equal(relaxed.dmarcPolicy, null);
    const strict = await run('v=DMARC1; p=reject; aspf=s', { spf: true, dkim: false });
    assert.equal(strict.dmarc.result, 'fail');
    assert.equal(strict.dmarcPolicy, 'reject');
    assert.match(strict.authResultsHeader, /dmarc=fail/);
  });

  it('DKIM-aligned in relaxed mode passes; strict mode fails with sp=quarantine for the subdomain', async () => {
    const relaxed = await run('v=DMARC1; p=reject; adkim=r', { spf: false, dkim: true });
    assert.equal(relaxed.dkim[0]?.result, 'pass');
    assert.equal(relaxed.dmarc.result, 'pass');
    const strict = await run('v=DMARC1; p=reject; sp=quarantine; adkim=s', { spf: false, dkim: true });
    assert.equal(strict.dmarc.result, 'fail');
    assert.equal(strict.dmarcPolicy, 'quarantine');
  });
});

describe('Authentication-Results (RFC 8601)', () => {
  it('uses our authserv-id, reports HELO SPF, and removes forged results claiming our id', async () => {
    const message = Buffer.from(
      'Authentication-Results: MX.postamt.test; dkim=pass; spf=pass; dmarc=pass\r\n' +
        'Authentication-Results: (comment) mx.postamt.test;\r\n dmarc=pass\r\n' +
        'Authentication-Results: other.example; spf=fail\r\n' +
        `From: a@sender.test\r\nTo: u@postamt.test\r\n${body}`,
    );
    const resolver = staticResolver({
      'sender.test': { TXT: ['v=spf1 ip4:192.0.2.7 -all'] },
      'mail.sender.test': { TXT: ['v=spf1 a -all'], A: ['192.0.2.7'] },
    });
    const r = await checkInbound({ message, ip: '192.0.2.7', helo: 'mail.sender.test', sender: 'a@sender.test', hostname: 'mx.postamt.test', resolver });
    assert.match(r.authResultsHeader, /^Received-SPF: pass/m);
    assert.match(r.authResultsHeader, /^Authentication-Results: mx\.postamt\.test;/m);
    assert.match(r.authResultsHeader, /spf=pass smtp\.helo=mail\.sender\.test;/);
    assert.match(r.authResultsHeader, /spf=pass .*smtp\.mailfrom=a@sender\.test/);
    assert.equal(r.heloSpf?.result, 'pass');
    const kept = r.message.toString();
    assert.doesNotMatch(kept, /postamt\.test; dkim=pass/i);
    assert.doesNotMatch(kept, /\(comment\) mx\.postamt\.test/);
    assert.match(kept, /^Authentication-Results: other\.example; spf=fail\r\nFrom:/);
  });

  it('stripForgedAuthResults leaves a message without such fields byte-identical', () => {
    const m = Buffer.from(`From: a@b.test\r\n${body}`);
    assert.deepEqual(stripForgedAuthResults(m, 'mx.postamt.test'), m);
  });
});

describe('DMARC strict alignment with the exact domain', () => {
  it('passes when the SPF domain equals the From domain', async () => {
    const resolver = staticResolver({
      'example.test': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
      '_dmarc.example.test': { TXT: ['v=DMARC1; p=reject; aspf=s; adkim=s'] },
    });
    const message = Buffer.from(`From: a@example.test\r\nTo: u@postamt.test\r\n${body}`);
    const r = await checkInbound({ message, ip: '192.0.2.5', helo: 'mail.example.test', sender: 'bounce@example.test', hostname: 'mx.postamt.test', resolver });
    assert.equal(r.dmarc.result, 'pass');
    assert.equal(r.dmarcPolicy, null);
  });
});
