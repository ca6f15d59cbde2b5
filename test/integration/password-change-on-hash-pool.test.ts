// A password changed over HTTP (the webmail's account page, the admin API) is checked and hashed on the server's
// password-hash threads, as logins are, not on libuv's shared pool where a hash waits ahead of file reads and
// the WAL sync. Real curl against a whole server on loopback; the pool's counter says where each scrypt ran.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curl, type CurlResult } from '../harness/curl.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

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
  /** Runs `fn` and returns how many scrypt runs the server's hash pool did meanwhile. */
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
    assert.equal(changed, 2, 'the current password checked and the new one hashed, both on the pool');
    assert.equal((await t.server.services.auth.checkPassword(USER, 'a new good password', { protocol: 'imap', remoteAddress: '127.0.0.1', isTls: true })).kind, 'success');
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
    assert.equal(changed, 2, 'the current password checked and the new one hashed, both on the pool');
  });
});
