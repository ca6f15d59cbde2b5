import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { openStore } from '../store/open.ts';
import { UsageError } from '../core/errors.ts';
import { startDnsServer, type DnsServerHandle } from '../../test/harness/dns-server.ts';
import { registerDkim } from './dkim.ts';
import { registerDns } from './dns.ts';
import type { CliDeps } from './context.ts';
import { tempDir } from '../../test/harness/temp-dir.ts';

function cli(cwd: string) {
  let out = '';
  const deps = {
    loadConfig,
    // dkim commands go through the administration service, which reads the acting principal's roles from the store.
    openStore: (o: { dataDir: string }) => openStore({ dataDir: o.dataDir }),
    passwords: {} as CliDeps['passwords'],
    io: { stdout: { write: (s: string | Uint8Array) => (out += s.toString()) }, stderr: { write: () => true }, stdin: (async function* () {})() },
    env: {},
    cwd,
  } as unknown as CliDeps;
  return async (...args: string[]) => {
    out = '';
    const program = new Command().exitOverride().option('--config <file>');
    registerDkim(program, deps);
    registerDns(program, deps);
    let error: unknown = null;
    try {
      await program.parseAsync(['node', 'postamt', ...args]);
    } catch (err) {
      error = err;
    }
    return { out, error };
  };
}

