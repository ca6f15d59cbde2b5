// BODY/BODYSTRUCTURE output checked against Dovecot's own test vectors
// (dovecot/core src/lib-imap/test-imap-bodystructure.c, messages converted to CRLF: Dovecot
// reports CRLF sizes) and the RFC 9051 §7.5.2 example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMimeTree } from '../../message/mime-tree.ts';
import { formatBodyStructure } from './bodystructure.ts';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');

function both(message: string): { body: string; bodystructure: string } {
  const buf = crlf(message);
  const root = parseMimeTree(buf);
  return {
    body: formatBodyStructure(root, buf, { extensible: false }),
    bodystructure: formatBodyStructure(root, buf, { extensible: true }),
  };
}

const HDR = 'From: user@domain.org\nDate: Sat, 24 Mar 2017 23:00:00 +0200\nMime-Version: 1.0\n';

test('single text/plain part (Dovecot vector 0)', () => {
  const r = both(HDR + 'Content-Type: text/plain; charset=us-ascii\n\nbody\n');
  assert.equal(r.bodystructure, '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)');
  assert.equal(r.body, '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1)');
});

test('8bit utf-8 text with two lines (Dovecot vector 1)', () => {
  const r = both(HDR + 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nbody\n\n');
  assert.equal(r.bodystructure, '("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 8 2 NIL NIL NIL NIL)');
});

test('folded quoted boundary "foo bar" (Dovecot vector 2)', () => {
  const r = both('From: user@domain.org\nDate: Sat, 24 Mar 2007 23:00:00 +0200\nMime-Version: 1.0\n' +
    'Content-Type: multipart/mixed; boundary="foo\n bar"\n\n--foo bar\nContent-Type: text/x-myown; charset=us-ascii\n\nhello\n\n--foo bar--\n\n');
  assert.equal(r.bodystructure, '(("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)');
  assert.equal(r.body, '(("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1) "mixed")');
});

const FORWARD = HDR + 'Content-Type: multipart/mixed; boundary="foo bar"\n\n--foo bar\nContent-Type: text/plain; charset=us-ascii\n\nSee attached...\n\n' +
  '--foo bar\nContent-Type: message/rfc822\n\n' + HDR + 'Content-Type: text/plain; charset=us-ascii\n\nbody\n\n--foo bar--\n\n';

test('forwarded message/rfc822 with envelope (Dovecot vector 3)', () => {
  const r = both(FORWARD);
  const env = '("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL)';
  assert.equal(r.bodystructure, `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 17 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 133 ${env} ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)`);
  assert.equal(r.body, `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 17 1)("message" "rfc822" NIL NIL NIL "7bit" 133 ${env} ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 6) "mixed")`);
});

test('content-id and description on parts (Dovecot vector 4)', () => {
  const r = both(HDR + 'Content-Type: multipart/mixed; boundary="foo bar"\n\n--foo bar\nContent-Type: text/plain; charset=us-ascii\n' +
    'Content-ID: <A.frop.example.com>\nContent-Description: Container message\n\nSee attached...\n\n--foo bar\nContent-Type: message/rfc822\n' +
    'Content-ID: <B.frop.example.com>\nContent-Description: Forwarded\n\n' + HDR + 'Content-Type: text/plain; charset=us-ascii\n\nbody\n\n--foo bar--\n');
  assert.equal(r.body, '(("text" "plain" ("charset" "us-ascii") "<A.frop.example.com>" "Container message" "7bit" 17 1)("message" "rfc822" NIL "<B.frop.example.com>" "Forwarded" "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 6) "mixed")');
});

test('text with language, image attachment with disposition (Dovecot vector 5)', () => {
  const lorem = [
    'Lorem ipsum dolor sit amet, consectetuer adipiscing elit. Aenean commodo',
    'ligula eget dolor. Aenean massa. Cum sociis natoque penatibus et magnis dis',
    'parturient montes, nascetur ridiculus mus. Donec quam felis, ultricies nec,',
    'pellentesque eu, pretium quis, sem. Nulla consequat massa quis enim. Donec',
    'pede justo, fringilla vel, aliquet nec, vulputate eget, arcu. In enim justo,',
    'rhoncus ut, imperdiet a, venenatis vitae, justo. Nullam dictum felis eu pede',
    'mollis pretium. Integer tincidunt. Cras dapibus. Vivamus elementum semper',
    'nisi. Aenean vulputate eleifend tellus. Aenean leo ligula, porttitor eu,',
    'consequat vitae, eleifend ac, enim. Aliquam lorem ante, dapibus in, viverra',
    'quis, feugiat a, tellus. Phasellus viverra nulla ut metus varius laoreet.',
    'Quisque rutrum. Aenean imperdiet. Etiam ultricies nisi vel augue. Curabitur',
    'ullamcorper ultricies nisi. Nam eget dui.',
  ].join('\n');
  // 18 lines of 76 base64 characters plus a 29-character last line: 18*78 + 31 = 1435... the
  // exact Dovecot size (1390) depends on its pigeon.png; here we check the structure and our size.
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAB8AAAAfCAYAAAAfrhY5AAAABHNCSVQICAgIfAhkiAAAAAlwSFlz\n'.repeat(17) + 'QQQQ\n';
  const r = both(HDR + 'Content-Type: multipart/mixed; boundary="foo bar"\n\n--foo bar\nContent-Type: text/plain; charset=us-ascii; format="flowed";\n  delsp="no"\nContent-Language: la\n\n' +
    lorem + '\n\n--foo bar\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="pigeon.png"\n\n' + png + '--foo bar--\n');
  const pngSize = Buffer.byteLength(png.replace(/\n/g, '\r\n')) - 2;
  assert.equal(r.bodystructure, `(("text" "plain" ("charset" "us-ascii" "format" "flowed" "delsp" "no") NIL NIL "7bit" 881 12 NIL NIL ("la") NIL)("image" "png" NIL NIL NIL "base64" ${pngSize} NIL ("attachment" ("filename" "pigeon.png")) NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)`);
});

test('md5, disposition, language list, location, nested alternative in rfc822 (Dovecot vector 6)', () => {
  const msg = 'From: user@domain.org\nDate: Sat, 24 Mar 2007 23:00:00 +0200\nMime-Version: 1.0\nContent-Type: multipart/mixed; boundary="foo\n bar"\n\n' +
    'Root MIME prologue\n\n--foo bar\nContent-Type: text/x-myown; charset=us-ascii; foo="quoted\\"string"\nContent-ID: <foo@example.com>\n' +
    'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Disposition: inline; foo=bar\nContent-Description: hellodescription\n' +
    'Content-Language: en, fi, se\nContent-Location: http://example.com/test.txt\n\nhello\n\n--foo bar\nContent-Type: message/rfc822\n\n' +
    'From: sub@domain.org\nTo: sub-to1@domain.org, sub-to2@domain.org\nDate: Sun, 12 Aug 2012 12:34:56 +0300\nSubject: submsg\n' +
    'Content-Type: multipart/alternative; boundary="sub1"\n\nSub MIME prologue\n--sub1\nContent-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n' +
    '<p>Hello world</p>\n\n--sub1\nContent-Type: text/plain\nContent-Transfer-Encoding: ?invalid\n\nHello another world\n\n--sub1--\n' +
    'Sub MIME epilogue\n\n--foo bar--\nRoot MIME epilogue\n';
  const r = both(msg);
  assert.equal(r.bodystructure, '(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar")) ("en" "fi" "se") "http://example.com/test.txt")("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)');
  assert.equal(r.body, '(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1)("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1) "alternative") 21) "mixed")');
});

test('multipart with no parts is shown as one empty text/plain part (Dovecot vector 7)', () => {
  const r = both('Content-Type: multipart/mixed; boundary="foo"\n\n');
  assert.equal(r.bodystructure, '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "foo") NIL NIL NIL)');
  assert.equal(r.body, '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")');
});

test('RFC 9051 §7.5.2 multipart example (BODY form; RFC shows upper case, we send lower case like Dovecot)', () => {
  // Part 1: 1152 octets in 23 lines; part 2: base64, 4554 octets in 73 lines.
  const line50 = 'x'.repeat(48) + '\r\n';
  const part1 = line50.repeat(22) + 'y'.repeat(1152 - 22 * 50 - 2) + '\r\n';
  const b64line = 'A'.repeat(60) + '\r\n';
  const part2 = b64line.repeat(72) + 'A'.repeat(88) + '\r\n';
  assert.equal(part1.length, 1152);
  assert.equal(part2.length, 4554);
  const msg = Buffer.from('Content-Type: MULTIPART/MIXED; BOUNDARY="x"\r\n\r\n--x\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n' + part1 +
    '\r\n--x\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\nContent-ID: <960723163407.20117h@cac.washington.edu>\r\n' +
    'Content-Description: Compiler diff\r\nContent-Transfer-Encoding: BASE64\r\n\r\n' + part2 + '\r\n--x--\r\n');
  const root = parseMimeTree(msg);
  const got = formatBodyStructure(root, msg, { extensible: false });
  assert.equal(got, '(("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 1152 23)("text" "plain" ("charset" "US-ASCII" "name" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "base64" 4554 73) "mixed")');
  // The RFC's text, compared without regard to case (RFC 9051 §7.5.2 example).
  assert.equal(got.toLowerCase(), '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")'.toLowerCase());
});

test('RFC 2231 parameters are sent joined, extended ones keep name* and charset\'\'%XX (Dovecot style)', () => {
  const msg = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf;\n name*0*=utf-8\'\'%E2%82%AC%20rates;\n name*1=".pdf"\n' +
    'Content-Disposition: attachment; filename*=utf-8\'\'%C3%A9t%C3%A9.pdf\nContent-Transfer-Encoding: base64\n\nAAAA\n--b--\n');
  const root = parseMimeTree(msg);
  assert.equal(formatBodyStructure(root, msg, { extensible: true }),
    '(("application" "pdf" ("name*" "utf-8\'\'%E2%82%AC%20rates.pdf") NIL NIL "base64" 4 NIL ("attachment" ("filename*" "utf-8\'\'%C3%A9t%C3%A9.pdf")) NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)');
  assert.equal(root.children[0]!.contentType.params['name'], '€ rates.pdf');
  assert.equal(root.children[0]!.disposition!.params['filename'], 'été.pdf');
});

