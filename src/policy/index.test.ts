import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InboundPolicy, defaultInboundPolicyOptions, type InboundPolicyOptions } from './index.ts';
import { arcSeal } from './arc-seal.ts';
import { checkInbound } from './inbound-auth.ts';
import { dkimRecordText, generateDkimKey, signMessage } from './dkim-sign.ts';
import { policyResolverFrom } from './resolver-adapter.ts';
import { inboundPolicyOptionsFromConfig } from './policy-config.ts';
import { NodeResolver } from '../dns/node-resolver.ts';
import { startDnsServer, type DnsServerHandle } from '../../test/harness/dns-server.ts';
import type { DkimKey, PolicyResolver } from './types.ts';

function key(domain: string, algorithm: 'rsa' | 'ed25519' = 'rsa'): DkimKey {
  const k = generateDkimKey(algorithm);
  return { domain, selector: 'sel', algorithm, privateKeyPem: k.privateKeyPem, publicKeyB64: k.publicKeyB64, createdAt: new Date(), active: true };
}

const signer = key('sender.test');
const forwarder = key('postamt.test');

describe('InboundPolicy through a loopback DNS server', () => {
  let dns: DnsServerHandle;
  let resolver: PolicyResolver;
  let now = 1_800_000_000_000;

  before(async () => {
    dns = await startDnsServer({
      'sender.test': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'], MX: [{ preference: 10, exchange: 'mx.sender.test' }] },
      'mail.sender.test': { A: ['192.0.2.10'], TXT: ['v=spf1 a -all'] },
      '192.0.2.10': { PTR: ['mail.sender.test'] },
      '_dmarc.sender.test': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@sender.test'] },
      'sel._domainkey.sender.test': { TXT: [dkimRecordText(signer)] },
      'sel._domainkey.postamt.test': { TXT: [dkimRecordText(forwarder)] },
      'quarantine.test': { TXT: ['v=spf1 -all'] },
      '_dmarc.quarantine.test': { TXT: ['v=DMARC1; p=quarantine'] },
      '10.2.0.192.bl.example': { A: ['127.0.0.2'] },
    });
    resolver = policyResolverFrom(new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }));
  });
  after(() => dns.stop());

  function policy(patch: Partial<InboundPolicyOptions> = {}) {
    const base = defaultInboundPolicyOptions('mx.postamt.test');
    return new InboundPolicy({ options: { ...base, trustedNetworks: [], greylist: { ...base.greylist, enabled: true }, ...patch }, resolver, now: () => now });
  }

  const plain = (from: string) => Buffer.from(`From: ${from}\r\nTo: bob@postamt.test\r\nSubject: hi\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nHello\r\n`);
  const env = (sender: string, ip = '192.0.2.10') => ({ ip, helo: 'mail.sender.test', sender, recipients: ['bob@postamt.test'] });

  it('accepts signed, SPF-passing mail and prepends Authentication-Results and X-Spam-Status', async () => {
    const body = plain('Alice <alice@sender.test>');
    const message = Buffer.concat([await signMessage({ message: body, domain: 'sender.test', keys: [signer] }), body]);
    const r = await policy().onData({ message, envelope: env('alice@sender.test') });
    assert.deepEqual(r.verdict, { action: 'accept' });
    assert.match(r.headersToPrepend, /^Authentication-Results: mx\.postamt\.test;/m);
    assert.match(r.headersToPrepend, /dkim=pass header\.i=@sender\.test/);
    assert.match(r.headersToPrepend, /spf=pass/);
    assert.match(r.headersToPrepend, /dmarc=pass/);
    assert.match(r.headersToPrepend, /^X-Spam-Status: No, score=-/m);
  });

  it('refuses DMARC p=reject failures with 550 5.7.1, and files p=quarantine failures in Junk', async () => {
    const r = await policy().onData({ message: plain('alice@sender.test'), envelope: env('spoofer@elsewhere.test', '203.0.113.5') });
    assert.deepEqual(r.verdict, { action: 'reject', reply: { code: 550, enhancedCode: '5.7.1', text: 'Message rejected by the DMARC policy of sender.test', rule: 'dmarc_reject' } });
    const q = await policy().onData({ message: plain('x@quarantine.test'), envelope: env('x@quarantine.test', '203.0.113.5') });
    assert.deepEqual(q.verdict, { action: 'junk' });
    const relaxed = await policy({ domains: { 'postamt.test': { dmarcReject: false } } }).onData({ message: plain('alice@sender.test'), envelope: env('spoofer@elsewhere.test', '203.0.113.5') });
    assert.deepEqual(relaxed.verdict, { action: 'junk' }, 'a domain that does not enforce p=reject gets Junk instead');
  });

  it('greylists at RCPT, accepts the retry after the delay, and can refuse SPF fail at RCPT with 550 5.7.23', async () => {
    const p = policy();
    const rcpt = { ip: '192.0.2.10', helo: 'mail.sender.test', sender: 'alice@sender.test', recipient: 'bob@postamt.test' };
    const first = await p.onRcptTo(rcpt);
    assert.deepEqual(first, { action: 'tempfail', reply: { code: 451, enhancedCode: '4.7.1', text: 'Greylisted, try again later', rule: 'greylisted' } });
    now += 6 * 60_000;
    assert.deepEqual(await p.onRcptTo(rcpt), { action: 'accept' });
    const strict = policy({ defaults: { ...defaultInboundPolicyOptions('x').defaults, rejectSpfFail: true, greylist: false } });
    const v = await strict.onRcptTo({ ...rcpt, ip: '203.0.113.5' });
    assert.equal(v.action, 'reject');
    assert.deepEqual(v.action === 'reject' && [v.reply.code, v.reply.enhancedCode], [550, '5.7.23']);
    assert.deepEqual(await strict.onRcptTo(rcpt), { action: 'accept' });
  });

  it('scores a DNSBL-listed client into Junk via the config mapping', async () => {
    const options = inboundPolicyOptionsFromConfig({ hostname: 'mx.postamt.test', policy: { spfRejectFail: false, dmarcEnforce: true, greylisting: false, dnsblZones: ['bl.example'], spamJunkScore: 1, spamRejectScore: 100 } });
    const p = new InboundPolicy({ options: { ...options, trustedNetworks: [] }, resolver });
    const body = plain('alice@sender.test');
    const message = Buffer.concat([await signMessage({ message: body, domain: 'sender.test', keys: [signer] }), body]);
    const r = await p.onData({ message, envelope: env('alice@sender.test') });
    assert.deepEqual(r.verdict, { action: 'junk' });
    assert.match(r.headersToPrepend, /X-Spam-Status: Yes, .*DNSBL_BL_EXAMPLE=4\.0/);
  });

  it('in shadow mode scores and reports the rules, but neither refuses nor files in Junk', async () => {
    const options = inboundPolicyOptionsFromConfig({ hostname: 'mx.postamt.test', policy: { spfRejectFail: false, dmarcEnforce: true, greylisting: false, dnsblZones: ['bl.example'], spamJunkScore: 0.5, spamRejectScore: 1, spamShadow: true } });
    const p = new InboundPolicy({ options: { ...options, trustedNetworks: [] }, resolver });
    const body = plain('alice@sender.test');
    const message = Buffer.concat([await signMessage({ message: body, domain: 'sender.test', keys: [signer] }), body]);
    const r = await p.onData({ message, envelope: env('alice@sender.test') });
    assert.deepEqual(r.verdict, { action: 'accept' });
    assert.equal(r.spam?.verdict, 'reject', 'the verdict the thresholds would give is kept for the record');
    assert.ok(r.spam?.contributions.some((c) => c.test === 'DNSBL_BL_EXAMPLE' && c.score === 4));
    assert.doesNotMatch(r.headersToPrepend, /X-Spam-Status/);
  });

  it('skips every check for trusted networks', async () => {
    const p = new InboundPolicy({ options: defaultInboundPolicyOptions('mx.postamt.test'), resolver });
    const r = await p.onData({ message: plain('alice@sender.test'), envelope: env('x@y.test', '127.0.0.1') });
    assert.deepEqual(r.verdict, { action: 'accept' });
    assert.equal(r.headersToPrepend, '');
  });

  it('ARC-seals a forwarded message so that the next hop sees arc=pass', async () => {
    const body = plain('alice@sender.test');
    const message = Buffer.concat([await signMessage({ message: body, domain: 'sender.test', keys: [signer] }), body]);
    const received = await checkInbound({ message, ip: '192.0.2.10', helo: 'mail.sender.test', sender: 'alice@sender.test', hostname: 'mx.postamt.test', resolver });
    const forwarded = Buffer.concat([Buffer.from(received.authResultsHeader), received.message]);
    const seal = await arcSeal({ message: forwarded, key: forwarder, ...received.arcSealInput });
    assert.match(seal.toString(), /^ARC-Seal: i=1; a=rsa-sha256; .*cv=none/m);
    assert.match(seal.toString(), /^ARC-Authentication-Results: i=1; mx\.postamt\.test;/m);
    // The next hop: our IP is not in sender.test's SPF any more, but the ARC chain validates.
    const next = await checkInbound({ message: Buffer.concat([seal, forwarded]), ip: '198.51.100.20', helo: 'mx.postamt.test', sender: 'alice@sender.test', hostname: 'mx.next.test', resolver });
    assert.equal(next.arc.result, 'pass');
    assert.equal(next.arc.instances, 1);
    assert.equal(next.spf.result, 'fail');
    assert.equal(next.dkim[0]?.result, 'pass', 'the original DKIM signature survives forwarding');
  });
});
