// Decoded text for SEARCH: transfer encodings, charsets, RFC 2047 header words, nested
// messages, size cap; plus the BINARY decoder's unknown-encoding error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMimeTree } from './mime-tree.ts';
import { decodeHeaderValue } from './encoded-words.ts';
import { messageText } from './search-text.ts';
import { decodeTransfer, UnknownTransferEncodingError } from './transfer-encoding.ts';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');

test('RFC 2047: B and Q words, adjacent words joined, other whitespace kept (RFC 2047 §8 examples)', () => {
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?a?='), 'a');
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?a?= b'), 'a b');
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?='), 'ab');
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?='), 'ab');
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?='), 'ab');
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?a_b?='), 'a b');
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?='), 'a b');
  assert.equal(decodeHeaderValue('=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>'), 'Keith Moore <moore@cs.utk.edu>');
  assert.equal(decodeHeaderValue('=?ISO-8859-1?Q?Andr=E9?= Pirard'), 'André Pirard');
  assert.equal(decodeHeaderValue('=?utf-8?B?8J+YgA==?= smile'), '😀 smile');
  // A UTF-8 character split across two words still decodes.
  assert.equal(decodeHeaderValue('=?utf-8?B?4oI=?= =?utf-8?B?rA==?='), '€');
  assert.equal(decodeHeaderValue('=?koi8-r?B?8NLJ18XU?='), 'Привет');
  assert.equal(decodeHeaderValue('=?utf-8*en?q?hi?='), 'hi');
  assert.equal(decodeHeaderValue('=?x-unknown?q?caf=E9?='), 'café');
  assert.equal(decodeHeaderValue('not =?encoded'), 'not =?encoded');
  assert.equal(decodeHeaderValue('=?utf-8?q?has space?='), '=?utf-8?q?has space?=');
});

/** CPU time of this process in ms: unlike the wall clock, not stretched by other processes on a loaded machine. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

test('decodeHeaderValue is linear on hostile input', () => {
  const manyCharsets = Array.from({ length: 100_000 }, (_, i) => `=?cs${i}?q?x?=`).join(' ');
  for (const s of [manyCharsets, '=?'.repeat(1_000_000), '=?a?Q?'.repeat(300_000), '=?a?Q?x '.repeat(200_000), '=?utf-8?q?a?='.repeat(150_000)]) {
    const t0 = cpuMs();
    decodeHeaderValue(s);
    assert.ok(cpuMs() - t0 < 2000, s.slice(0, 8));
  }
});

test('decodeTransfer: base64 (lenient), quoted-printable (soft breaks), identity, unknown → typed error', () => {
  assert.equal(decodeTransfer(Buffer.from('aGVs\r\nbG8g!d29y bGQ='), 'BASE64').toString(), 'hello world');
  assert.equal(decodeTransfer(Buffer.from('caf=C3=A9 =\r\nsoft=\nbreak  \r\nend=XY ='), 'quoted-printable').toString(), 'café softbreak\r\nend=XY ');
  const raw = Buffer.from([0, 1, 2, 0xff]);
  assert.equal(decodeTransfer(raw, '8bit'), raw);
  assert.equal(decodeTransfer(raw, 'binary'), raw);
  assert.throws(() => decodeTransfer(raw, 'x-uuencode'), (e: unknown) => e instanceof UnknownTransferEncodingError && e.encoding === 'x-uuencode');
});

test('messageText: text parts decoded by encoding and charset; attachments skipped; nested message included', () => {
  const msg = crlf(`Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
From: =?iso-8859-1?q?J=F6rg?= <j@x.de>
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-15
Content-Transfer-Encoding: quoted-printable

Preis: 5 =A4
--b
Content-Type: text/html; charset=windows-1251
Content-Transfer-Encoding: base64

z/Do4uXy
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

c2VjcmV0IGF0dGFjaG1lbnQ=
--b
Content-Type: message/rfc822

Subject: =?shift_jis?B?k/qWe4zq?=

inner text
--b--
`);
  const root = parseMimeTree(msg);
  const text = messageText(msg, root);
  assert.equal(text.headers, 'Subject: Grüße\nFrom: Jörg <j@x.de>\nContent-Type: multipart/mixed; boundary=b\n');
  assert.equal(text.body, 'Preis: 5 €\nПривет\nSubject: 日本語\n\ninner text');
  assert.ok(!text.body.includes('secret'));
});

test('messageText: unknown charset falls back to latin1, us-ascii with UTF-8 bytes reads as UTF-8', () => {
  const a = Buffer.concat([Buffer.from('Content-Type: text/plain; charset=x-nonsense\r\n\r\n'), Buffer.from([0x63, 0x61, 0x66, 0xe9])]);
  assert.equal(messageText(a, parseMimeTree(a)).body, 'café');
  const b = Buffer.from('Content-Type: text/plain\r\n\r\ncafé', 'utf8');
  assert.equal(messageText(b, parseMimeTree(b)).body, 'café');
});

test('messageText caps the decoded body size', () => {
  const msg = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n\r\n' + 'x'.repeat(5000) + '\r\n--b\r\n\r\nmore\r\n--b--\r\n');
  const text = messageText(msg, parseMimeTree(msg), { maxBytes: 1000 });
  assert.equal(text.body, 'x'.repeat(1000));
});
