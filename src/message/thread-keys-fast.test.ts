import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressList } from './address.ts';
import { decodeHeaderValue } from './encoded-words.ts';
import { findHeaderEnd, headerValue, parseHeaderFields } from './header-fields.ts';
import { baseSubject, messageIndexFields, type MessageIndexFields } from './thread-keys.ts';

// The reading of index fields through the general header parser and the address-list parser: the
// one-pass reader must give the same fields for every header.
function ids(value: string | null): string[] {
  if (value === null) return [];
  const out: string[] = [];
  for (const m of value.matchAll(/<([^<>\s]{1,250})>/g)) out.push(m[1]!.toLowerCase());
  return out;
}
function firstMailboxSort(value: string | null): string {
  if (value === null) return '';
  for (const a of parseAddressList(value, { maxAddresses: 5 })) {
    const m = a.kind === 'mailbox' ? a : a.members[0];
    if (m) return (m.name ? decodeHeaderValue(m.name) : m.address).toLowerCase();
  }
  return '';
}
function reference(head: Buffer): MessageIndexFields {
  const { fieldsEnd } = findHeaderEnd(head, 0, head.length);
  const fields = parseHeaderFields(head, 0, fieldsEnd, 500);
  const own = ids(headerValue(fields, 'Message-ID'))[0] ?? null;
  const refs = [...new Set([...ids(headerValue(fields, 'In-Reply-To')), ...ids(headerValue(fields, 'References'))])].filter((r) => r !== own).slice(0, 50);
  const subject = baseSubject(decodeHeaderValue(headerValue(fields, 'Subject') ?? ''));
  const date = headerValue(fields, 'Date');
  const sentAt = date === null ? NaN : Date.parse(date.replace(/\([^)]*\)/g, ' '));
  return {
    messageId: own,
    references: refs,
    baseSubject: subject.base,
    isReplySubject: subject.isReply,
    sentAt: Number.isFinite(sentAt) ? sentAt : null,
    fromSort: firstMailboxSort(headerValue(fields, 'From')),
    toSort: firstMailboxSort(headerValue(fields, 'To')),
  };
}

const same = (head: string | Buffer): void => {
  const bytes = typeof head === 'string' ? Buffer.from(head, 'utf8') : head;
  assert.deepEqual(messageIndexFields(bytes), reference(bytes), JSON.stringify(bytes.toString('latin1')));
};

