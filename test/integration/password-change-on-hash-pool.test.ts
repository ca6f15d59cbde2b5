// A password changed over HTTP (the webmail's account page, the admin API) is checked and hashed, and its SCRAM
// keys derived (PBKDF2), on the server's password-hash threads, as logins are, not on libuv's shared pool where a
// hash waits ahead of file reads and the WAL sync. Real curl against a whole server on loopback; the pool's counter
// says where each scrypt and PBKDF2 ran; SCRAM-SHA-256 over IMAP and submission logs in with the keys derived there.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ScramSha256Client } from '../../src/protocols/sasl/client.ts';
import { curl, type CurlResult } from '../harness/curl.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawSmtp } from '../harness/smtp-raw.ts';

const PASS = 'correct horse battery staple';
const ADMIN = 'root@a.test';
const USER = 'user@a.test';

describe('a password change over HTTP hashes on the server pool', () => {
  let t: TestServer;
  let base: string;
  let jarDir: string;

  const post = (path: string, jar: string, body: unknown, csrf?: string): Promise<CurlResult> => curl([
    '-k', '-X', 'POST', `${base}${path}`, '-b', jar, '-c', jar, '-H', 'Content-Type: application/json',
    ...(csrf ? ['-H', `X-CSRF-Token: ${csrf}`] : []), '--data-binary', JSON.stringify(body),
  ]);
  /** Runs `fn` and returns how many scrypt and PBKDF2 runs the server's hash pool did meanwhile. */
  const pooled = async (fn: () => Promise<void>): Promise<number> => {
    const before = t.server.services.hashes.hashed;
    await fn();
    return t.server.services.hashes.hashed - before;
  };

  before(async () => {
    t = await startTestServer({ startQueue: false });
    jarDir = mkdtempSync(join(tmpdir(), 'postamt-hash-pool-jar-'));
    base = `https://localhost:${t.ports.https}`;
    await t.server.services.store.setServerAdmin(await t.addUser(ADMIN, PASS), true);
    await t.addUser(USER, PASS);
  });
  after(async () => {
    await t.stop();
    rmSync(jarDir, { recursive: true, force: true });
  });

  it('webmail: the current password is checked and the new one hashed on the pool', async () => {
    const jar = join(jarDir, 'webmail.jar');
    const login = await post('/webmail/login', jar, { address: USER, password: PASS });
    assert.equal(login.status, 200, login.body);
    const csrf = login.json().csrfToken as string;
    const wrong = await pooled(async () => {
      const r = await post('/webmail/account/password', jar, { currentPassword: 'not the password', password: 'a new good password' }, csrf);
      assert.equal(r.status, 403, r.body);
    });
    assert.equal(wrong, 1, 'the wrong current password was checked on the pool');
    const changed = await pooled(async () => {
      const r = await post('/webmail/account/password', jar, { currentPassword: PASS, password: 'a new good password' }, csrf);
      assert.equal(r.status, 200, r.body);
    });
    assert.equal(changed, 3, 'the current password checked, the new one hashed and its SCRAM keys derived, all on the pool');
    assert.equal((await t.server.services.auth.checkPassword(USER, 'a new good password', { protocol: 'imap', remoteAddress: '127.0.0.1', isTls: true })).kind, 'success');
    assert.match(await imapScramLogin(USER, 'a new good password'), /^a OK/, 'IMAP AUTHENTICATE SCRAM-SHA-256 with the keys derived on the pool');
    assert.match(await imapScramLogin(USER, PASS), /^a NO/, 'the old password no longer');
  });

  it('admin API: setting a password hashes it on the pool', async () => {
    const jar = join(jarDir, 'admin.jar');
    const login = await post('/admin/api/login', jar, { address: ADMIN, password: PASS });
    assert.equal(login.status, 200, login.body);
    const csrf = login.json().csrfToken as string;
    const changed = await pooled(async () => {
      const r = await post('/admin/api/accounts/root@a.test/password', jar, { currentPassword: PASS, password: 'another good password' }, csrf);
      assert.equal(r.status, 200, r.body);
    });
    assert.equal(changed, 3, 'the current password checked, the new one hashed and its SCRAM keys derived, all on the pool');
    assert.equal(await scramLogin(ADMIN, 'another good password'), '235', 'SCRAM-SHA-256 with the keys derived on the pool');
    assert.equal(await scramLogin(ADMIN, PASS), '535', 'the old password no longer');
  });

  /** IMAP AUTHENTICATE SCRAM-SHA-256 (RFC 3501 §6.2.2, RFC 7677) on the imaps port: the tagged reply. */
  async function imapScramLogin(username: string, password: string): Promise<string> {
    const socket = tls.connect({ host: '127.0.0.1', port: t.ports.imaps, ca: [t.ca], servername: t.config.hostname });
    let buffered = '';
    let wake = (): void => undefined;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buffered += d;
      wake();
    });
    /** The next whole line from the server. */
    const line = async (): Promise<string> => {
      for (;;) {
        const end = buffered.indexOf('\r\n');
        if (end >= 0) {
          const text = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          return text;
        }
        if (socket.destroyed) throw new Error(`connection closed; got ${buffered}`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    try {
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      assert.match(await line(), /^\* OK/);
      const scram = new ScramSha256Client({ username, password });
      socket.write('a AUTHENTICATE SCRAM-SHA-256\r\n');
      let reply = await line();
      if (!reply.startsWith('+')) return reply;
      socket.write(`${scram.clientFirst().toString('base64')}\r\n`);
      reply = await line();
      if (!reply.startsWith('+ ')) return reply;
      socket.write(`${(await scram.handleServerFirst(Buffer.from(reply.slice(2), 'base64'))).toString('base64')}\r\n`);
      reply = await line();
      if (reply.startsWith('+ ')) {
        scram.verifyServerFinal(Buffer.from(reply.slice(2), 'base64'));
        socket.write('\r\n');
        reply = await line();
      }
      while (reply.startsWith('* ')) reply = await line();
      return reply;
    } finally {
      socket.destroy();
    }
  }

  /** AUTH SCRAM-SHA-256 (RFC 7677) on the submissions port: the reply code the server ends the exchange with. */
  async function scramLogin(username: string, password: string): Promise<string> {
    const { client } = await RawSmtp.connectTls(t.ports.submissions, { ca: t.ca, servername: t.config.hostname });
    try {
      await client.command('EHLO client.test');
      const scram = new ScramSha256Client({ username, password });
      let reply = await client.command(`AUTH SCRAM-SHA-256 ${scram.clientFirst().toString('base64')}`);
      if (reply.code !== 334) return String(reply.code);
      reply = await client.command((await scram.handleServerFirst(Buffer.from(reply.text, 'base64'))).toString('base64'));
      if (reply.code !== 334) return String(reply.code);
      scram.verifyServerFinal(Buffer.from(reply.text, 'base64'));
      return String((await client.command('')).code);
    } finally {
      client.close();
    }
  }
});
