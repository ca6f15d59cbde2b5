import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { defaultConfig } from '../config/schema.ts';
import { InboundPolicy, defaultInboundPolicyOptions } from './index.ts';
import { inboundPolicyOptionsFromConfig } from './policy-config.ts';
import { staticResolver } from './static-resolver.ts';
import { tempDir } from '../../test/harness/temp-dir.ts';

function configFrom(toml: string) {
  const dir = tempDir('postamt-policy-config-');
  writeFileSync(join(dir, 'postamt.toml'), `hostname = "mx.postamt.test"\n${toml}`);
  return loadConfig({ cwd: dir, env: {} });
}

const resolver = staticResolver({
  '10.2.0.192.bl.example': { A: ['127.0.0.2'] },
  '10.2.0.192.wl.example': { A: ['127.0.10.1'] },
});

function message(): Buffer {
  return Buffer.from('From: a@sender.test\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <1@sender.test>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello\r\n');
}

describe('inboundPolicyOptionsFromConfig', () => {
  it('maps the default configuration onto the policy defaults', () => {
    const o = inboundPolicyOptionsFromConfig(defaultConfig());
    const d = defaultInboundPolicyOptions(o.hostname);
    assert.deepEqual(o.rateLimit, d.rateLimit);
    assert.deepEqual(o.greylist, d.greylist);
    assert.deepEqual(o.trustedNetworks, d.trustedNetworks);
    assert.deepEqual({ ...o.spam, dnsbl: d.spam.dnsbl }, d.spam);
    assert.deepEqual(o.domains, {});
    assert.deepEqual(o.forwarding, { srsSecret: null, arcSeal: false });
  });

  it('maps every [policy] key', () => {
    const o = inboundPolicyOptionsFromConfig(configFrom(`
[policy]
greylist_delay = "1m"
greylist_retry_window = "1d"
greylist_whitelist = ["192.0.2.7", "198.51.100.0/24", "BigMail.example"]
dnsbl_zones = ["bl.example"]
dnsbl_score = 2.5
dnswl_zones = ["wl.example"]
dns_timeout = "1500ms"
trusted_networks = ["10.0.0.0/8"]
rate_connections_per_ip = 10
rate_connections_per_network = 0
rate_messages_per_ip = 30
rate_messages_per_network = 100
fcrdns = false
helo_checks = false
srs_secret = "s3cret"
arc_seal = true

[policy.domains."example.org"]
spam_filter = false
dmarc_reject = false
greylisting = true
spf_reject_fail = true
`), ['example.org']);
    assert.deepEqual(o.ourNames, ['example.org']);
    assert.deepEqual(o.trustedNetworks, ['10.0.0.0/8']);
    assert.equal(o.greylist.delaySeconds, 60);
    assert.equal(o.greylist.retryWindowSeconds, 86_400);
    assert.equal(o.greylist.enabled, true, 'a domain that greylists turns the greylister on');
    assert.equal(o.defaults.greylist, false);
    assert.deepEqual(o.greylist.whitelistIps, ['192.0.2.7', '198.51.100.0/24']);
    assert.deepEqual(o.greylist.whitelistDomains, ['bigmail.example']);
    assert.deepEqual(o.spam.dnsbl, { enabled: true, zones: [{ zone: 'bl.example', score: 2.5 }] });
    assert.deepEqual(o.spam.dnswl, { enabled: true, zones: [{ zone: 'wl.example', score: -2 }] });
    assert.equal(o.spam.dnsTimeoutMs, 1500);
    assert.deepEqual(o.rateLimit.connectionsPerIp, { count: 10, perSeconds: 60 });
    assert.deepEqual(o.rateLimit.connectionsPerNetwork, { count: 0, perSeconds: 60 });
    assert.deepEqual(o.rateLimit.messagesPerIp, { count: 30, perSeconds: 3600 });
    assert.deepEqual(o.rateLimit.messagesPerNetwork, { count: 100, perSeconds: 3600 });
    assert.equal(o.spam.fcrdns.enabled, false);
    assert.equal(o.spam.helo.enabled, false);
    assert.deepEqual(o.domains, { 'example.org': { spamFilter: false, dmarcReject: false, greylist: true, rejectSpfFail: true } });
    assert.deepEqual(o.forwarding, { srsSecret: 's3cret', arcSeal: true });
  });
});

