import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseSubject, INDEX_HEAD_BYTES, messageIndexFields, storedMessageIndexFields } from './thread-keys.ts';
import { composeMessage, encodeQuotedPrintable } from './compose.ts';
import { parseMimeTree } from './mime-tree.ts';

describe('thread keys', () => {
  it('strips reply and forward prefixes and list tags from the subject', () => {
    assert.deepEqual(baseSubject('Re: [list] Fwd: AW: Plans (fwd)'), { base: 'plans', isReply: true });
    assert.deepEqual(baseSubject('  Plans   for  2024 '), { base: 'plans for 2024', isReply: false });
    assert.deepEqual(baseSubject('[only tag]'), { base: '[only tag]', isReply: false });
  });
  it('reads a stored message\'s fields from the trace prefix and the body, also past a long header', () => {
    const reads: number[] = [];
    const reader = (body: Buffer) => (n: number): Buffer => {
      reads.push(n);
      return body.subarray(0, n);
    };
    const short = Buffer.from('Subject: short\r\n\r\n' + 'x'.repeat(20_000));
    assert.equal(storedMessageIndexFields(Buffer.from('Message-ID: <a@x>\r\n'), reader(short)).messageId, 'a@x');
    assert.deepEqual(reads, [8192]);
    // A header longer than the first read: Message-ID comes after 9 KB of other fields.
    reads.length = 0;
    const long = Buffer.from(`X-Filler: ${'y'.repeat(9000)}\r\nMessage-ID: <late@x>\r\nSubject: long\r\n\r\nbody`);
    const fields = storedMessageIndexFields(Buffer.alloc(0), reader(long));
    assert.equal(fields.messageId, 'late@x');
    assert.equal(fields.baseSubject, 'long');
    assert.deepEqual(reads, [8192, INDEX_HEAD_BYTES]);
    // SMTP: the whole header, with its empty line, is in the prefix; the body is not read at all.
    reads.length = 0;
    const smtp = storedMessageIndexFields(Buffer.from('Received: by x\r\nMessage-ID: <s@x>\r\nSubject: Re: s\r\n\r\n'), reader(Buffer.from('Message-ID: <not@x>\r\n')));
    assert.equal(smtp.messageId, 's@x');
    assert.equal(smtp.baseSubject, 's');
    assert.deepEqual(reads, []);
  });
  it('reads Message-ID, the references (parent first), sort keys and the date', () => {
    const f = messageIndexFields(Buffer.from('Message-ID: <Me@X>\r\nReferences: <root@x> <p@x>\r\nIn-Reply-To: <p@x>\r\nFrom: =?UTF-8?Q?J=C3=BCrgen?= <j@x>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: Re: hi\r\n\r\nbody'));
    assert.equal(f.messageId, 'me@x');
    assert.deepEqual(f.references, ['p@x', 'root@x']);
    assert.equal(f.fromSort, 'jürgen');
    assert.equal(f.sentAt, Date.UTC(2024, 0, 1));
    assert.equal(f.isReplySubject, true);
  });
});

describe('compose', () => {
  it('writes quoted-printable with soft breaks and a MIME tree the parser reads back', () => {
    const qp = encodeQuotedPrintable(`${'x'.repeat(100)} é=\nend `);
    assert.ok(qp.split('\r\n').every((l) => l.length <= 76));
    assert.match(qp, /=C3=A9=3D/);
    assert.match(qp, /end=20$/);
    const msg = composeMessage([['Subject', 'x']], { kind: 'multipart', subtype: 'mixed', headers: [], parts: [
      { kind: 'leaf', type: 'text/plain', charset: 'utf-8', headers: [], body: Buffer.from('hi'), name: null, disposition: null, cid: null },
      { kind: 'leaf', type: 'application/pdf', charset: null, headers: [], body: Buffer.from('%PDF'), name: 'ä.pdf', disposition: 'attachment', cid: null },
    ] });
    const root = parseMimeTree(msg);
    assert.equal(root.children.length, 2);
    assert.equal(root.children[1]!.disposition?.params.filename, 'ä.pdf');
  });
});
