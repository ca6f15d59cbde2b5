import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVerp, encodeVerp } from './verp.ts';
import { parseBounce, suppressFromBounce } from './bounce-parse.ts';
import { buildDsn } from './dsn.ts';

test('VERP round trip', () => {
  const v = encodeVerp('list-bounces@lists.example.test', 'alice+tag@example.org');
  assert.equal(v, 'list-bounces+alice+tag=example.org@lists.example.test');
  assert.deepEqual(decodeVerp(v, { base: 'list-bounces@lists.example.test' }), { base: 'list-bounces@lists.example.test', recipient: 'alice+tag@example.org' });
  assert.equal(decodeVerp('list-bounces@lists.example.test'), null);
});

test('parses our own RFC 3464 DSN and Postfix, qmail and Exim text bounces', () => {
  const dsn = buildDsn({ reportingMta: 'mx.test', originalSender: 'a@x.test', arrivalDate: new Date(), now: new Date(), original: Buffer.from('Subject: s\r\n\r\nb'), recipients: [{ address: 'gone@y.test', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 unknown' }] });
  assert.deepEqual(parseBounce(dsn)?.recipients, [{ address: 'gone@y.test', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 unknown' }]);
  const postfix = 'Subject: Undelivered\n\nThis is the mail system at host mx.test.\n\n<bob@y.test>: host mx.y.test[192.0.2.1] said: 550 5.1.1 <bob@y.test>:\n    Recipient address rejected: User unknown\n';
  assert.deepEqual(parseBounce(postfix)?.recipients.map((r) => [r.address, r.status]), [['bob@y.test', '5.1.1']]);
  const qmail = 'Subject: failure notice\n\nHi. This is the qmail-send program at y.test.\n\n<carl@y.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n';
  assert.deepEqual(parseBounce(qmail)?.recipients.map((r) => [r.address, r.status, r.action]), [['carl@y.test', '5.1.1', 'failed']]);
  const exim = 'Subject: Mail delivery failed\n\nThis message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  dora@y.test\n    host mx.y.test [192.0.2.2]\n    SMTP error from remote mail server after RCPT TO:<dora@y.test>:\n    550 5.1.1 User unknown\n';
  assert.deepEqual(parseBounce(exim)?.recipients.map((r) => [r.address, r.status]), [['dora@y.test', '5.1.1']]);
});

test('a bounce to a VERP address suppresses the encoded recipient', async () => {
  const added: string[] = [];
  const sup = { addSuppression: async (a: string) => void added.push(a) };
  const result = await suppressFromBounce({ envelopeRecipient: 'list-bounces+eve=z.test@lists.test', message: Buffer.from('Subject: x\n\nunreadable'), decodeVerp: (a) => decodeVerp(a, { base: 'list-bounces@lists.test' }) }, sup);
  assert.deepEqual(result, ['eve@z.test']);
  assert.deepEqual(added, ['eve@z.test']);
});
