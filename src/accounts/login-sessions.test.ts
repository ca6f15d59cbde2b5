import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open.ts';
import { AccessTokens } from './access-tokens.ts';
import { LoginSessions } from './login-sessions.ts';

test('one listing of login sessions: per scope, unexpired, newest first, ended only within its scope', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-sessions-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.addDomain('example.test');
  const account = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  let now = Date.parse('2026-01-01T00:00:00Z');
  const tokens = new AccessTokens({ store, lifetimeMs: 3_600_000, now: () => now });
  const who = { accountId: account.id, address: account.address };
  const webmailOld = await tokens.issue(who, 'Firefox');
  now += 1000;
  const webmailNew = await tokens.issue(who, 'Chromium');
  const admin = await tokens.issue(who, 'admin session: Chromium', { scope: 'admin' });
  const shortLived = await tokens.issue(who, 'api: ci', { scope: 'admin', lifetimeMs: 500 });
  now += 1000;

  // The webmail's account page and the admin API read the same service (AccessTokens.sessions).
  assert.ok(tokens.sessions instanceof LoginSessions);
  const webmail = await tokens.sessions.list(account.id, 'session');
  assert.deepEqual(webmail.map((s) => s.label), ['Chromium', 'Firefox'], 'newest first');
  assert.deepEqual(webmail.map((s) => s.id), [webmailNew.record.tokenHash.slice(0, 16), webmailOld.record.tokenHash.slice(0, 16)]);
  assert.deepEqual((await tokens.sessions.list(account.id, 'admin')).map((s) => s.label), ['admin session: Chromium'], 'the expired API token is left out');
  assert.equal(shortLived.record.scope, 'admin');

  // An admin session cannot be ended through the webmail's scope, nor a webmail session through the admin's.
  const adminId = admin.record.tokenHash.slice(0, 16);
  assert.equal(await tokens.sessions.end(account.id, 'session', adminId), false);
  assert.equal(await tokens.sessions.end(account.id, 'admin', webmail[0]!.id), false);
  assert.equal(await tokens.sessions.end(account.id, 'admin', 'not-an-id'), false);
  assert.equal(await tokens.sessions.end(account.id, 'session', webmail[1]!.id), true);
  assert.deepEqual((await tokens.sessions.list(account.id, 'session')).map((s) => s.label), ['Chromium']);
  assert.equal(await tokens.verify(webmailOld.token), null, 'the ended session no longer opens anything');
  assert.ok(await tokens.verify(webmailNew.token));
});