describe('postamt dkim / dns', () => {
  let dns: DnsServerHandle;
  let dir: string;
  let run: ReturnType<typeof cli>;

  before(async () => {
    dns = await startDnsServer({});
    dir = tempDir('postamt-cli-dns-');
    writeFileSync(join(dir, 'postamt.toml'), `hostname = "mx.postamt.test"\ndata_dir = "${join(dir, 'data')}"\n[dns]\nservers = ["${dns.server}"]\ntimeout = "1s"\n`);
    run = cli(dir);
    // dkim commands act only on an existing installation.
    await (await openStore({ dataDir: join(dir, 'data') })).close();
  });
  after(() => dns.stop());

  it('dkim generate stores a 0600 key and prints the TXT record split into 255-octet strings', async () => {
    const { out, error } = await run('dkim', 'generate', 'example.test', '--selector', 'jan', '--active');
    assert.equal(error, null);
    assert.match(out, /^jan\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=[^"]+" "[^"]+"$/m);
    for (const s of out.match(/"[^"]*"/g)!) assert.ok(s.length - 2 <= 255);
    const keyDir = join(dir, 'data', 'dkim', 'example.test');
    assert.deepEqual(readdirSync(keyDir).sort(), ['jan.json', 'jan.key']);
    assert.equal(statSync(join(keyDir, 'jan.key')).mode & 0o777, 0o600);
    const ed = await run('dkim', 'generate', 'example.test', '--selector', 'jan-ed', '--algorithm', 'ed25519', '--active');
    assert.match(ed.out, /^jan-ed\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$/m);
    const dup = await run('dkim', 'generate', 'example.test', '--selector', 'jan');
    assert.ok(dup.error instanceof UsageError);
    const bad = await run('dkim', 'generate', 'example.test', '--algorithm', 'dsa');
    const elsewhere = cli(tempDir('postamt-cli-nodata-'));
    assert.match(String((await elsewhere('dkim', 'generate', 'example.test')).error), /no Postamt data in \S+\/data \(the built-in data_dir/);
    assert.match(String(bad.error), /--algorithm must be rsa, ed25519 or both/);
  });

  it('dkim list shows which key signs; rotation: the newest key signs, retire stops one', async () => {
    await new Promise((r) => setTimeout(r, 5));
    await run('dkim', 'generate', 'example.test', '--selector', 'feb', '--active');
    const { out } = await run('dkim', 'list');
    assert.match(out, /^example\.test\s+feb\s+rsa\s+\S+\s+signing$/m);
    assert.match(out, /^example\.test\s+jan\s+rsa\s+\S+\s+superseded$/m);
    assert.match(out, /^example\.test\s+jan-ed\s+ed25519\s+\S+\s+signing$/m);
    await run('dkim', 'retire', 'example.test', 'jan-ed');
    assert.match((await run('dkim', 'list', 'example.test')).out, /jan-ed\s+ed25519\s+\S+\s+retired/);
  });

  it('dns DOMAIN prints every record to publish', async () => {
    const { out, error } = await run('dns', 'example.test', '--ip', '192.0.2.25');
    assert.equal(error, null);
    assert.match(out, /^example\.test\.\s+IN\s+MX\s+10 mx\.postamt\.test\.$/m);
    assert.match(out, /^example\.test\.\s+IN\s+TXT\s+"v=spf1 mx -all"$/m);
    assert.match(out, /^feb\._domainkey\.example\.test\.\s+IN\s+TXT\s+"v=DKIM1; k=rsa; p=/m);
    assert.match(out, /^_dmarc\.example\.test\.\s+IN\s+TXT\s+"v=DMARC1; p=quarantine; rua=mailto:postmaster@example\.test"$/m);
    // Only what Postamt serves: no MTA-STS policy id; the autoconfiguration names point at the https listener.
    assert.doesNotMatch(out, /_mta-sts/);
    assert.match(out, /^autoconfig\.example\.test\.\s+IN\s+CNAME\s+mx\.postamt\.test\.$/m);
    assert.match(out, /^autodiscover\.example\.test\.\s+IN\s+CNAME\s+mx\.postamt\.test\.$/m);
    assert.match(out, /^_autodiscover\._tcp\.example\.test\.\s+IN\s+SRV\s+0 1 \d+ mx\.postamt\.test\.$/m);
    assert.match(out, /^mx\.postamt\.test\.\s+IN\s+A\s+192\.0\.2\.25$/m);
    assert.match(out, /^_smtp\._tls\.example\.test\.\s+IN\s+TXT/m);
    for (const s of ['_submission', '_submissions', '_imap', '_imaps', '_pop3', '_pop3s']) assert.match(out, new RegExp(`^${s}\\._tcp\\.example\\.test\\.\\s+IN  SRV\\s+0 1 \\d+ mx\\.postamt\\.test\\.$`, 'm'));
    assert.match(out, /192\.0\.2\.25 -> mx\.postamt\.test\. +\(25\.2\.0\.192\.in-addr\.arpa\. IN PTR/);
  });

  it('dns check reports missing records and exits 1, then ok once they are published', async () => {
    const missing = await run('dns', 'check', 'example.test');
    assert.ok(missing.error instanceof UsageError);
    assert.equal((missing.error as UsageError).exitCode, 1);
    assert.match(missing.out, /^missing\s+MX\s+example\.test\s+publish: 10 mx\.postamt\.test\.$/m);
    assert.match(missing.out, /^missing\s+A\s+mx\.postamt\.test/m);

    const list = (await run('dkim', 'list', 'example.test')).out;
    void list;
    const printed = (await run('dns', 'example.test')).out;
    const txt = (name: string) => {
      const line = printed.split('\n').find((l) => l.startsWith(name + '.'))!;
      return [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!).join('');
    };
    dns.setRecords({
      'example.test': { MX: [{ preference: 10, exchange: 'mx.postamt.test' }], TXT: ['v=spf1 mx -all'] },
      'mx.postamt.test': { A: ['192.0.2.25'] },
      '192.0.2.25': { PTR: ['mx.postamt.test'] },
      'feb._domainkey.example.test': { TXT: [txt('feb._domainkey.example.test')] },
      'jan._domainkey.example.test': { TXT: ['v=DKIM1; k=rsa; p=AAAAwrongkey'] },
      'jan-ed._domainkey.example.test': { TXT: [txt('jan-ed._domainkey.example.test')] },
      '_dmarc.example.test': { TXT: ['v=DMARC1; p=reject'] },
      'autoconfig.example.test': { CNAME: 'mx.postamt.test' },
    });
    const ok = await run('dns', 'check', 'example.test');
    assert.match(ok.out, /^ok\s+MX\s+example\.test/m);
    assert.match(ok.out, /^ok\s+TXT\s+feb\._domainkey\.example\.test/m);
    assert.match(ok.out, /^ok\s+TXT\s+_dmarc\.example\.test/m);
    assert.match(ok.out, /^ok\s+PTR\s+25\.2\.0\.192\.in-addr\.arpa/m);
    assert.match(ok.out, /^ok\s+SPF\s+example\.test\s+SPF for 192\.0\.2\.25: pass/m);
    assert.match(ok.out, /^missing \(optional\)\s+SRV\s+_imaps\._tcp\.example\.test/m);
    // The superseded jan key is still active (published), so a wrong record for it is a failure.
    assert.match(ok.out, /^wrong\s+TXT\s+jan\._domainkey\.example\.test\s+found v=DKIM1; k=rsa; p=AAAAwrongkey/m);
    assert.ok(ok.error instanceof UsageError);
    await run('dkim', 'retire', 'example.test', 'jan');
    const fine = await run('dns', 'check', 'example.test');
    assert.equal(fine.error, null, fine.out);
    assert.match(fine.out, /all required records for example\.test are in place/);
  });

  it('dns DOMAIN names the configured report addresses in _smtp._tls and _dmarc, and the §7.1 record for a foreign one', async () => {
    const other = tempDir('postamt-cli-dns-rua-');
    writeFileSync(join(other, 'postamt.toml'), `hostname = "mx.postamt.test"\ndata_dir = "${join(other, 'data')}"\n[reports]\ntlsrpt_address = "tls-reports@example.org"\ndmarc_address = "dmarc@reports.example.co.uk"\n`);
    await (await openStore({ dataDir: join(other, 'data') })).close();
    const configured = cli(other);
    const { out, error } = await configured('dns', 'mail.example.co.uk');
    assert.equal(error, null);
    assert.match(out, /^_smtp\._tls\.mail\.example\.co\.uk\.\s+IN\s+TXT\s+"v=TLSRPTv1; rua=mailto:tls-reports@example\.org"$/m);
    assert.match(out, /^_dmarc\.mail\.example\.co\.uk\.\s+IN\s+TXT\s+"v=DMARC1; p=quarantine; rua=mailto:dmarc@reports\.example\.co\.uk"$/m);
    // The same organization (example.co.uk on the Public Suffix List): no authorization record is needed.
    assert.doesNotMatch(out, /_report\._dmarc/);
    const foreign = await configured('dns', 'example.net');
    assert.match(foreign.out, /^example\.net\._report\._dmarc\.reports\.example\.co\.uk\.\s+IN\s+TXT\s+"v=DMARC1"$/m);
    // Unset, both go to postmaster@ of the domain itself.
    const plain = await run('dns', 'example.test');
    assert.match(plain.out, /"v=TLSRPTv1; rua=mailto:postmaster@example\.test"/);
  });
});