const HEADERS = [
  // What SMTP benchmarks and most clients send.
  'Received: from loadgen (localhost [127.0.0.1])\r\n\tby mx.example (Postamt) with ESMTP id 1A2B3C\r\n\tfor <u@example.org>; Sun, 6 Dec 2026 20:00:00 +0000\r\nFrom: <foo@loadgen.bench.example>\r\nTo: <u@example.org>\r\nDate: Sun, 6 Dec 2026 20:00:00 +0000 (UTC)\r\nMessage-Id: <20261206200000.1234@loadgen.bench.example>\r\n\r\nbody',
  'From: "Doe, John" <john@x.example>\r\nTo: undisclosed-recipients:;\r\nSubject: Re: [list] Fwd: plans (fwd)\r\nMessage-ID: <A@B>\r\nIn-Reply-To: <p@x> (comment)\r\nReferences: <root@x>\r\n <mid@x>\r\n\t<p@x>\r\n\r\n',
  'from: =?UTF-8?Q?J=C3=BCrgen?= <j@x>\nto: Team: a@x, b@x;\nsubject: =?utf-8?b?w6TDtsO8?=\nmessage-id:<x@y>\n\n',
  'From: j@x (Jürgen Müller)\r\nTo: Jürgen <j@x>, other@y\r\nSubject: Grüße\r\n\r\n',
  // Duplicate fields: the first counts.
  'Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\nSubject: one\r\nSubject: two\r\nFrom: a@x\r\nFrom: b@x\r\n\r\n',
  // Missing fields, no header end, LF only, bare CR.
  'X-Only: 1',
  'Subject: no end\nFrom: <a@b>',
  'Subject: a\rb\r\nFrom:\r\n <late@x>\r\n\r\n',
  // Spaces before the colon, in the name, lines without a colon, a header starting with a fold.
  ' Subject: folded start\r\nSubject : spaced\r\nFrom\r\n : colon on the fold <f@x>\r\nno colon here\r\n continued: x\r\nMessage ID: <bad@x>\r\nTo\t: <t@x>\r\n\r\n',
  ':empty name\r\nIn-Reply-To: <a@x><b@x> <a@x>\r\nReferences: <b@x> <c d@x> <e@x\r\n\r\n',
  'Date: garbage\r\nFrom: <>\r\nTo: <@route,@r2:a@b>\r\n\r\n',
  'Date: Mon, 1 Jan 2024 00:00:00 (EST) -0500\r\nFrom: Name . Dots <n@x>\r\nTo: a@b@c\r\n\r\n',
  'From: @\r\nTo: "quoted" <q@x>\r\n\r\n',
  'From: <a@b> trailing\r\nTo: Name  \t Two <t@x>\r\n\r\n',
  'From: a(b)c@x\r\nTo: [literal]@x\r\n\r\n',
  'From: .\r\nTo: <.>\r\n\r\n',
  'From: ,a@x\r\nTo: <a@x>,<b@x>\r\n\r\n',
  'FROM: UPPER <U@X>\r\nTO: =?iso-8859-1?q?=E4?= <a@x>\r\nMESSAGE-ID: <UP@X>\r\n\r\n',
  'Message-ID: <\u00e9t\u00e9@x>\r\nSubject: \u00a0nbsp\u00a0\r\nFrom\u00a0: <a@x>\r\n\r\n',
  `Message-ID: <${'a'.repeat(250)}@x>\r\nReferences: <${'b'.repeat(250)}> <${'c'.repeat(251)}>\r\n\r\n`,
  `References: ${Array.from({ length: 80 }, (_, i) => `<r${i % 60}@x>`).join(' ')}\r\nMessage-ID: <r3@x>\r\n\r\n`,
];

describe('thread keys: the one-pass reader', () => {
  it('gives the fields the general header parser gives, for varied headers', () => {
    for (const h of HEADERS) same(h);
  });
  it('reads 8-bit headers as UTF-8 when they are, else as Latin-1', () => {
    same(Buffer.from('From: J\xfcrgen <j@x>\r\nSubject: gr\xfc\xdfe\r\n\r\n', 'latin1'));
    same(Buffer.from('From: Jürgen <j@x>\r\nSubject: grüße\r\n\r\n', 'utf8'));
  });
  it('stops where the general parser does: at the 500th field', () => {
    const filler = Array.from({ length: 499 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
    same(`${filler}Message-ID: <in@x>\r\nSubject: past\r\n\r\n`);
    same(`${filler}bad line\r\n\tmore\r\nSubject: in\r\nMessage-ID: <past@x>\r\n\r\n`);
  });
  it('agrees on random headers built from the pieces that matter', () => {
    const names = ['Message-ID', 'message-id', 'In-Reply-To', 'References', 'Subject', 'Date', 'From', 'To', 'X-Other', 'Fro m', 'From ', ' To', ''];
    const values = ['<a@x>', '<B@X> <c@x>', 'Re: hi', 'Fwd: [x] (fwd)', '=?utf-8?q?=C3=A4?= <a@x>', '"q, r" <q@x>', 'a@x', 'g: a@x;', '', '(c) <d@x>', 'Mon, 1 Jan 2024 00:00:00 +0000', '<a@x', 'Äö <ä@x>', 'x <y> z', '\u3000<w@x>'];
    const ends = ['\r\n', '\n', '\r\n ', '\r\n\t', ' '];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      let h = '';
      for (let f = rand(8); f >= 0; f--) h += `${names[rand(names.length)]}:${rand(2) ? ' ' : ''}${values[rand(values.length)]}${ends[rand(ends.length)]}`;
      same(`${h}\r\n\r\nbody`);
      same(h);
    }
  });
});
