// The admin HTTP API with the real curl against a whole server on loopback: the OpenAPI document, the login
// session with its cookie flags and CSRF token, API tokens (made, used, listed, revoked), every operation
// (domains, DNS records and their check, DKIM keys, accounts, app passwords, aliases, the queue, the
// suppression list, run-time policy applied without restart), the TOTP second factor, and the permission
// matrix: a domain admin never sees or changes another domain, a user reaches nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { Secret, TOTP } from 'otpauth';
import { curl, type CurlResult } from '../harness/curl.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { RawSmtp } from '../harness/smtp-raw.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const PASS = 'correct horse battery staple';
const ROOT = 'root@a.test';
const DADMIN = 'dadmin@b.test';
const USER = 'user@a.test';
const BOB = 'bob@b.test';

describe('admin API', () => {
  let t: TestServer;
  let dns: DnsServerHandle;
  let base: string;
  let jarDir: string;
  let rootToken = '';
  let dadminToken = '';

  /** curl against the admin API: with a Bearer token, or with a cookie jar (and the CSRF header when given). */
  const api = (method: string, path: string, options: { token?: string; jar?: string; csrf?: string; body?: unknown; headers?: string[] } = {}): Promise<CurlResult> => {
    const args = ['-k', '-X', method, `${base}/admin/api${path}`];
    if (options.token) args.push('-H', `Authorization: Bearer ${options.token}`);
    if (options.jar) args.push('-b', options.jar, '-c', options.jar);
    if (options.csrf) args.push('-H', `X-CSRF-Token: ${options.csrf}`);
    for (const h of options.headers ?? []) args.push('-H', h);
    if (options.body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(options.body));
    return curl(args);
  };
  const login = (jar: string, address: string, extra: Record<string, string> = {}) => api('POST', '/login', { jar, body: { address, password: PASS, ...extra } });
  const makeToken = async (address: string): Promise<string> => {
    const jar = join(jarDir, `${address}.jar`);
    const r = await login(jar, address);
    assert.equal(r.status, 200, r.body);
    const made = await api('POST', '/tokens', { jar, csrf: r.json().csrfToken, body: { label: 'tests', expiresInDays: 1 } });
    assert.equal(made.status, 201, made.body);
    return made.json().token as string;
  };

  before(async () => {
    dns = await startDnsServer({
      'a.test': { MX: [{ preference: 10, exchange: 'mx.postamt.test' }], TXT: ['v=spf1 mx -all'] },
      'mx.postamt.test': { A: ['127.0.0.1'] },
    });
    t = await startTestServer({
      startQueue: false,
      config: {
        dns: { servers: [dns.server], timeout: 1000 },
        auth: { maxFailuresPerIp: 1000, maxFailuresPerAccount: 1000 },
        // Loopback clients get the inbound checks, so a policy change made at run time shows on the next RCPT.
        policy: { trustedNetworks: [], fcrdns: false, heloChecks: false },
      } as never,
    });
    jarDir = mkdtempSync(join(tmpdir(), 'postamt-admin-jar-'));
    base = `https://localhost:${t.ports.https}`;
    const store = t.server.services.store;
    await store.setServerAdmin(await t.addUser(ROOT, PASS), true);
    await store.addDomainAdmin(await t.addUser(DADMIN, PASS), 'b.test');
    await t.addUser(USER, PASS);
    await t.addUser(BOB, PASS);
    rootToken = await makeToken(ROOT);
    dadminToken = await makeToken(DADMIN);
  });
  after(async () => {
    await t?.stop();
    await dns?.stop();
    if (jarDir) rmSync(jarDir, { recursive: true, force: true });
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const r = await api('GET', '/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/admin/api/domains', '/admin/api/domains/{domain}/dns', '/admin/api/accounts/{address}', '/admin/api/queue/{id}/bounce', '/admin/api/policy', '/admin/api/tokens', '/admin/api/login']) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
    const add = doc.paths['/admin/api/accounts'].post;
    assert.deepEqual(add.requestBody.content['application/json'].schema.required, ['address', 'password']);
    assert.equal(doc.paths['/admin/api/domains/{domain}'].delete.parameters[0].in, 'path');
  });

  it('logs in with HttpOnly SameSite=Strict cookies for /admin only, and refuses state changes without the CSRF token', async () => {
    const jar = join(jarDir, 'csrf.jar');
    const r = await login(jar, ROOT);
    assert.equal(r.status, 200);
    assert.equal(r.json().serverAdmin, true);
    const headerFile = join(jarDir, 'login-headers.txt');
    await curl(['-k', '-D', headerFile, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ address: ROOT, password: PASS }), `${base}/admin/api/login`]);
    const setCookies = readFileSync(headerFile, 'utf8');
    assert.match(setCookies, /set-cookie: postamt_admin=[^;]+; Max-Age=\d+; Path=\/admin; HttpOnly; Secure; SameSite=Strict/i);
    assert.match(setCookies, /set-cookie: postamt_admin_csrf=[^;]+; Max-Age=\d+; Path=\/admin; Secure; SameSite=Strict/i);
    const me = await api('GET', '/me', { jar });
    assert.equal(me.status, 200);
    assert.equal(me.json().address, ROOT);
    const refused = await api('POST', '/domains', { jar, body: { name: 'csrf.test' } });
    assert.equal(refused.status, 403);
    assert.match(refused.json().detail, /CSRF/);
    const wrong = await api('POST', '/domains', { jar, csrf: 'x'.repeat(43), body: { name: 'csrf.test' } });
    assert.equal(wrong.status, 403);
    assert.equal(await t.server.services.store.hasDomain('csrf.test'), false);
    const ok = await api('POST', '/domains', { jar, csrf: r.json().csrfToken, body: { name: 'csrf.test' } });
    assert.equal(ok.status, 201, ok.body);
    const out = await api('POST', '/logout', { jar, csrf: r.json().csrfToken });
    assert.equal(out.status, 204);
    assert.equal((await api('GET', '/me', { jar })).status, 401);
  });

  it('API tokens: made once, listed without the secret, accepted as Bearer, dead once revoked', async () => {
    const made = await api('POST', '/tokens', { token: rootToken, body: { label: 'ci', expiresInDays: 7 } });
    assert.equal(made.status, 201);
    const { token, id, expiresAt } = made.json();
    assert.ok(Math.abs(new Date(expiresAt).getTime() - Date.now() - 7 * 86_400_000) < 60_000);
    const listed = await api('GET', '/tokens', { token });
    assert.ok(listed.json().some((x: { id: string; label: string }) => x.id === id && x.label === 'ci'));
    assert.doesNotMatch(listed.body, new RegExp(token));
    assert.equal((await api('GET', '/domains', { token })).status, 200);
    assert.equal((await api('DELETE', `/tokens/${id}`, { token: rootToken })).status, 200);
    const dead = await api('GET', '/domains', { token });
    assert.equal(dead.status, 401);
    assert.match(dead.headers['www-authenticate']!, /invalid_token/);
    assert.equal((await api('GET', '/domains', { token: 'not-a-real-token-but-long-enough' })).status, 401);
  });

  it('domains: add, list, DNS records to publish, their live check, DKIM keys generated, rotated, activated and retired, removed', async () => {
    assert.equal((await api('POST', '/domains', { token: rootToken, body: { name: 'new.test' } })).status, 201);
    assert.equal((await api('POST', '/domains', { token: rootToken, body: { name: 'new.test' } })).status, 409);
    assert.equal((await api('POST', '/domains', { token: rootToken, body: { name: 'not a domain' } })).status, 400);
    assert.ok((await api('GET', '/domains', { token: rootToken })).json().some((d: { name: string }) => d.name === 'new.test'));
    const keys = await api('POST', '/domains/a.test/dkim', { token: rootToken, body: {} });
    assert.equal(keys.status, 201);
    assert.deepEqual(keys.json().map((k: { algorithm: string }) => k.algorithm).sort(), ['ed25519', 'rsa']);
    assert.doesNotMatch(keys.body, /PRIVATE/);
    const records = await api('GET', '/domains/a.test/dns?ip=192.0.2.1', { token: rootToken });
    assert.equal(records.status, 200);
    const byType = (type: string) => records.json().records.filter((r: { type: string }) => r.type === type);
    assert.equal(byType('MX')[0].value, '10 mx.postamt.test.');
    assert.ok(byType('TXT').some((r: { name: string }) => r.name.includes('._domainkey.a.test')));
    assert.ok(byType('A').some((r: { value: string }) => r.value === '192.0.2.1'));
    const check = await api('POST', '/domains/a.test/dns/check', { token: rootToken });
    assert.equal(check.status, 200, check.body);
    const result = check.json();
    assert.equal(result.ok, false, 'the DKIM and DMARC records are not published');
    assert.equal(result.checks.find((c: { type: string }) => c.type === 'MX').status, 'ok');
    assert.ok(result.checks.some((c: { status: string; name: string }) => c.status === 'missing' && c.name.startsWith('_dmarc.')));
    const list = await api('GET', '/domains/a.test/dkim', { token: rootToken });
    const pending = list.json().filter((k: { state: string }) => k.state === 'pending');
    assert.equal(pending.length, 2);
    assert.equal((await api('POST', `/domains/a.test/dkim/${pending[0].selector}/activate`, { token: rootToken })).status, 200);
    assert.equal((await api('GET', '/domains/a.test/dkim', { token: rootToken })).json().find((k: { selector: string }) => k.selector === pending[0].selector).state, 'signing');
    assert.equal((await api('POST', '/domains/a.test/dkim/rotate', { token: rootToken })).status, 409, 'keys made today already');
    assert.equal((await api('DELETE', `/domains/a.test/dkim/${pending[0].selector}`, { token: rootToken })).status, 200);
    assert.equal((await api('GET', '/domains/a.test/dkim', { token: rootToken })).json().find((k: { selector: string }) => k.selector === pending[0].selector).state, 'retired');
    assert.equal((await api('DELETE', '/domains/new.test', { token: rootToken })).status, 200);
    assert.equal(await t.server.services.store.hasDomain('new.test'), false);
  });

  it('accounts: add, show with usage, disable, quota, password reset, server admin, app passwords, mailboxes, remove', async () => {
    const add = await api('POST', '/accounts', { token: rootToken, body: { address: 'carol@a.test', password: PASS, quotaBytes: 5_000_000 } });
    assert.equal(add.status, 201, add.body);
    assert.equal((await api('POST', '/accounts', { token: rootToken, body: { address: 'carol@a.test', password: PASS } })).status, 409);
    assert.equal((await api('POST', '/accounts', { token: rootToken, body: { address: 'short@a.test', password: 'x' } })).status, 400);
    const shown = await api('GET', '/accounts/carol@a.test', { token: rootToken });
    assert.equal(shown.json().effectiveQuotaBytes, 5_000_000);
    assert.deepEqual(shown.json().usage, { bytes: 0, messages: 0 });
    const patched = await api('PATCH', '/accounts/carol@a.test', { token: rootToken, body: { disabled: true, quotaBytes: null } });
    assert.equal(patched.json().disabled, true);
    assert.equal(patched.json().quotaBytes, null);
    await api('PATCH', '/accounts/carol@a.test', { token: rootToken, body: { disabled: false } });
    assert.equal((await api('POST', '/accounts/carol@a.test/password', { token: rootToken, body: { password: 'another good password' } })).status, 200);
    assert.equal((await t.server.services.auth.checkPassword('carol@a.test', 'another good password', { protocol: 'imap', remoteAddress: '127.0.0.1', isTls: true })).kind, 'success');
    const app = await api('POST', '/accounts/carol@a.test/app-passwords', { token: rootToken, body: { label: 'phone' } });
    assert.equal(app.status, 201);
    assert.match(app.json().password, /\S{16,}/);
    const apps = await api('GET', '/accounts/carol@a.test/app-passwords', { token: rootToken });
    assert.deepEqual(apps.json().map((a: { label: string }) => a.label), ['phone']);
    assert.doesNotMatch(apps.body, /passwordHash|scram/);
    assert.equal((await api('DELETE', `/accounts/carol@a.test/app-passwords/${app.json().id}`, { token: rootToken })).status, 200);
    assert.ok((await api('GET', '/accounts/carol@a.test/mailboxes', { token: rootToken })).json().some((m: { name: string }) => m.name === 'INBOX'));
    assert.equal((await api('PUT', '/domains/a.test/admins/carol@a.test', { token: rootToken })).status, 200);
    assert.deepEqual((await api('GET', '/domains/a.test/admins', { token: rootToken })).json().find((a: { address: string }) => a.address === 'carol@a.test').domains, ['a.test']);
    assert.equal((await api('DELETE', '/domains/a.test/admins/carol@a.test', { token: rootToken })).status, 200);
    assert.ok((await api('GET', '/accounts?domain=a.test', { token: rootToken })).json().some((a: { address: string }) => a.address === 'carol@a.test'));
    assert.equal((await api('DELETE', '/accounts/carol@a.test', { token: rootToken })).status, 200);
    assert.equal((await api('GET', '/accounts/carol@a.test', { token: rootToken })).status, 404);
  });

  it('aliases: an alias, a catch-all and a forwarding, listed and removed', async () => {
    assert.equal((await api('PUT', '/aliases/info@a.test', { token: rootToken, body: { targets: [USER] } })).status, 200);
    assert.equal((await api('PUT', `/aliases/${encodeURIComponent('@a.test')}`, { token: rootToken, body: { targets: [USER] } })).status, 200);
    assert.equal((await api('PUT', '/aliases/fwd@a.test', { token: rootToken, body: { targets: ['someone@elsewhere.example'] } })).status, 200);
    const listed = (await api('GET', '/aliases?domain=a.test', { token: rootToken })).json().map((a: { address: string }) => a.address).sort();
    assert.deepEqual(listed, ['@a.test', 'fwd@a.test', 'info@a.test']);
    for (const a of listed) assert.equal((await api('DELETE', `/aliases/${encodeURIComponent(a)}`, { token: rootToken })).status, 200);
  });

  it('queue: list with filters, show with headers, hold, release, retry, bounce, delete; the suppression list', async () => {
    const send = async (to: string, subject: string) => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.submission, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS } });
      await transport.sendMail({ from: USER, to, subject, text: 'queued' });
      transport.close();
    };
    await send('far@remote.example', 'First');
    await send('other@remote.example', 'Second');
    const all = await api('GET', '/queue', { token: rootToken });
    assert.equal(all.json().length, 2);
    const filtered = await api('GET', '/queue?recipient=far@', { token: rootToken });
    assert.equal(filtered.json().length, 1);
    const id = filtered.json()[0].id as string;
    const shown = await api('GET', `/queue/${id}`, { token: rootToken });
    assert.match(shown.json().headers, /Subject: First/);
    assert.equal(shown.json().sender, USER);
    assert.ok(Array.isArray(shown.json().trace));
    assert.equal((await api('POST', `/queue/${id}/hold`, { token: rootToken })).json().recipients, 1);
    assert.equal((await api('GET', '/queue?state=held', { token: rootToken })).json().length, 1);
    assert.equal((await api('POST', `/queue/${id}/release`, { token: rootToken })).json().recipients, 1);
    assert.equal((await api('POST', `/queue/${id}/retry`, { token: rootToken })).status, 200);
    const bounced = await api('POST', `/queue/${id}/bounce`, { token: rootToken, body: { reason: 'given up by the admin' } });
    assert.equal(bounced.json().bounced, 1);
    const other = (await api('GET', '/queue?recipient=other@', { token: rootToken })).json()[0].id as string;
    assert.equal((await api('DELETE', `/queue/${other}`, { token: rootToken })).status, 200);
    assert.equal((await api('GET', `/queue/${other}`, { token: rootToken })).status, 404);
    // The message trace: the root admin finds the messages user@a.test sent; the admin of b.test does not.
    let timelines: { queueId: string; events: { event: string }[] }[] = [];
    for (let i = 0; i < 50 && timelines.length < 2; i++) {
      timelines = (await api('GET', `/trace?sender=${USER}`, { token: rootToken })).json();
      if (timelines.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(timelines.some((tl) => tl.queueId === id && tl.events.some((e) => e.event === 'received')), JSON.stringify(timelines));
    assert.deepEqual((await api('GET', `/trace?sender=${USER}`, { token: dadminToken })).json(), []);
    assert.equal((await api('GET', '/trace?since=yesterday', { token: rootToken })).status, 400);
    await t.server.services.store.addSuppression('gone@remote.example', '550 5.1.1 no such user');
    assert.ok((await api('GET', '/suppressions', { token: rootToken })).json().some((s: { address: string }) => s.address === 'gone@remote.example'));
    assert.equal((await api('DELETE', '/suppressions/gone@remote.example', { token: rootToken })).status, 200);
  });

  it('policy: a run-time change is saved, applied to the next RCPT without restart, and start-only keys say a restart is needed', async () => {
    const rcpt = async (): Promise<number> => {
      const { client } = await RawSmtp.connect(t.ports.smtp);
      await client.command('EHLO client.example');
      await client.command('MAIL FROM:<sender@outside.example>');
      const reply = await client.command(`RCPT TO:<${BOB}>`);
      await client.command('QUIT').catch(() => undefined);
      return reply.code;
    };
    assert.equal(await rcpt(), 250);
    const got = await api('GET', '/policy', { token: rootToken });
    const greylisting = got.json().find((s: { key: string }) => s.key === 'greylisting');
    assert.deepEqual([greylisting.value, greylisting.live, greylisting.overridden], [false, true, false]);
    const set = await api('PATCH', '/policy', { token: rootToken, body: { greylisting: true, greylist_delay: '10m', spam_reject_score: 12 } });
    assert.equal(set.status, 200, set.body);
    assert.equal(set.json().applied, true);
    assert.equal(await rcpt(), 451, 'greylisted at once');
    assert.deepEqual(JSON.parse((await t.server.services.store.getSetting('policy'))!), { greylisting: true, greylistDelay: 600_000, spamRejectScore: 12 });
    const restart = await api('PATCH', '/policy', { token: rootToken, body: { trusted_networks: ['10.0.0.0/8'] } });
    assert.equal(restart.status, 400);
    assert.match(restart.json().detail, /restart/);
    assert.equal((await api('PATCH', '/policy', { token: rootToken, body: { greylist_delay: 'soon' } })).status, 400);
    assert.equal((await api('PATCH', '/policy', { token: rootToken, body: { greylisting: null, greylist_delay: null, spam_reject_score: null } })).status, 200);
    assert.equal(await rcpt(), 250, 'back to the file\'s setting');
    assert.equal(await t.server.services.store.getSetting('policy'), null);
  });

  it('dashboard: queue, disk, data size and certificate for a server admin; a domain admin gets only their part', async () => {
    const root = (await api('GET', '/dashboard', { token: rootToken })).json();
    assert.equal(typeof root.queue.messages, 'number');
    assert.ok(root.server.dataBytes > 0);
    assert.ok(root.server.disk.totalBytes > 0);
    assert.ok(root.server.certificates[0].daysLeft > 0);
    assert.equal(typeof root.server.activity.lastHour.accepted, 'number');
    const d = (await api('GET', '/dashboard', { token: dadminToken })).json();
    assert.equal(d.server, null);
    assert.deepEqual(d.domains, ['b.test']);
  });

  it('permission matrix: a domain admin cannot see or change another domain', async () => {
    const as = { token: dadminToken };
    assert.deepEqual((await api('GET', '/domains', as)).json().map((d: { name: string }) => d.name), ['b.test']);
    assert.ok((await api('GET', '/accounts', as)).json().every((a: { address: string }) => a.address.endsWith('@b.test')));
    for (const [method, path, body] of [
      ['GET', '/accounts?domain=a.test'], ['GET', `/accounts/${USER}`], ['DELETE', `/accounts/${USER}`],
      ['POST', '/accounts', { address: 'x@a.test', password: PASS }], ['PATCH', `/accounts/${USER}`, { disabled: true }],
      ['POST', `/accounts/${USER}/password`, { password: 'taken over password' }], ['GET', `/accounts/${USER}/app-passwords`],
      ['PUT', '/aliases/steal@a.test', { targets: [DADMIN] }], ['GET', '/aliases?domain=a.test'],
      ['GET', '/domains/a.test/dns'], ['POST', '/domains/a.test/dkim', {}], ['GET', '/domains/a.test/dkim'],
      ['POST', '/domains', { name: 'mine.test' }], ['DELETE', '/domains/a.test'], ['PUT', '/domains/b.test/admins/bob@b.test'],
      ['GET', '/suppressions'], ['GET', '/policy'], ['PATCH', '/policy', { greylisting: true }],
    ] as [string, string, unknown?][]) {
      const r = await api(method, path, { ...as, body });
      assert.equal(r.status, 403, `${method} ${path}: ${r.body}`);
    }
    assert.equal((await t.server.services.store.getAccount(USER))?.disabled, false);
    // Their own domain works.
    assert.equal((await api('POST', '/accounts', { ...as, body: { address: 'new@b.test', password: PASS } })).status, 201);
    assert.equal((await api('DELETE', '/accounts/new@b.test', as)).status, 200);
    assert.ok(t.logs.some((l) => l.event === 'admin.denied' && l.actor === DADMIN));
  });

  it('permission matrix: a user reaches neither the admin login nor the API, by password, webmail session or token', async () => {
    const jar = join(jarDir, 'user.jar');
    const r = await login(jar, USER);
    assert.equal(r.status, 403);
    assert.equal((await api('GET', '/me', { jar })).status, 401);
    // The webmail session cookie opens JMAP, not the admin API.
    const webmailJar = join(jarDir, 'webmail.jar');
    const wm = await curl(['-k', '-c', webmailJar, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ address: ROOT, password: PASS }), `${base}/webmail/login`]);
    assert.equal(wm.status, 200);
    assert.equal((await api('GET', '/domains', { jar: webmailJar })).status, 401);
    // Basic credentials are not accepted: only admin tokens and the admin session.
    const basic = await curl(['-k', '-u', `${ROOT}:${PASS}`, `${base}/admin/api/domains`]);
    assert.equal(basic.status, 401);
    // An admin token does not open JMAP.
    const jmap = await curl(['-k', '-H', `Authorization: Bearer ${rootToken}`, `${base}/.well-known/jmap`, '-L']);
    assert.equal(jmap.status, 401);
    // A token of an admin who lost the role opens nothing: every call is checked in the service.
    const store = t.server.services.store;
    const bob = (await store.getAccount(BOB))!;
    await store.addDomainAdmin(bob.id, 'b.test');
    const bobToken = await makeToken(BOB);
    await store.removeDomainAdmin(bob.id, 'b.test');
    assert.equal((await api('GET', '/domains', { token: bobToken })).status, 403);
  });

  it('TOTP second factor: enrol, confirm, then logins need a fresh code (a used one is refused)', async () => {
    const jar = join(jarDir, 'totp.jar');
    const first = await login(jar, DADMIN);
    const csrf = first.json().csrfToken;
    const enrol = await api('POST', '/second-factor', { jar, csrf });
    assert.equal(enrol.status, 201);
    const { secret, uri } = enrol.json();
    assert.match(uri, /^otpauth:\/\/totp\/.*secret=/);
    const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
    assert.equal((await api('POST', '/second-factor/confirm', { jar, csrf, body: { code: '000000' === totp.generate() ? '111111' : '000000' } })).status, 403);
    const code = totp.generate();
    assert.equal((await api('POST', '/second-factor/confirm', { jar, csrf, body: { code } })).status, 200);
    assert.equal((await api('GET', '/me', { jar })).json().secondFactor, true);
    const jar2 = join(jarDir, 'totp2.jar');
    const without = await login(jar2, DADMIN);
    assert.equal(without.status, 401);
    assert.equal(without.json().secondFactorRequired, true);
    assert.equal((await login(jar2, DADMIN, { code })).status, 401, 'a used code is refused');
    // The next time step's code (one step of drift is allowed).
    const next = totp.generate({ timestamp: Date.now() + 30_000 });
    const ok = await login(jar2, DADMIN, { code: next });
    assert.equal(ok.status, 200, ok.body);
    // A server admin removes it (a lost phone).
    assert.equal((await api('POST', '/second-factor/remove', { token: rootToken, body: { address: DADMIN } })).status, 200);
    assert.equal((await login(join(jarDir, 'totp3.jar'), DADMIN)).status, 200);
  });
});
