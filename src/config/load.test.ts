import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, listKeys, loadConfig } from './load.ts';
import { defaultConfig, mergeConfig } from './schema.ts';
import { tempDir as makeTempDir } from '../../test/harness/temp-dir.ts';

function tempDir(): string {
  return makeTempDir('postamt-config-');
}

function loadToml(text: string, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  writeFileSync(join(dir, 'postamt.toml'), text);
  return { dir, config: () => loadConfig({ cwd: dir, env }) };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the configuration to be refused');
}

test('without a file the defaults apply: loopback listeners on the unprivileged ports', () => {
  const dir = tempDir();
  const config = loadConfig({ cwd: dir, env: {} });
  assert.deepEqual(config.listen.smtp, { host: '127.0.0.1', port: 2525 });
  assert.deepEqual(config.listen.submission, { host: '127.0.0.1', port: 2587 });
  assert.deepEqual(config.listen.submissions, { host: '127.0.0.1', port: 2465 });
  assert.deepEqual(config.listen.imap, { host: '127.0.0.1', port: 2143 });
  assert.deepEqual(config.listen.imaps, { host: '127.0.0.1', port: 2993 });
  assert.deepEqual(config.listen.pop3, { host: '127.0.0.1', port: 2110 });
  assert.deepEqual(config.listen.pop3s, { host: '127.0.0.1', port: 2995 });
  assert.deepEqual(config.listen.http, { host: '127.0.0.1', port: 8080 });
  assert.equal(config.dataDir, join(dir, 'data'));
  assert.equal(config.limits.messageSize, 25 * 1024 * 1024);
  assert.equal(config.limits.smtpCommandTimeout, 5 * 60_000);
  assert.deepEqual(config.queue.retrySchedule, [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000]);
  assert.equal(config.queue.delayWarning, 4 * 3_600_000);
  assert.equal(config.queue.relayhost, null);
  assert.equal(config.tls.cert, null);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.limits) && Object.isFrozen(config.queue.retrySchedule));
  assert.deepEqual(config, defaultConfig({ cwd: dir }));
});

test('a file with every section is read, snake_case keys into camelCase paths', () => {
  const { dir, config } = loadToml(`
hostname = "mx.example.test"
data_dir = "var/mail"
log_format = "pretty"
log_level = "debug"

[listen]
smtp = "0.0.0.0:25"
submission = "[::1]:2587"
imap = ""
pop3 = false

[tls]
cert = "certs/cert.pem"
key = "/etc/key.pem"

[tls.sni."Example.NET"]
cert = "net.pem"
key = "net.key"

[limits]
message_size = "10MB"
recipients = 50
line_length = 2000
imap_command_size = 131072
smtp_data_timeout = "90s"

[auth]
failure_window = "1h"
allow_plaintext_on_loopback = true

[submission]
received_header = "minimal"

[queue]
retry_schedule = ["30s", "2m"]
delay_warning = ""
relayhost = "smarthost.example.test:587"
relayhost_username = "u"
relayhost_password = "p"
port_override = 2525

[queue.routes]
"partner.example" = "mx.partner.example"

[dns]
servers = ["127.0.0.1:5353", "::1"]

[storage]
quota_default = 0

[policy]
dnsbl_zones = ["zen.example"]
spam_reject_score = inf
`);
  const c = config();
  assert.equal(c.hostname, 'mx.example.test');
  assert.equal(c.dataDir, join(dir, 'var/mail'));
  assert.equal(c.logFormat, 'pretty');
  assert.deepEqual(c.listen.smtp, { host: '0.0.0.0', port: 25 });
  assert.deepEqual(c.listen.submission, { host: '::1', port: 2587 });
  assert.equal(c.listen.imap, null);
  assert.equal(c.listen.pop3, null);
  assert.deepEqual(c.listen.imaps, { host: '127.0.0.1', port: 2993 }, 'keys left out keep their default');
  assert.equal(c.tls.cert, join(dir, 'certs/cert.pem'));
  assert.equal(c.tls.key, '/etc/key.pem');
  assert.deepEqual(c.tls.sni, { 'example.net': { cert: join(dir, 'net.pem'), key: join(dir, 'net.key') } });
  assert.equal(c.limits.messageSize, 10 * 1024 * 1024);
  assert.equal(c.limits.recipients, 50);
  assert.equal(c.limits.imapCommandSize, 131072);
  assert.equal(c.limits.smtpDataTimeout, 90_000);
  assert.equal(c.auth.failureWindow, 3_600_000);
  assert.equal(c.auth.allowPlaintextOnLoopback, true);
  assert.equal(c.submission.receivedHeader, 'minimal');
  assert.deepEqual(c.queue.retrySchedule, [30_000, 120_000]);
  assert.equal(c.queue.delayWarning, null);
  assert.deepEqual(c.queue.relayhost, { host: 'smarthost.example.test', port: 587 });
  assert.equal(c.queue.portOverride, 2525);
  assert.deepEqual(c.queue.routes, { 'partner.example': { host: 'mx.partner.example', port: 25 } });
  assert.deepEqual(c.dns.servers, ['127.0.0.1:5353', '::1']);
  assert.equal(c.storage.quotaDefault, 0);
  assert.deepEqual(c.policy.dnsblZones, ['zen.example']);
  assert.equal(c.policy.spamRejectScore, Infinity);
});