test('8-bit parameter values go out as literals under IMAP4rev1 and quoted with UTF8=ACCEPT', () => {
  const msg = Buffer.from('Content-Type: text/plain; charset=utf-8; name="résumé.txt"\r\n\r\nhi\r\n');
  const root = parseMimeTree(msg);
  assert.equal(formatBodyStructure(root, msg, { extensible: false }), '("text" "plain" ("charset" "utf-8" "name" {12}\r\nrésumé.txt) NIL NIL "7bit" 4 1)');
  assert.equal(formatBodyStructure(root, msg, { extensible: false, utf8: true }), '("text" "plain" ("charset" "utf-8" "name" "résumé.txt") NIL NIL "7bit" 4 1)');
});

test('parts beyond the nesting limit are shown as application/octet-stream', () => {
  const msg = crlf('Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n--a--\n');
  const root = parseMimeTree(msg, { maxDepth: 1 });
  assert.equal(formatBodyStructure(root, msg, { extensible: false }), '(("application" "octet-stream" ("boundary" "b") NIL NIL "7bit" 15) "mixed")');
});

test('base64-encoded message/rfc822 is opaque (no envelope), like Dovecot', () => {
  const msg = crlf('Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nRnJvbTogYUBiDQoNCmhp\n--a--\n');
  const root = parseMimeTree(msg);
  assert.equal(formatBodyStructure(root, msg, { extensible: false }), '(("application" "octet-stream" NIL NIL NIL "base64" 20) "mixed")');
});