describe('InboundPolicy configured from postamt.toml', () => {
  const build = (toml: string, now?: () => number) => new InboundPolicy({ options: inboundPolicyOptionsFromConfig(configFrom(toml)), resolver, now });
  const rcpt = (recipient: string, sender = 'a@sender.test', ip = '192.0.2.10') => ({ ip, helo: 'mail.sender.test', sender, recipient });

  it('rate_connections_per_ip and rate_messages_per_ip limit one client', async () => {
    const p = build('[policy]\ntrusted_networks = []\nrate_connections_per_ip = 2\nrate_messages_per_ip = 1\n', () => 1_800_000_000_000);
    assert.deepEqual(await p.onConnect('192.0.2.10'), { action: 'accept' });
    assert.deepEqual(await p.onConnect('192.0.2.10'), { action: 'accept' });
    const third = await p.onConnect('192.0.2.10');
    assert.deepEqual(third.action === 'tempfail' && [third.reply.code, third.reply.enhancedCode], [421, '4.7.0']);
    assert.deepEqual(await p.onConnect('192.0.2.11'), { action: 'accept' }, 'another IP has its own budget');
    assert.deepEqual(await p.onMailFrom(rcpt('x@y.test')), { action: 'accept' });
    const second = await p.onMailFrom(rcpt('x@y.test'));
    assert.deepEqual(second.action === 'tempfail' && [second.reply.code, second.reply.enhancedCode], [451, '4.7.1']);
  });

  it('trusted_networks replaces the loopback default', async () => {
    const p = build('[policy]\ntrusted_networks = ["192.0.2.0/24"]\nrate_connections_per_ip = 1\n');
    assert.equal(p.isTrusted('192.0.2.10'), true);
    assert.equal(p.isTrusted('127.0.0.1'), false);
    for (let i = 0; i < 3; i++) assert.deepEqual(await p.onConnect('192.0.2.10'), { action: 'accept' });
  });

  it('a per-domain greylisting override, greylist_delay and greylist_whitelist', async () => {
    let now = 1_800_000_000_000;
    const p = build(`
[policy]
trusted_networks = []
greylist_delay = "1m"
greylist_whitelist = ["bigmail.example", "198.51.100.0/24"]

[policy.domains."grey.example"]
greylisting = true
`, () => now);
    assert.deepEqual(await p.onRcptTo(rcpt('b@plain.example')), { action: 'accept' }, 'greylisting is off by default');
    const first = await p.onRcptTo(rcpt('b@grey.example'));
    assert.deepEqual(first.action === 'tempfail' && [first.reply.code, first.reply.enhancedCode], [451, '4.7.1']);
    now += 61_000;
    assert.deepEqual(await p.onRcptTo(rcpt('b@grey.example')), { action: 'accept' }, 'retried after greylist_delay (default would be 5m)');
    assert.deepEqual(await p.onRcptTo(rcpt('b@grey.example', 'news@bigmail.example', '203.0.113.9')), { action: 'accept' });
    assert.deepEqual(await p.onRcptTo(rcpt('b@grey.example', 'x@other.example', '198.51.100.77')), { action: 'accept' });
    assert.equal((await p.onRcptTo(rcpt('b@grey.example', 'x@other.example', '203.0.113.9'))).action, 'tempfail');
  });

  it('dnsbl_score, dnswl_zones, fcrdns, helo_checks and a per-domain spam_filter shape the spam verdict', async () => {
    const toml = `
[policy]
trusted_networks = []
dnsbl_zones = ["bl.example"]
dnsbl_score = 8
dnswl_zones = ["wl.example"]
fcrdns = false
helo_checks = false
spam_junk_score = 5

[policy.domains."nofilter.example"]
spam_filter = false
`;
    const p = build(toml);
    const envelope = (recipients: string[]) => ({ ip: '192.0.2.10', helo: 'mail.sender.test', sender: 'a@sender.test', recipients });
    const r = await p.onData({ message: message(), envelope: envelope(['b@example.org']) });
    assert.deepEqual(r.verdict, { action: 'junk' });
    assert.match(r.headersToPrepend, /X-Spam-Status: Yes, score=6\.0 .*DNSBL_BL_EXAMPLE=8\.0,\s*DNSWL_WL_EXAMPLE=-2\.0\r\n$/);
    assert.doesNotMatch(r.headersToPrepend, /FCRDNS|HELO_/);
    const skipped = await p.onData({ message: message(), envelope: envelope(['b@nofilter.example']) });
    assert.deepEqual(skipped.verdict, { action: 'accept' });
    assert.doesNotMatch(skipped.headersToPrepend, /X-Spam-Status/);
    // The same client with the default checks: no PTR and a HELO name that does not resolve add to the score.
    const strict = build('[policy]\ntrusted_networks = []\n');
    const s = await strict.onData({ message: message(), envelope: envelope(['b@example.org']) });
    assert.match(s.headersToPrepend, /FCRDNS_NONE/);
  });
});