test('an unknown key is refused with its name and line', () => {
  const { config } = loadToml('hostname = "mx.example.test"\n\n[limits]\nrecipients = 5\nmesage_size = 10\n');
  assert.equal(refusal(config), 'postamt.toml:5: unknown key limits.mesage_size (did you mean message_size?)');
});

test('an unknown section and an unknown top-level key are refused', () => {
  assert.match(refusal(loadToml('[smtpd]\nport = 25\n').config), /^postamt\.toml:1: unknown key smtpd$/);
  assert.match(refusal(loadToml('host_name = "x.example"\n').config), /^postamt\.toml:1: unknown key host_name \(did you mean hostname\?\)$/);
  assert.match(refusal(loadToml('[limits]\nmessageSize = 5\n').config), /postamt\.toml:2: unknown key limits\.messageSize \(did you mean message_size\?\)/);
});

test('a bad value is refused with key, line and what was expected', () => {
  const cases: [string, RegExp][] = [
    ['[limits]\nrecipients = 5\nmessage_size = "ten megs"\n', /^postamt\.toml:3: limits\.message_size: expected a size .*got "ten megs"$/],
    ['[limits]\nsmtp_command_timeout = 300\n', /^postamt\.toml:2: limits\.smtp_command_timeout: expected a duration with a unit .*got 300$/],
    ['[listen]\nsmtp = "127.0.0.1"\n', /^postamt\.toml:2: listen\.smtp: expected "host:port" .*got "127\.0\.0\.1"$/],
    ['[listen]\nsmtp = "127.0.0.1:70000"\n', /^postamt\.toml:2: listen\.smtp: /],
    ['[listen]\nimap = "::1:143"\n', /^postamt\.toml:2: listen\.imap: /],
    ['log_format = "xml"\n', /^postamt\.toml:1: log_format: expected one of "json", "pretty", got "xml"$/],
    ['[limits]\nrecipients = 0\n', /^postamt\.toml:2: limits\.recipients: expected an integer from 1 to/],
    ['[limits]\nrecipients = "100"\n', /^postamt\.toml:2: limits\.recipients: expected an integer/],
    ['limits = 5\n', /^postamt\.toml:1: limits must be a table/],
    ['[dns]\nservers = ["dns.example"]\n', /^postamt\.toml:2: dns\.servers: expected an IP address/],
    ['[queue]\nretry_schedule = []\n', /^postamt\.toml:2: queue\.retry_schedule: expected a non-empty array/],
    ['[queue]\ndestination_backoff = "2h"\n', /^postamt\.toml:2: queue\.destination_backoff: expected a duration of at most 1h, got "2h"$/],
    ['[tls.sni."example.org"]\ncert = "a.pem"\n', /^postamt\.toml:1: tls\.sni\."example\.org"\.key: missing/],
    ['[tls.sni."example.org"]\ncert = "a.pem"\nkey = "b.pem"\nchain = "c.pem"\n', /^postamt\.toml:4: tls\.sni\."example\.org"\.chain: unknown key/],
    ['[queue.routes]\n"example.org" = "mx:x"\n', /^postamt\.toml:2: queue\.routes\."example\.org": expected "host" or "host:port"/],
    ['hostname = "not a host"\n', /^postamt\.toml:1: hostname: expected a host name/],
    ['postmaster = "admin"\n', /^postamt\.toml:1: postmaster: expected an address such as "admin@example\.org" or "", got "admin"$/],
    ['[limits]\nline_length = 998\n', /^postamt\.toml:2: limits\.line_length: expected an integer from 1000 to/],
  ];
  for (const [toml, expected] of cases) assert.match(refusal(loadToml(toml).config), expected, toml);
});

