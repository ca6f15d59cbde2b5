// ENVELOPE output checked against Dovecot's test vectors (dovecot/core
// src/lib-imap/test-imap-envelope.c, copied there from imaptest) and RFC 9051 §7.5.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMimeTree } from '../../message/mime-tree.ts';
import { formatEnvelope } from './envelope.ts';

function envelope(message: string, options?: { utf8: boolean }): string {
  const buf = Buffer.from(message.replace(/\r?\n/g, '\r\n'), 'utf8');
  return formatEnvelope(parseMimeTree(buf), buf, options);
}

test('all ten fields from a full header (imaptest vector)', () => {
  const got = envelope('Message-ID: <msg@id>\nIn-Reply-To: <reply@to.id>\nDate: Thu, 15 Feb 2007 01:02:03 +0200\nSubject: subject header\n' +
    'From: From Real <fromuser@fromdomain.org>\nTo: To Real <touser@todomain.org>\nCc: Cc Real <ccuser@ccdomain.org>\n' +
    'Bcc: Bcc Real <bccuser@bccdomain.org>\nSender: Sender Real <senderuser@senderdomain.org>\n' +
    'Reply-To: ReplyTo Real <replytouser@replytodomain.org>\n\nbody\n');
  assert.equal(got, '("Thu, 15 Feb 2007 01:02:03 +0200" "subject header" (("From Real" NIL "fromuser" "fromdomain.org")) ' +
    '(("Sender Real" NIL "senderuser" "senderdomain.org")) (("ReplyTo Real" NIL "replytouser" "replytodomain.org")) ' +
    '(("To Real" NIL "touser" "todomain.org")) (("Cc Real" NIL "ccuser" "ccdomain.org")) (("Bcc Real" NIL "bccuser" "bccdomain.org")) ' +
    '"<reply@to.id>" "<msg@id>")');
});

test('sender and reply-to default to from; missing fields are NIL', () => {
  assert.equal(envelope('Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain\n\nbody\n'),
    '("Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) NIL NIL NIL NIL NIL)');
});

test('groups, empty groups and a comment as display name (imaptest vector)', () => {
  assert.equal(envelope('Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\nTo: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\n' +
    'Cc: group:;, group2: (foo) ;\n\nbody\n'),
  '("Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) ' +
    '((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL)) ' +
    '((NIL NIL "group" NIL)(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)');
});

test('empty Sender and Reply-To default to from (imaptest vector)', () => {
  assert.equal(envelope('Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\nSender: \nReply-To: \n\nbody\n'),
    '("Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) NIL NIL NIL NIL NIL)');
});

test('source route goes in the adl field (imaptest vector)', () => {
  assert.equal(envelope('Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: <@route:user@domain>\n\nbody\n'),
    '("Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) NIL NIL NIL NIL NIL)');
});

test('RFC 9051 §7.5.2 example envelope', () => {
  const got = envelope('Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\nSubject: IMAP4rev2 WG mtg summary and minutes\n' +
    'From: Terry Gray <gray@cac.washington.edu>\nTo: imap@cac.washington.edu\nCc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\n' +
    'Message-Id: <B27397-0100000@cac.washington.edu>\n\nbody\n');
  assert.equal(got, '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
    '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
    '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")');
});

test('encoded words are sent raw, quoted display names unquoted, quotes escaped', () => {
  const got = envelope('Subject: =?utf-8?q?caf=C3=A9?= "time"\nFrom: "Doe, John \\"JD\\"" <jd@example.com>\n\nx\n');
  assert.equal(got, '(NIL "=?utf-8?q?caf=C3=A9?= \\"time\\"" (("Doe, John \\"JD\\"" NIL "jd" "example.com")) (("Doe, John \\"JD\\"" NIL "jd" "example.com")) ' +
    '(("Doe, John \\"JD\\"" NIL "jd" "example.com")) NIL NIL NIL NIL NIL)');
});

test('8-bit subject is a literal under IMAP4rev1 and quoted under UTF8=ACCEPT', () => {
  assert.equal(envelope('Subject: Grüße\n\nx\n'), '(NIL {7}\r\nGrüße NIL NIL NIL NIL NIL NIL NIL NIL)');
  assert.equal(envelope('Subject: Grüße\n\nx\n', { utf8: true }), '(NIL "Grüße" NIL NIL NIL NIL NIL NIL NIL NIL)');
});

test('folded subject is unfolded; an address without domain gets an empty host, never NIL', () => {
  assert.equal(envelope('Subject: long\n  subject\nTo: undisclosed\n\nx\n'), '(NIL "long  subject" NIL NIL NIL ((NIL NIL "undisclosed" "")) NIL NIL NIL NIL)');
});
