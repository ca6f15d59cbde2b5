/**
 * `postamt dkim generate` makes an RSA and an Ed25519 key (RFC 8463) that do not sign until they are
 * activated: by `postamt dkim activate`, by `postamt dns check` finding the record, or by the server seeing
 * the record in DNS. Once active, submitted mail carries both signatures. `postamt dns --ip` prints the mail
 * host's A/AAAA records and only records for what Postamt serves. Real server, real CLI, nodemailer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';

const PASS = 'alice password';
let server: ChildServer;
let dns: DnsServerHandle;

before(async () => {
  dns = await startDnsServer({});
  server = await ChildServer.create({ roles: ['submission'], extraToml: `[dns]\nservers = ["${dns.server}"]\ntimeout = "1s"\n` });
  for (const d of ['example.test', 'other.test']) await server.addDomain(d);
  await server.addUser('alice@example.test', PASS);
  assert.equal((await server.cli(['user', 'grant-domain', 'alice@example.test', 'other.test'])).code, 0);
  await server.start();
});
after(async () => {
  await server?.stop();
  await dns?.stop();
});

async function cli(args: string[]): Promise<string> {
  const r = await server.cli(args);
  assert.equal(r.code, 0, `postamt ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

/** The TXT records printed by `dkim generate`, as a DNS table for the stub server. */
function published(output: string): Record<string, { TXT: string[][] }> {
  const out: Record<string, { TXT: string[][] }> = {};
  for (const m of output.matchAll(/^(\S+)\. IN TXT (.+)$/gm)) out[m[1]!] = { TXT: [[...m[2]!.matchAll(/"([^"]*)"/g)].map((s) => s[1]!)] };
  return out;
}

async function submit(from: string, subject: string): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.ports.submission, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@example.test', pass: PASS } });
  await transport.sendMail({ from, to: 'alice@example.test', subject, text: 'dkim test' });
  transport.close();
  const list = await server.messageList('alice@example.test');
  const uid = list.find((m) => m.subject === subject)!.uid;
  const raw = (await server.messageCat('alice@example.test', uid)).toString('latin1');
  return raw.slice(0, raw.indexOf('\r\n\r\n'));
}

const states = async (domain: string): Promise<string[]> =>
  (JSON.parse(await cli(['dkim', 'list', domain, '--json'])) as { algorithm: string; state: string }[]).map((k) => `${k.algorithm} ${k.state}`).sort();

describe('DKIM keys start signing once published', () => {
  let generated: string;

  test('dkim generate makes a pending RSA and Ed25519 key; mail is not signed with them yet', async () => {
    generated = await cli(['dkim', 'generate', 'example.test']);
    assert.match(generated, /signing starts when the/);
    assert.match(generated, /^\d{8}r\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=/m);
    assert.match(generated, /^\d{8}e\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=ed25519; p=/m);
    assert.deepEqual(await states('example.test'), ['ed25519 pending', 'rsa pending']);
    const head = await submit('alice@example.test', 'before publishing');
    assert.doesNotMatch(head, /^DKIM-Signature:/im);
  });

  test('dns check finds the published records and activates the keys; then mail carries both signatures', async () => {
    dns.setRecords(published(generated));
    const r = await server.cli(['dns', 'check', 'example.test', '--json']);
    const report = JSON.parse(r.stdout.toString()) as { activatedDkimSelectors: string[]; checks: { status: string; name: string }[] };
    assert.equal(report.activatedDkimSelectors.length, 2, r.stdout.toString());
    assert.deepEqual(await states('example.test'), ['ed25519 signing', 'rsa signing']);
    const head = await submit('alice@example.test', 'after publishing');
    assert.match(head, /^DKIM-Signature:[^]*a=rsa-sha256/m);
    assert.match(head, /^DKIM-Signature:[^]*a=ed25519-sha256/m);
  });

  test('the server activates a pending key when it sees its record in DNS', async () => {
    const other = await cli(['dkim', 'generate', 'other.test', '--algorithm', 'ed25519']);
    dns.setRecords({ ...published(generated), ...published(other) });
    const first = await submit('alice@other.test', 'other first');
    assert.doesNotMatch(first, /d=other\.test/);
    const deadline = Date.now() + 10_000;
    while (!server.logs.some((l) => l.event === 'dkim.activated' && l.domain === 'other.test') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok(server.logs.some((l) => l.event === 'dkim.activated' && l.domain === 'other.test' && l.via === 'dns'), 'no dkim.activated logged');
    const second = await submit('alice@other.test', 'other second');
    assert.match(second, /^DKIM-Signature: v=1; a=ed25519-sha256;[^]*?d=other\.test;/m);
  });

  test('dkim activate starts a pending key by hand', async () => {
    const out = await cli(['dkim', 'generate', 'other.test', '--selector', 'manual']);
    assert.match(out, /postamt dkim activate other\.test manual/);
    assert.match(await cli(['dkim', 'activate', 'other.test', 'manual']), /^activated rsa key manual for other\.test$/m);
    assert.ok((await states('other.test')).includes('rsa signing'));
  });
});

describe('postamt dns', () => {
  test('--ip adds the mail host\'s A and AAAA records; no MTA-STS or autoconfig records', async () => {
    const out = await cli(['dns', 'example.test', '--ip', '192.0.2.25', '--ip', '2001:db8::25']);
    assert.match(out, /^mx\.postamt\.test\.\s+IN\s+A\s+192\.0\.2\.25$/m);
    assert.match(out, /^mx\.postamt\.test\.\s+IN\s+AAAA\s+2001:db8::25$/m);
    assert.doesNotMatch(out, /mta-sts|STSv1|autoconfig|autodiscover/i);
    const records = JSON.parse(await cli(['dns', 'example.test', '--ip', '192.0.2.25', '--json'])) as { name: string; type: string; value: string }[];
    assert.ok(records.some((r) => r.type === 'A' && r.name === 'mx.postamt.test' && r.value === '192.0.2.25'));
    assert.ok(records.some((r) => r.type === 'MX' && r.name === 'example.test'));
    const bad = await server.cli(['dns', 'example.test', '--ip', 'not-an-ip']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'postamt: --ip "not-an-ip" is not an IPv4 or IPv6 address\n');
  });
});