test('invalid TOML is refused with line and column', () => {
  assert.match(refusal(loadToml('hostname = "mx.example.test"\n[listen\n').config), /^postamt\.toml:2:\d+: invalid TOML/);
});

test('settings that belong together are checked together', () => {
  assert.match(refusal(loadToml('[tls]\ncert = "c.pem"\n').config), /tls\.cert and tls\.key must be set together/);
});

test('a named config file that does not exist is refused', () => {
  assert.equal(refusal(() => loadConfig({ path: 'missing.toml', cwd: tempDir(), env: {} })), 'config file missing.toml not found');
});

test('an explicit path is read and relative paths resolve against its directory', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'mail.toml'), 'data_dir = "../spool"\n[tls]\ncert = "c.pem"\nkey = "k.pem"\n');
  const config = loadConfig({ path: 'etc/mail.toml', cwd: dir, env: {} });
  assert.equal(config.dataDir, join(dir, 'spool'));
  assert.equal(config.tls.cert, join(dir, 'etc', 'c.pem'));
  assert.match(refusal(() => { writeFileSync(join(dir, 'etc', 'bad.toml'), '\n\nfoo = 1\n'); loadConfig({ path: join(dir, 'etc', 'bad.toml'), cwd: dir, env: {} }); }), /^etc\/bad\.toml:3: unknown key foo$/);
});

test('environment variables override the file and are validated the same way', () => {
  const { dir, config } = loadToml('[limits]\nmessage_size = "20MB"\n', {
    POSTAMT_LIMITS_MESSAGE_SIZE: '10MB',
    POSTAMT_LISTEN_SMTP: '127.0.0.1:0',
    POSTAMT_LISTEN_IMAP: '',
    POSTAMT_HOSTNAME: 'env.example.test',
    POSTAMT_DATA_DIR: 'elsewhere',
    POSTAMT_DNS_SERVERS: '127.0.0.1:5353, [::1]:53',
    POSTAMT_AUTH_ALLOW_PLAINTEXT_ON_LOOPBACK: 'yes',
    POSTAMT_LIMITS_RECIPIENTS: '7',
    POSTAMT_QUEUE_RETRY_SCHEDULE: '1s,2s',
    POSTAMT_SOMETHING_ELSE: 'ignored: not a section of ours',
  });
  const c = config();
  assert.equal(c.limits.messageSize, 10 * 1024 * 1024);
  assert.deepEqual(c.listen.smtp, { host: '127.0.0.1', port: 0 });
  assert.equal(c.listen.imap, null);
  assert.equal(c.hostname, 'env.example.test');
  assert.equal(c.dataDir, join(dir, 'elsewhere'));
  assert.deepEqual(c.dns.servers, ['127.0.0.1:5353', '[::1]:53']);
  assert.equal(c.auth.allowPlaintextOnLoopback, true);
  assert.equal(c.limits.recipients, 7);
  assert.deepEqual(c.queue.retrySchedule, [1000, 2000]);
});

test('a bad or unknown environment variable is refused by name', () => {
  const dir = tempDir();
  assert.match(refusal(() => loadConfig({ cwd: dir, env: { POSTAMT_LIMITS_MESSAGE_SIZE: 'huge' } })), /^POSTAMT_LIMITS_MESSAGE_SIZE: expected a size/);
  assert.match(refusal(() => loadConfig({ cwd: dir, env: { POSTAMT_LIMITS_RECIPIENTS: '1e3' } })), /^POSTAMT_LIMITS_RECIPIENTS: expected an integer/);
  assert.match(refusal(() => loadConfig({ cwd: dir, env: { POSTAMT_LIMITS_MESAGE_SIZE: '1' } })), /^POSTAMT_LIMITS_MESAGE_SIZE: unknown setting/);
  assert.match(refusal(() => loadConfig({ cwd: dir, env: { POSTAMT_QUEUE_ROUTES: 'x' } })), /^POSTAMT_QUEUE_ROUTES: queue\.routes can only be set in the config file$/);
});

