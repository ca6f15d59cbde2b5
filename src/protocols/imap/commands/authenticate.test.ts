// LOGIN, AUTHENTICATE and STARTTLS on the engine: capabilities before and after login, plaintext rules,
// SASL exchanges (initial response, cancel, server-final data) and the failed-login limit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../testing/memory-backend.ts';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP LOGIN and AUTHENTICATE', () => {
  it('greets with capabilities and logs in with LOGIN', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend);
    assert.match(await c.greet(), /^\* OK \[CAPABILITY IMAP4rev2 IMAP4rev1 .*AUTH=PLAIN.*\] /);
    const refused = parseTranscript(await c.send('a LOGIN alice@example.org wrong\r\n')).tagged('a');
    assert.equal(refused.status, 'NO');
    assert.equal(refused.code, 'AUTHENTICATIONFAILED');
    const ok = parseTranscript(await c.login()).tagged('L1');
    assert.equal(ok.status, 'OK');
    assert.equal(ok.text, 'Logged in');
    assert.match(ok.code!, /^CAPABILITY .*UIDPLUS.*QRESYNC/);
  });

  it('advertises LOGINDISABLED and refuses LOGIN without TLS unless plaintext is allowed', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend, { allowPlaintextAuth: false, starttlsAvailable: true });
    const caps = parseTranscript(await c.greet()).responses[0]!.code!.split(' ');
    assert.ok(caps.includes('STARTTLS'));
    assert.ok(caps.includes('LOGINDISABLED'));
    const login = parseTranscript(await c.login()).tagged('L1');
    assert.deepEqual([login.status, login.code], ['NO', 'PRIVACYREQUIRED']);
    assert.equal(await c.send('t STARTTLS\r\nx NOOP\r\n'), 't OK Begin TLS negotiation now\r\n<starttls>');
  });

  it('authenticates with AUTHENTICATE PLAIN, with and without an initial response', async () => {
    const { backend } = twoMessages();
    const ir = Buffer.from('\0alice@example.org\0secret').toString('base64');
    const c = new TestClient(backend);
    assert.match(await c.send(`a AUTHENTICATE PLAIN ${ir}\r\n`), /^a OK \[CAPABILITY/);
    const d = new TestClient(backend);
    assert.equal(await d.send('b AUTHENTICATE PLAIN\r\n'), '+ \r\n');
    assert.match(await d.send(`${ir}\r\n`), /^b OK/);
    const e = new TestClient(backend);
    await e.send('c AUTHENTICATE PLAIN\r\n');
    assert.equal(await e.send('*\r\n'), 'c BAD Authentication cancelled\r\n');
  });

  it('accepts a literal in LOGIN and refuses an oversized non-APPEND literal', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend, { limits: { maxLiteralBytes: 64 } });
    assert.equal(await c.send('a LOGIN {17}\r\n'), '+ Ready for literal data\r\n');
    assert.match(await c.send('alice@example.org secret\r\n'), /^a OK/);
    assert.equal(await c.send('b SEARCH {100}\r\n'), 'b BAD [TOOBIG] Literal too big\r\n');
  });

  it('closes after too many failed logins', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend, { limits: { maxAuthFailures: 2 } });
    await c.send('a LOGIN alice@example.org x\r\n');
    assert.match(await c.send('b LOGIN alice@example.org y\r\n'), /^b NO \[AUTHENTICATIONFAILED\] Too many failures\r\n<close>$/);
  });

  it('sends a SASL server-final message as a last challenge and completes on the empty response', async () => {
    const { backend } = twoMessages();
    const sasl = backend.authenticator();
    const custom = {
      ...sasl,
      mechanisms: () => ['X-FINAL'],
      start: () => ({
        step: async (r: Buffer | null) =>
          r === null
            ? ({ kind: 'challenge', data: Buffer.from('c1') } as const)
            : ({ kind: 'success', identity: { accountId: 1, address: 'alice@example.org' }, serverFinal: Buffer.from('v=sig') } as const),
      }),
    };
    const c = new TestClient(backend, { sasl: custom });
    assert.equal(await c.send('a AUTHENTICATE X-FINAL\r\n'), `+ ${Buffer.from('c1').toString('base64')}\r\n`);
    assert.equal(await c.send(`${Buffer.from('client-final').toString('base64')}\r\n`), `+ ${Buffer.from('v=sig').toString('base64')}\r\n`);
    assert.match(await c.send('\r\n'), /^a OK \[CAPABILITY/);
  });
});
