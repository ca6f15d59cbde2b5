// JMAP Core over HTTP with curl on real sockets: the session resource and its redirect, the API endpoint and
// every request-level and method-level error path a client can hit, authentication (Basic over TLS, plaintext
// only where allowed, trusted proxies, the shared brute-force limiter), security headers, CORS, slow clients,
// and /healthz and /readyz on both listeners.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { caFile, curl } from '../harness/curl.ts';

const ALICE = 'alice@example.test';
const PASS = 'correct horse battery staple';
const CORE = 'urn:ietf:params:jmap:core';

describe('JMAP Core over HTTP', () => {
  let t: TestServer;
  let ca: { path: string; remove(): void };
  let https: string;
  let http: string;
  const api = (body: string, extra: string[] = []) =>
    curl(['--cacert', ca.path, '-u', `${ALICE}:${PASS}`, '-H', 'Content-Type: application/json', '--data-binary', body, ...extra, `${https}/jmap/api`]);

  before(async () => {
    t = await startTestServer({ startQueue: false, config: { http: { maxCallsInRequest: 3, maxRequestSize: 4096 } } as any });
    await t.addUser(ALICE, PASS);
    ca = caFile(t.ca);
    https = `https://localhost:${t.ports.https}`;
    http = `http://127.0.0.1:${t.ports.http}`;
  });
  after(async () => {
    await t?.stop();
    ca?.remove();
  });

  it('answers /healthz and /readyz on both listeners without credentials', async () => {
    for (const base of [http, https]) {
      const health = await curl(['--cacert', ca.path, `${base}/healthz`]);
      assert.equal(health.status, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const ready = await curl(['--cacert', ca.path, `${base}/readyz`]);
      assert.equal(ready.status, 200);
      const body = ready.json() as { status: string; checks: Record<string, boolean>; queue?: unknown };
      assert.deepEqual({ status: body.status, checks: body.checks }, { status: 'ready', checks: { store: true, listeners: true } });
      assert.ok(body.queue, 'a loopback client gets the details too (queue, certificate)');
    }
  });

  it('redirects /.well-known/jmap to the session resource, which curl follows with the credentials', async () => {
    const redirect = await curl(['--cacert', ca.path, `${https}/.well-known/jmap`]);
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.location, '/jmap/session');
    const session = await curl(['--cacert', ca.path, '-L', '-u', `${ALICE}:${PASS}`, `${https}/.well-known/jmap`]);
    assert.equal(session.status, 200);
    const s = session.json();
    assert.equal(s.username, ALICE);
    const [accountId] = Object.keys(s.accounts);
    const { accountCapabilities, ...account } = s.accounts[accountId!];
    assert.deepEqual(account, { name: ALICE, isPersonal: true, isReadOnly: false });
    assert.deepEqual(Object.keys(accountCapabilities).sort(), [CORE, 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission', 'urn:ietf:params:jmap:vacationresponse']);
    assert.deepEqual(Object.keys(s.capabilities).sort(), [CORE, 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission', 'urn:ietf:params:jmap:vacationresponse', 'urn:ietf:params:jmap:websocket']);
    assert.equal(s.primaryAccounts[CORE], accountId);
    assert.equal(s.primaryAccounts['urn:ietf:params:jmap:mail'], accountId);
    assert.equal(s.capabilities[CORE].maxCallsInRequest, 3);
    assert.equal(s.capabilities[CORE].maxSizeRequest, 4096);
    assert.equal(s.apiUrl, `${https}/jmap/api`);
    assert.match(s.downloadUrl, /\{accountId\}.*\{blobId\}.*\{name\}.*\{type\}/);
    assert.match(s.uploadUrl, /\{accountId\}/);
    assert.match(s.eventSourceUrl, /\{types\}.*\{closeafter\}.*\{ping\}/);
    assert.equal(typeof s.state, 'string');
    assert.match(session.headers['cache-control'] ?? '', /no-store/);
  });

  it('runs Core/echo and reports the session state', async () => {
    const r = await api(JSON.stringify({ using: [CORE], methodCalls: [['Core/echo', { hello: 'world', n: [1, 2] }, 'c1']] }));
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type']!, /^application\/json/);
    const body = r.json();
    assert.deepEqual(body.methodResponses, [['Core/echo', { hello: 'world', n: [1, 2] }, 'c1']]);
    assert.equal(typeof body.sessionState, 'string');
    const line = t.logs.findLast((l) => l.event === 'http.request' && l.path === '/jmap/api' && l.status === 200)!;
    assert.deepEqual(line.calls, ['Core/echo']);
    assert.equal(line.user, ALICE);
    assert.equal(typeof line.ms, 'number');
  });

  it('resolves result references and answers method-level errors in place', async () => {
    const r = await api(JSON.stringify({
      using: [CORE],
      methodCalls: [
        ['Core/echo', { list: ['x', 'y'] }, 'a'],
        ['Core/echo', { '#copy': { resultOf: 'a', name: 'Core/echo', path: '/list/1' } }, 'b'],
        ['Core/echo', { '#copy': { resultOf: 'zz', name: 'Core/echo', path: '/list' } }, 'c'],
      ],
    }));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().methodResponses, [
      ['Core/echo', { list: ['x', 'y'] }, 'a'],
      ['Core/echo', { copy: 'y' }, 'b'],
      ['error', { type: 'invalidResultReference', description: r.json().methodResponses[2][1].description }, 'c'],
    ]);
    const unknown = await api(JSON.stringify({ using: [CORE], methodCalls: [['Nope/get', {}, 'x']] }));
    assert.deepEqual(unknown.json().methodResponses, [['error', { type: 'unknownMethod' }, 'x']]);
    const log = t.logs.findLast((l) => l.event === 'http.request' && Array.isArray(l.calls) && (l.calls as string[])[0] === 'Nope/get:unknownMethod');
    assert.ok(log, 'the failed call is in the request log');
  });

  it('answers request-level errors as problem details (RFC 8620 §3.6.1)', async () => {
    const cases: [string, string[], string, string?][] = [
      ['{"using": [', [], 'notJSON'],
      ['{"using":[],"methodCalls":[]}', ['-H', 'Content-Type: text/plain'], 'notJSON'],
      ['{"using":"core","methodCalls":[]}', [], 'notRequest'],
      [JSON.stringify({ using: [CORE, 'urn:example:nothing'], methodCalls: [] }), [], 'unknownCapability'],
      [JSON.stringify({ using: [CORE], methodCalls: Array.from({ length: 4 }, (_, i) => ['Core/echo', {}, `c${i}`]) }), [], 'limit', 'maxCallsInRequest'],
      [JSON.stringify({ using: [CORE], methodCalls: [['Core/echo', { pad: 'x'.repeat(5000) }, 'c']] }), [], 'limit', 'maxSizeRequest'],
    ];
    for (const [body, extra, type, limit] of cases) {
      const r = await api(body, extra);
      assert.equal(r.status, 400, `${type}: ${r.body}`);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      const p = r.json();
      assert.equal(p.type, `urn:ietf:params:jmap:error:${type}`);
      assert.equal(p.status, 400);
      if (limit) assert.equal(p.limit, limit);
    }
  });

  it('refuses a chunked request body that grows past maxSizeRequest', async () => {
    const r = await api(JSON.stringify({ using: [CORE], methodCalls: [['Core/echo', { pad: 'x'.repeat(8000) }, 'c']] }), ['-H', 'Transfer-Encoding: chunked']);
    assert.equal(r.status, 400);
    assert.equal(r.json().limit, 'maxSizeRequest');
  });

  it('asks for credentials with 401 and WWW-Authenticate, and refuses wrong ones the same way', async () => {
    const none = await curl(['--cacert', ca.path, `${https}/jmap/session`]);
    assert.equal(none.status, 401);
    assert.match(none.headers['www-authenticate']!, /^Basic realm="Postamt"/);
    assert.match(none.headers['www-authenticate']!, /Bearer/);
    const wrong = await curl(['--cacert', ca.path, '-u', `${ALICE}:wrong password`, `${https}/jmap/session`]);
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers['www-authenticate']!, /^Basic/);
    const unknownUser = await curl(['--cacert', ca.path, '-u', `nobody@example.test:${PASS}`, `${https}/jmap/session`]);
    assert.equal(unknownUser.status, 401);
    assert.equal(unknownUser.body, wrong.body, 'an unknown user looks exactly like a wrong password');
    const badToken = await curl(['--cacert', ca.path, '-H', 'Authorization: Bearer nonsense', `${https}/jmap/session`]);
    assert.equal(badToken.status, 401);
    assert.match(badToken.headers['www-authenticate']!, /invalid_token/);
    assert.ok(t.logs.some((l) => l.event === 'auth.failed' && l.protocol === 'http' && l.username === ALICE && l.reason === 'wrong-password'));
    assert.ok(!JSON.stringify(t.logs).includes('wrong password'), 'no password in the logs');
    assert.ok(!JSON.stringify(t.logs).includes('nonsense'), 'no token in the logs');
  });

  it('refuses credentials over plain http from loopback unless allow_plaintext_on_loopback is on', async () => {
    const r = await curl(['-u', `${ALICE}:${PASS}`, `${http}/jmap/session`]);
    assert.equal(r.status, 403);
    assert.match(r.json().detail, /https/);
    const anonymous = await curl([`${http}/jmap/session`]);
    assert.equal(anonymous.status, 401);
  });

  it('sends the security headers, HSTS only over https, and no CORS headers when none are configured', async () => {
    const secure = await curl(['--cacert', ca.path, '-u', `${ALICE}:${PASS}`, '-H', 'Origin: https://evil.example', `${https}/jmap/session`]);
    assert.match(secure.headers['content-security-policy']!, /default-src 'none'/);
    assert.match(secure.headers['content-security-policy']!, /frame-ancestors 'none'/);
    assert.equal(secure.headers['x-content-type-options'], 'nosniff');
    assert.match(secure.headers['strict-transport-security']!, /max-age=\d+/);
    assert.equal(secure.headers['access-control-allow-origin'], undefined);
    const plain = await curl([`${http}/healthz`]);
    assert.equal(plain.headers['strict-transport-security'], undefined);
    assert.equal(plain.headers['x-content-type-options'], 'nosniff');
    const missing = await curl([`${http}/no/such/thing`]);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'application/problem+json');
  });
});

describe('HTTP behind a trusted proxy, plaintext on loopback, CORS, limits', () => {
  let t: TestServer;
  let http: string;
  before(async () => {
    t = await startTestServer({
      startQueue: false,
      config: {
        auth: { allowPlaintextOnLoopback: true, maxFailuresPerIp: 3 },
        http: { trustedProxies: ['127.0.0.1'], corsOrigins: ['https://app.example.test'], headerTimeout: 500 },
      } as any,
    });
    await t.addUser(ALICE, PASS);
    http = `http://127.0.0.1:${t.ports.http}`;
  });
  after(async () => {
    await t?.stop();
  });

  it('accepts Basic over plain http from loopback when allow_plaintext_on_loopback is on', async () => {
    const r = await curl(['-u', `${ALICE}:${PASS}`, `${http}/jmap/session`]);
    assert.equal(r.status, 200);
    assert.equal(r.json().username, ALICE);
  });

  it('believes X-Forwarded-For and X-Forwarded-Proto from a trusted proxy: client address, https URLs, HSTS', async () => {
    const r = await curl(['-u', `${ALICE}:${PASS}`, '-H', 'X-Forwarded-For: 198.51.100.7, 203.0.113.9', '-H', 'X-Forwarded-Proto: https', '-H', 'Host: mail.example.test', `${http}/jmap/session`]);
    assert.equal(r.status, 200);
    assert.equal(r.json().apiUrl, 'https://mail.example.test/jmap/api');
    assert.match(r.headers['strict-transport-security']!, /max-age/);
    const line = t.logs.findLast((l) => l.event === 'http.request' && l.path === '/jmap/session')!;
    assert.equal(line.ip, '203.0.113.9', 'the rightmost address the proxy added');
    assert.equal(line.proxy, '127.0.0.1');
    // A proxied client that did not use TLS and is not on loopback may not send credentials.
    const clear = await curl(['-u', `${ALICE}:${PASS}`, '-H', 'X-Forwarded-For: 203.0.113.9', '-H', 'X-Forwarded-Proto: http', `${http}/jmap/session`]);
    assert.equal(clear.status, 403);
  });

  it('answers CORS preflights and requests only for the configured origins', async () => {
    const pre = await curl(['-X', 'OPTIONS', '-H', 'Origin: https://app.example.test', '-H', 'Access-Control-Request-Method: POST', '-H', 'Access-Control-Request-Headers: authorization, content-type', `${http}/jmap/api`]);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.test');
    const other = await curl(['-X', 'OPTIONS', '-H', 'Origin: https://evil.example', '-H', 'Access-Control-Request-Method: POST', `${http}/jmap/api`]);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  it('cuts off a client that does not send its headers in time (408)', async () => {
    const socket = net.connect(t.ports.http, '127.0.0.1');
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    const text = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('close', () => resolve(data));
    });
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - started < 5000, `cut off after ${Date.now() - started} ms`);
  });

  it('counts wrong passwords in the shared limiter: past it even the right password gets 429', async () => {
    // Failures from one proxied client address; the limiter sees that address, not the proxy's.
    const from = ['-H', 'X-Forwarded-For: 192.0.2.50', '-H', 'X-Forwarded-Proto: https'];
    for (let i = 0; i < 3; i++) assert.equal((await curl(['-u', `${ALICE}:bad${i}`, ...from, `${http}/jmap/session`])).status, 401);
    const blocked = await curl(['-u', `${ALICE}:${PASS}`, ...from, `${http}/jmap/session`]);
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    // The same limiter guards IMAP: that address is refused there too, by the same counts.
    assert.equal(t.server.services.limiter.check('192.0.2.50', ALICE), 'throttled');
    // Another client is not affected.
    const other = await curl(['-u', `${ALICE}:${PASS}`, '-H', 'X-Forwarded-For: 192.0.2.51', '-H', 'X-Forwarded-Proto: https', `${http}/jmap/session`]);
    assert.equal(other.status, 200);
  });
});