test('every key has a distinct environment variable name and doc text', () => {
  const keys = listKeys();
  assert.equal(new Set(keys.map((k) => k.envName)).size, keys.length);
  for (const k of keys) assert.ok(k.field.doc.length > 10, `${k.tomlPath.join('.')} has doc text`);
});

test('mergeConfig replaces only the keys named', () => {
  const base = defaultConfig();
  const merged = mergeConfig(base, { limits: { recipients: 3 }, hostname: 'h.example' });
  assert.equal(merged.limits.recipients, 3);
  assert.equal(merged.limits.messageSize, base.limits.messageSize);
  assert.equal(merged.hostname, 'h.example');
  assert.equal(base.limits.recipients, 100);
});

test('[policy] reads every inbound policy key and the per-domain overrides', () => {
  const { config } = loadToml(`
[policy]
greylisting = true
greylist_delay = "2m"
greylist_retry_window = "1d"
greylist_whitelist = ["192.0.2.7", "198.51.100.0/24", "2001:db8::/32", "bigmail.example", ".isp.example"]
dnsbl_zones = ["bl.example"]
dnsbl_score = 2.5
dnswl_zones = ["wl.example"]
dns_timeout = "1500ms"
trusted_networks = ["10.0.0.0/8", "fd00::/8", "192.0.2.1"]
rate_connections_per_ip = 10
rate_connections_per_network = 0
rate_messages_per_ip = 30
rate_messages_per_network = 100
fcrdns = false
helo_checks = false
srs_secret = "s3cret"
arc_seal = true

[policy.domains."Example.ORG"]
spam_filter = false
dmarc_reject = false

[policy.domains."lists.example"]
greylisting = false
spf_reject_fail = true
`);
  const p = config().policy;
  assert.equal(p.greylistDelay, 120_000);
  assert.equal(p.greylistRetryWindow, 86_400_000);
  assert.deepEqual(p.greylistWhitelist, ['192.0.2.7', '198.51.100.0/24', '2001:db8::/32', 'bigmail.example', '.isp.example']);
  assert.equal(p.dnsblScore, 2.5);
  assert.deepEqual(p.dnswlZones, ['wl.example']);
  assert.equal(p.dnsTimeout, 1500);
  assert.deepEqual(p.trustedNetworks, ['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
  assert.deepEqual([p.rateConnectionsPerIp, p.rateConnectionsPerNetwork, p.rateMessagesPerIp, p.rateMessagesPerNetwork], [10, 0, 30, 100]);
  assert.equal(p.fcrdns, false);
  assert.equal(p.heloChecks, false);
  assert.equal(p.srsSecret, 's3cret');
  assert.equal(p.arcSeal, true);
  assert.deepEqual(p.domains, {
    'example.org': { spamFilter: false, dmarcReject: false },
    'lists.example': { greylisting: false, spfRejectFail: true },
  });
});

test('[policy] defaults', () => {
  const p = loadConfig({ cwd: tempDir(), env: {} }).policy;
  assert.equal(p.greylistDelay, 300_000);
  assert.equal(p.greylistRetryWindow, 2 * 86_400_000);
  assert.deepEqual(p.greylistWhitelist, []);
  assert.deepEqual(p.dnswlZones, []);
  assert.equal(p.dnsblScore, 4);
  assert.equal(p.dnsTimeout, 3000);
  assert.deepEqual(p.trustedNetworks, ['127.0.0.0/8', '::1']);
  assert.deepEqual([p.rateConnectionsPerIp, p.rateConnectionsPerNetwork, p.rateMessagesPerIp, p.rateMessagesPerNetwork], [60, 300, 120, 600]);
  assert.equal(p.fcrdns, true);
  assert.equal(p.heloChecks, true);
  assert.equal(p.srsSecret, '');
  assert.equal(p.arcSeal, false);
  assert.deepEqual(p.domains, {});
});

test('[policy] bad values and unknown keys are refused with key and line', () => {
  const cases: [string, RegExp][] = [
    ['[policy]\ngreylisting = true\ngreylist_delay = 300\n', /^postamt\.toml:3: policy\.greylist_delay: expected a duration with a unit .*got 300$/],
    ['[policy]\ntrusted_networks = ["10.0.0.0/33"]\n', /^postamt\.toml:2: policy\.trusted_networks: expected an IP address or CIDR block .*got "10\.0\.0\.0\/33"$/],
    ['[policy]\ntrusted_networks = ["mx.example.org"]\n', /^postamt\.toml:2: policy\.trusted_networks: expected an IP address or CIDR block/],
    ['[policy]\ngreylist_whitelist = ["192.0.2.300"]\n', /^postamt\.toml:2: policy\.greylist_whitelist: expected an IP address, CIDR block or domain name/],
    ['[policy]\ndnswl_zones = "list.dnswl.org"\n', /^postamt\.toml:2: policy\.dnswl_zones: expected an array of strings/],
    ['[policy]\ndnsbl_score = "high"\n', /^postamt\.toml:2: policy\.dnsbl_score: expected a number, got "high"$/],
    ['[policy]\n\nrate_messages_per_ip = -1\n', /^postamt\.toml:3: policy\.rate_messages_per_ip: expected an integer from 0 to/],
    ['[policy]\nfcrdns = "yes"\n', /^postamt\.toml:2: policy\.fcrdns: expected true or false, got "yes"$/],
    ['[policy]\nsrs_secret = 5\n', /^postamt\.toml:2: policy\.srs_secret: expected a string/],
    ['[policy]\ngreylist_dealy = "5m"\n', /^postamt\.toml:2: unknown key policy\.greylist_dealy \(did you mean greylist_delay\?\)$/],
    ['[policy.domains."example.org"]\nspam_filter = false\nspam_score = 3\n', /^postamt\.toml:3: policy\.domains\."example\.org"\.spam_score: unknown key \(expected spf_reject_fail, dmarc_reject, greylisting, spam_filter\)$/],
    ['[policy.domains."example.org"]\ngreylisting = "off"\n', /^postamt\.toml:2: policy\.domains\."example\.org"\.greylisting: expected true or false, got "off"$/],
    ['[policy.domains.localhost]\ngreylisting = false\n', /^postamt\.toml:1: policy\.domains\.localhost: expected a domain name as key/],
    ['[policy]\ndomains = ["example.org"]\n', /^postamt\.toml:2: policy\.domains: expected a table/],
  ];
  for (const [toml, expected] of cases) assert.match(refusal(loadToml(toml).config), expected, toml);
});

test('[policy] the SRS secret can come from the environment; the per-domain table cannot', () => {
  const dir = tempDir();
  assert.equal(loadConfig({ cwd: dir, env: { POSTAMT_POLICY_SRS_SECRET: 'from-env' } }).policy.srsSecret, 'from-env');
  assert.deepEqual(loadConfig({ cwd: dir, env: { POSTAMT_POLICY_TRUSTED_NETWORKS: '10.0.0.0/8, ::1' } }).policy.trustedNetworks, ['10.0.0.0/8', '::1']);
  assert.match(refusal(() => loadConfig({ cwd: dir, env: { POSTAMT_POLICY_TRUSTED_NETWORKS: 'localnet' } })), /^POSTAMT_POLICY_TRUSTED_NETWORKS: expected an IP address or CIDR block/);
  assert.match(refusal(() => loadConfig({ cwd: dir, env: { POSTAMT_POLICY_DOMAINS: 'x' } })), /^POSTAMT_POLICY_DOMAINS: policy\.domains can only be set in the config file$/);
});

test('storage.backend = "postgres" needs storage.url, which must be a postgres:// URL', () => {
  assert.match(refusal(loadToml('[storage]\nbackend = "postgres"\n').config), /storage\.url is empty/);
  assert.match(refusal(loadToml('[storage]\nbackend = "postgres"\nurl = "mysql://x"\n').config), /postgres:\/\//);
  const c = loadToml('[storage]\nbackend = "postgres"\nurl = "postgres://postamt@127.0.0.1:5432/postamt"\npool_size = 4\nstatement_timeout = "5s"\n').config();
  assert.equal(c.storage.backend, 'postgres');
  assert.equal(c.storage.poolSize, 4);
  assert.equal(c.storage.statementTimeout, 5000);
});
