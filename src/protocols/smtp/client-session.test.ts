import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyParser, type SmtpReply } from './client-reply.ts';
import { SmtpClientSession, type ClientAction } from './client-session.ts';
import { encodeData } from './client-data.ts';

function r(text: string): SmtpReply {
  const replies = new ReplyParser().feed(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n'));
  assert.equal(replies.length, 1);
  return replies[0]!;
}
const sent = (actions: ClientAction[]) => actions.filter((a) => a.kind === 'send').map((a) => (a as { data: string }).data).join('');

test('parses multi-line replies with enhanced codes', () => {
  const p = new ReplyParser();
  const out = p.feed(Buffer.from('250-mx.test hi\r\n250-PIPELINING\r\n250 SIZE 100\r\n550 5.1.1 no such user\r\n'));
  assert.deepEqual(out[0]!.lines, ['mx.test hi', 'PIPELINING', 'SIZE 100']);
  assert.equal(out[1]!.enhancedCode, '5.1.1');
  assert.equal(p.feed(Buffer.from('hello\r\n'))[0]!.code, 0);
});

test('EHLO, pipelined MAIL/RCPT/DATA with DSN parameters, per-recipient results', () => {
  const s = new SmtpClientSession({ heloName: 'client.test', tlsMode: 'none' });
  assert.equal(sent(s.receive(r('220 mx.test ESMTP'))), 'EHLO client.test\r\n');
  assert.deepEqual(s.receive(r('250-mx.test\n250-PIPELINING\n250-DSN\n250-SIZE 1000\n250 8BITMIME')), [{ kind: 'ready' }]);
  const out = s.beginTransaction({ reversePath: 'a@x.test', recipients: [{ address: 'b@y.test', notify: ['FAILURE'], orcpt: 'rfc822;B+1@y.test' }, { address: 'c@y.test' }], size: 10, needs8bit: false, envid: 'E=1', ret: 'HDRS' });
  assert.equal(sent(out), 'MAIL FROM:<a@x.test> SIZE=10 RET=HDRS ENVID=E+3D1\r\nRCPT TO:<b@y.test> NOTIFY=FAILURE ORCPT=rfc822;B+2B1@y.test\r\nRCPT TO:<c@y.test>\r\nDATA\r\n');
  assert.deepEqual(s.receive(r('250 ok')), []);
  s.receive(r('550 5.1.1 unknown'));
  s.receive(r('250 ok'));
  assert.deepEqual(s.receive(r('354 go')), [{ kind: 'send-body' }]);
  const done = s.receive(r('250 2.0.0 queued'));
  const result = (done[0] as Extract<ClientAction, { kind: 'transaction-done' }>).result;
  assert.deepEqual(result.recipients.map((x) => [x.address, x.reply.code]), [['b@y.test', 550], ['c@y.test', 250]]);
  assert.equal(result.peerSupportsDsn, true);
  // RFC 5321 §4.1.1.4: the reply to the final dot ended the transaction; the next one needs no RSET.
  assert.match(sent(s.beginTransaction({ reversePath: '', recipients: [{ address: 'b@y.test' }], size: 1, needs8bit: false })), /^MAIL FROM:<> SIZE=1\r\n/);
  s.receive(r('250 ok'));
  s.receive(r('250 ok'));
  // A refused DATA leaves the transaction open on the server: the next one starts with RSET.
  assert.equal(s.receive(r('554 5.5.1 no')).at(-1)!.kind, 'ready');
  assert.match(sent(s.beginTransaction({ reversePath: '', recipients: [{ address: 'b@y.test' }], size: 1, needs8bit: false })), /^RSET\r\nMAIL FROM:<> SIZE=1\r\n/);
});

test('falls back to HELO and sends commands one at a time without PIPELINING', () => {
  const s = new SmtpClientSession({ heloName: 'client.test', tlsMode: 'opportunistic' });
  s.receive(r('220 old.test'));
  assert.equal(sent(s.receive(r('502 5.5.2 what'))), 'HELO client.test\r\n');
  assert.deepEqual(s.receive(r('250 old.test')), [{ kind: 'ready' }]);
  assert.equal(sent(s.beginTransaction({ reversePath: 'a@x.test', recipients: [{ address: 'b@y.test', notify: ['SUCCESS'] }], size: 5, needs8bit: false })), 'MAIL FROM:<a@x.test>\r\n');
  assert.equal(sent(s.receive(r('250 ok'))), 'RCPT TO:<b@y.test>\r\n');
  const end = s.receive(r('550 no'));
  assert.equal(end[0]!.kind, 'transaction-done', 'no DATA once every RCPT failed');
});

test('refuses oversized and 8bit messages locally, and STARTTLS when required', () => {
  const s = new SmtpClientSession({ heloName: 'c', tlsMode: 'none' });
  s.receive(r('220 x'));
  s.receive(r('250-x\n250 SIZE 100'));
  const big = s.beginTransaction({ reversePath: 'a@x', recipients: [{ address: 'b@y' }], size: 101, needs8bit: false });
  assert.equal((big[0] as Extract<ClientAction, { kind: 'transaction-done' }>).result.recipients[0]!.reply.enhancedCode, '5.3.4');
  const eight = s.beginTransaction({ reversePath: 'a@x', recipients: [{ address: 'b@y' }], size: 1, needs8bit: true });
  assert.equal((eight[0] as Extract<ClientAction, { kind: 'transaction-done' }>).result.recipients[0]!.reply.enhancedCode, '5.6.3');
  const utf8 = s.beginTransaction({ reversePath: 'a@x', recipients: [{ address: 'jörg@y' }], size: 1, needs8bit: false });
  assert.equal((utf8[0] as Extract<ClientAction, { kind: 'transaction-done' }>).result.recipients[0]!.reply.enhancedCode, '5.6.7');

  const t = new SmtpClientSession({ heloName: 'c', tlsMode: 'required' });
  t.receive(r('220 x'));
  const failed = t.receive(r('250 x'));
  assert.equal((failed.find((a) => a.kind === 'failed') as Extract<ClientAction, { kind: 'failed' }>).reply.enhancedCode, '4.7.4');
});

test('STARTTLS then EHLO again, then AUTH PLAIN', () => {
  const s = new SmtpClientSession({ heloName: 'c', tlsMode: 'opportunistic', auth: { username: 'u', password: 'p' } });
  s.receive(r('220 x'));
  assert.equal(sent(s.receive(r('250-x\n250 STARTTLS'))), 'STARTTLS\r\n');
  assert.deepEqual(s.receive(r('220 go')), [{ kind: 'starttls' }]);
  assert.equal(sent(s.tlsStarted()), 'EHLO c\r\n');
  assert.equal(sent(s.receive(r('250-x\n250 AUTH PLAIN LOGIN'))), `AUTH PLAIN ${Buffer.from('\0u\0p').toString('base64')}\r\n`);
  assert.deepEqual(s.receive(r('235 ok')), [{ kind: 'ready' }]);
});

test('encodes DATA with CRLF line ends, dot-stuffing and the terminator', () => {
  assert.equal(encodeData(Buffer.from('a\n.b\r\n..c\rd')).toString(), 'a\r\n..b\r\n...c\r\nd\r\n.\r\n');
  assert.equal(encodeData(Buffer.from('')).toString(), '.\r\n');
  assert.equal(encodeData(Buffer.from('x\r\n')).toString(), 'x\r\n.\r\n');
});
