/**
 * The data directory holds every message, password hashes, SCRAM keys and private keys: started from a
 * shell with umask 022, the real CLI and server must still leave nothing readable by other local users,
 * say so (and fix it) when an older file is looser, and derive SCRAM keys with the strong default count.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildServer } from '../harness/child-server.ts';
import { Conn } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const servers: ChildServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

/** Every file and directory under `dir` with its mode, e.g. "data/postamt.db 0644". */
function modes(dir: string, base = 'data'): Array<{ path: string; mode: string; isDir: boolean }> {
  const out = [{ path: base, mode: octal(statSync(dir).mode), isDir: true }];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...modes(path, `${base}/${name}`));
    else out.push({ path: `${base}/${name}`, mode: octal(st.mode), isDir: false });
  }
  return out;
}
const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;
const open = (list: ReturnType<typeof modes>): string[] => list.filter((e) => e.mode !== (e.isDir ? '0700' : '0600')).map((e) => `${e.path} ${e.mode}`);

test('under umask 022 the CLI and the server make data_dir 0700 and every file in it 0600, and warn about older loose files', async () => {
  const umask = process.umask(0o022);
  try {
    const s = await ChildServer.create({ roles: ['smtp', 'imaps'] });
    servers.push(s);
    await s.addDomain('example.test');
    await s.addUser('alice@example.test', 'pw-private-files-1');
    const dkim = await s.cli(['dkim', 'generate', 'example.test']);
    assert.equal(dkim.code, 0, dkim.stderr);
    await s.start();
    // A message over the spool threshold, so spool files are made too.
    const c = await Conn.open(s.smtpPort);
    await c.expect(/^220 [^\n]*\n/);
    await c.cmd('EHLO hostile.test', /^250 [^\n]*\n/m);
    await c.cmd('MAIL FROM:<a@outside.test>', /^250 [^\n]*\n/m);
    await c.cmd('RCPT TO:<alice@example.test>', /^250 [^\n]*\n/m);
    await c.cmd('DATA', /^354 [^\n]*\n/m);
    c.write(`Subject: big\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(20_000) + '.\r\n');
    await c.expect(/^250 [^\n]*\n/m, 30_000);
    await c.cmd('QUIT', /^221 [^\n]*\n/m);
    const made = modes(s.dataDir);
    const loose = open(made);
    fig.record({ case: 'files made under umask 022 (CLI, serve, TLS, DKIM, spool)', figure: loose.length ? loose.join(', ') : `${made.length} entries, all 0700/0600`, limit: 'none looser', pass: loose.length === 0 });
    for (const f of ['data/postamt.db', 'data/postamt.db-wal', 'data/postamt.db-shm', 'data/secret', 'data/tls']) assert.ok(made.some((e) => e.path === f), `${f} exists`);
    assert.deepEqual(loose, []);

    // Files left by an older version (or copied in by hand) are reported with their path and mode, and fixed.
    await s.kill('SIGTERM');
    chmodSync(s.dataDir, 0o755);
    chmodSync(join(s.dataDir, 'postamt.db'), 0o644);
    writeFileSync(join(s.dataDir, 'notes.txt'), 'copied in\n', { mode: 0o644 });
    chmodSync(join(s.dataDir, 'notes.txt'), 0o644);
    const logsBefore = s.logs.length;
    await s.start();
    // The log arrives through a pipe: give it a moment past the listener's first accept.
    for (let i = 0; i < 100 && !s.logs.slice(logsBefore).some((l) => l.event === 'store.integrity'); i++) await new Promise((r) => setTimeout(r, 50));
    const warned = s.logs.slice(logsBefore).filter((l) => l.event === 'data_dir.loose_mode').map((l) => `${String(l.path).slice(s.dataDir.length - 4)} ${String(l.mode)}`);
    const after = open(modes(s.dataDir));
    fig.record({ case: 'restart with data 0755, postamt.db 0644, a stray 0644 file', figure: `warned: ${warned.join(', ')}; still loose: ${after.length}`, limit: '3 warnings, 0 loose', pass: warned.length === 3 && after.length === 0 });
    assert.deepEqual(warned.sort(), ['data 0755', 'data/notes.txt 0644', 'data/postamt.db 0644']);
    assert.deepEqual(after, []);
  } finally {
    process.umask(umask);
  }
});

test('SCRAM-SHA-256 keys of a user made by the CLI, and the fake ones of unknown users, use 600,000 rounds', async () => {
  const s = servers[0]!;
  const iterations: string[] = [];
  for (const user of ['alice@example.test', 'nobody@example.test']) {
    const c = await Conn.open(s.ports.imaps!, { tls: { ca: s.ca } });
    await c.expect(/^\* OK[^\n]*\n/);
    const first = Buffer.from(`n,,n=${user},r=fyko+d2lbbFgONRv9qkxdawL`).toString('base64');
    const challenge = await c.cmd(`A AUTHENTICATE SCRAM-SHA-256 ${first}`, /^\+ [^\r\n]*\r\n/m);
    iterations.push(/,i=(\d+)/.exec(Buffer.from(challenge.slice(2).trim(), 'base64').toString())?.[1] ?? '?');
    c.close();
  }
  fig.record({ case: 'SCRAM iteration count: CLI user / unknown user', figure: iterations.join(' / '), limit: '600000 / 600000', pass: iterations.every((i) => i === '600000') });
  assert.deepEqual(iterations, ['600000', '600000']);
});
