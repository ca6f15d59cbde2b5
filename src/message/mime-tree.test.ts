// MIME tree: byte-exact part offsets on a corpus of real-world-shaped messages, IMAP part
// numbering, hostile shapes (depth, part count, huge header lines) and a round-trip property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findPart, parseMimeTree, type MimePart } from './mime-tree.ts';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');
const body = (msg: Buffer, p: MimePart | null): string => {
  assert.ok(p !== null, 'part exists');
  return msg.subarray(p.bodyStart, p.bodyEnd).toString('utf8');
};
const mime = (msg: Buffer, p: MimePart | null): string => {
  assert.ok(p !== null, 'part exists');
  return msg.subarray(p.headerStart, p.headerEnd).toString('utf8');
};

test('plain text message: header ends after the empty line, BODY[1] is the body', () => {
  const msg = crlf('From: a@b\nSubject: hi\n\nline 1\nline 2\n');
  const root = parseMimeTree(msg);
  assert.equal(msg.subarray(root.headerStart, root.headerEnd).toString(), 'From: a@b\r\nSubject: hi\r\n\r\n');
  assert.equal(body(msg, root), 'line 1\r\nline 2\r\n');
  assert.deepEqual(root.contentType, { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' }, wireParams: [['charset', 'us-ascii']] });
  assert.equal(root.encoding, '7bit');
  assert.equal(root.lines, 2);
  assert.equal(findPart(root, [1]), root);
  assert.equal(findPart(root, []), root);
  assert.equal(findPart(root, [2]), null);
  assert.equal(findPart(root, [1, 1]), null);
  assert.deepEqual(root.headers, [{ name: 'From', value: 'a@b' }, { name: 'Subject', value: 'hi' }]);
});

const MIXED = crlf(`From: a@example.com
To: b@example.com
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is a multi-part message in MIME format.
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello =E2=82=AC
--inner
Content-Type: text/html; charset=utf-8

<p>Hello</p>
--inner--

--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer--
epilogue text
`);

test('multipart/alternative inside multipart/mixed with an attachment: byte-exact parts', () => {
  const root = parseMimeTree(MIXED);
  assert.equal(root.children.length, 2);
  assert.equal(body(MIXED, findPart(root, [1, 1])), 'Hello =E2=82=AC');
  assert.equal(mime(MIXED, findPart(root, [1, 1])), 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n');
  assert.equal(body(MIXED, findPart(root, [1, 2])), '<p>Hello</p>');
  // The alternative's own body runs to the CRLF before "--outer"; its close delimiter is inside.
  assert.equal(body(MIXED, findPart(root, [1])), '--inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello =E2=82=AC\r\n' +
    '--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello</p>\r\n--inner--\r\n');
  const pdf = findPart(root, [2])!;
  assert.equal(body(MIXED, pdf), 'JVBERi0xLjQK');
  assert.equal(pdf.encoding, 'base64');
  assert.deepEqual(pdf.disposition, { type: 'attachment', params: { filename: 'report.pdf' }, wireParams: [['filename', 'report.pdf']] });
  assert.equal(pdf.contentType.params['name'], 'report.pdf');
  assert.equal(findPart(root, [3]), null);
  assert.equal(findPart(root, [1, 3]), null);
  assert.equal(findPart(root, [0]), null);
});

const FORWARDED = crlf(`From: fwd@example.com
Subject: Fwd: plans
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text/plain

see below
--b1
Content-Type: message/rfc822
Content-Description: original

From: orig@example.com
Subject: plans
Content-Type: multipart/mixed; boundary=b2

--b2
Content-Type: text/plain

the plan
--b2
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0K
--b2--
--b1--
`);

test('forwarded message/rfc822 with its own multipart: numbering descends into it', () => {
  const root = parseMimeTree(FORWARDED);
  const rfc822 = findPart(root, [2])!;
  assert.equal(rfc822.contentType.subtype, 'rfc822');
  assert.ok(rfc822.message);
  assert.equal(rfc822.message.headerStart, rfc822.bodyStart);
  // BODY[2.HEADER] is the encapsulated message's header.
  assert.equal(FORWARDED.subarray(rfc822.message.headerStart, rfc822.message.headerEnd).toString(),
    'From: orig@example.com\r\nSubject: plans\r\nContent-Type: multipart/mixed; boundary=b2\r\n\r\n');
  assert.equal(body(FORWARDED, findPart(root, [2, 1])), 'the plan');
  assert.equal(body(FORWARDED, findPart(root, [2, 2])), 'iVBORw0K');
  assert.equal(findPart(root, [2, 3]), null);
  // 14 lines, but the last one's CRLF belongs to the --b1-- delimiter: Dovecot counts 13.
  assert.equal(rfc822.lines, 13);
});

test('message/rfc822 with a single-part inner message: [n.1] is the inner body', () => {
  const msg = crlf('Content-Type: message/rfc822\n\nSubject: inner\n\ninner body\n');
  const root = parseMimeTree(msg);
  assert.equal(findPart(root, [1]), root);
  assert.equal(body(msg, findPart(root, [1, 1])), 'inner body\r\n');
  assert.equal(findPart(root, [1, 1]), root.message);
  assert.equal(findPart(root, [1, 2]), null);
});

test('non-ASCII filenames: RFC 2231 (with continuations) and RFC 2047 in name=', () => {
  const msg = crlf(`Content-Type: multipart/mixed; boundary=x

--x
Content-Type: application/octet-stream;
 name*0*=iso-8859-1'fr'%E9t%E9;
 name*1*=%20caf%E9;
 name*2=".txt"
Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20report.pdf

data
--x
Content-Type: application/octet-stream; name="=?UTF-8?B?0J/RgNC40LLQtdGC?=.doc"
Content-Disposition: attachment; filename="=?iso-8859-1?Q?r=E9sum=E9?=.doc"

data
--x--
`);
  const root = parseMimeTree(msg);
  const [a, b] = root.children;
  assert.equal(a!.contentType.params['name'], 'été café.txt');
  assert.deepEqual(a!.contentType.wireParams, [['name*', "iso-8859-1'fr'%E9t%E9%20caf%E9.txt"]]);
  assert.equal(a!.disposition!.params['filename'], '€ report.pdf');
  assert.equal(b!.contentType.params['name'], 'Привет.doc');
  assert.equal(b!.disposition!.params['filename'], 'résumé.doc');
  // Raw form for BODYSTRUCTURE keeps the encoded word.
  assert.deepEqual(b!.disposition!.wireParams, [['filename', '=?iso-8859-1?Q?r=E9sum=E9?=.doc']]);
});

test('multipart/digest: parts without Content-Type default to message/rfc822 (RFC 2046 §5.1.5)', () => {
  const msg = crlf(`Content-Type: multipart/digest; boundary=d

--d

Subject: first

one
--d
Content-Type: text/plain

not a message
--d--
`);
  const root = parseMimeTree(msg);
  const first = findPart(root, [1])!;
  assert.deepEqual([first.contentType.type, first.contentType.subtype], ['message', 'rfc822']);
  assert.equal(body(msg, findPart(root, [1, 1])), 'one');
  assert.equal(findPart(root, [2])!.contentType.subtype, 'plain');
});

test('missing final boundary: the last part runs to the end of the message', () => {
  const msg = crlf('Content-Type: multipart/mixed; boundary=z\n\n--z\n\nfirst\n--z\n\nsecond, truncated\n');
  const root = parseMimeTree(msg);
  assert.equal(root.children.length, 2);
  assert.equal(body(msg, root.children[0]!), 'first');
  assert.equal(body(msg, root.children[1]!), 'second, truncated\r\n');
});

test('bare-LF message: LF line ends accepted everywhere, the LF before a delimiter belongs to it', () => {
  const msg = Buffer.from('Subject: lf\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nbody one\n\n--q\n\nbody two\n--q--\n');
  const root = parseMimeTree(msg);
  assert.equal(root.headerEnd, 'Subject: lf\nContent-Type: multipart/mixed; boundary=q\n\n'.length);
  assert.equal(body(msg, root.children[0]!), 'body one\n');
  assert.equal(body(msg, root.children[1]!), 'body two');
  assert.equal(root.children[0]!.lines, 1);
});

test('transport padding after delimiters, preamble and epilogue ignored, prefix-sharing nested boundaries', () => {
  const msg = crlf('Content-Type: multipart/mixed; boundary=ab\n\npreamble\n--ab  \t\nContent-Type: multipart/mixed; boundary=ab-inner\n\n--ab-inner\n\ninner\n--ab-inner--\n--ab-- \nepilogue\n--ab\n\nnot a part\n');
  const root = parseMimeTree(msg);
  assert.equal(root.children.length, 1);
  assert.equal(body(msg, findPart(root, [1, 1])), 'inner');
});

test('a part without a header: empty MIME header, default text/plain', () => {
  const msg = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n\nno header\n--b--\n');
  const part = parseMimeTree(msg).children[0]!;
  assert.equal(mime(msg, part), '\r\n');
  assert.equal(part.contentType.type, 'text');
  assert.equal(body(msg, part), 'no header');
});

test('a message with no empty line is all header', () => {
  const msg = Buffer.from('Subject: only\r\nFrom: a@b\r\n');
  const root = parseMimeTree(msg);
  assert.equal(root.headerEnd, msg.length);
  assert.equal(root.bodyStart, root.bodyEnd);
  assert.equal(root.headers.length, 2);
});

test('invalid Content-Type and multipart without boundary fall back to text/plain (RFC 2045 §5.2)', () => {
  for (const ct of ['garbage', 'text/', '/plain', 'multipart/mixed', 'te xt/pl@in']) {
    const root = parseMimeTree(Buffer.from(`Content-Type: ${ct}\r\n\r\nx`));
    assert.deepEqual([root.contentType.type, root.contentType.subtype], ['text', 'plain'], ct);
  }
  const root = parseMimeTree(Buffer.from('Content-Type: TEXT/HTML (comment); CHARSET="ISO-8859-1" (c)\r\nContent-Transfer-Encoding: Base64 (x)\r\n\r\nx'));
  assert.deepEqual([root.contentType.type, root.contentType.subtype, root.contentType.params['charset'], root.encoding], ['text', 'html', 'ISO-8859-1', 'base64']);
});

/** CPU time of this process in ms: unlike the wall clock, not stretched by other processes on a loaded machine. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = cpuMs();
  const value = fn();
  return { value, ms: cpuMs() - t0 };
}

test('10,000 nested multiparts: depth bounded by maxDepth, parsing stays fast', () => {
  const n = 10_000;
  const heads: string[] = [];
  const tails: string[] = [];
  for (let i = 0; i < n; i++) {
    heads.push(`Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`);
    tails.push(`\r\n--b${i}--\r\n`);
  }
  const msg = Buffer.from(heads.join('') + 'Content-Type: text/plain\r\n\r\nleaf' + tails.reverse().join(''));
  const { value: root, ms } = timed(() => parseMimeTree(msg));
  let depth = 0;
  let p = root;
  while (p.children.length > 0) { p = p.children[0]!; depth++; }
  assert.equal(depth, 32);
  assert.equal(p.truncated, true);
  assert.ok(ms < 2000, `took ${ms} ms`);
});

test('10,000 nested message/rfc822 parts: encapsulation stops at maxDepth', () => {
  const msg = Buffer.from('Content-Type: message/rfc822\r\n\r\n'.repeat(10_000) + 'Subject: deepest\r\n\r\nleaf\r\n');
  const { value: root, ms } = timed(() => parseMimeTree(msg));
  let depth = 0;
  let p = root;
  while (p.message !== undefined) { p = p.message; depth++; }
  assert.equal(depth, 32);
  assert.ok(ms < 2000, `took ${ms} ms`);
});

test('10,000 parts: all parsed within the default limit, a lower limit stops adding parts', () => {
  const parts = Array.from({ length: 10_000 }, (_, i) => `--p\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
  const msg = Buffer.from('Content-Type: multipart/mixed; boundary=p\r\n\r\n' + parts + '--p--\r\n');
  const { value: root, ms } = timed(() => parseMimeTree(msg));
  assert.equal(root.children.length, 10_000);
  assert.equal(body(msg, findPart(root, [10_000])), 'part 9999');
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.equal(parseMimeTree(msg, { maxParts: 100 }).children.length, 100);
});

test('a 5 MB header line parses fast', () => {
  const msg = Buffer.from('Subject: ' + 'a'.repeat(5 * 1024 * 1024) + '\r\nContent-Type: text/plain; name="' + '=?'.repeat(1000) + '"\r\n\r\nbody\r\n');
  const { value: root, ms } = timed(() => parseMimeTree(msg));
  assert.equal(body(msg, root), 'body\r\n');
  assert.ok(ms < 2000, `took ${ms} ms`);
  const hostile = Buffer.from('Content-Type: multipart/mixed; boundary=x; ' + 'a=b;'.repeat(500_000) + '\r\n\r\n' + '--x'.repeat(500_000));
  assert.ok(timed(() => parseMimeTree(hostile)).ms < 2000);
  const comments = Buffer.from('Content-Type: text/plain; ' + '('.repeat(2_000_000) + '\r\n\r\nx');
  assert.ok(timed(() => parseMimeTree(comments)).ms < 2000);
});

// Property: for random trees, parse(serialize(tree)) gives back every leaf body byte for byte.
type Tree = { kind: 'leaf'; body: string } | { kind: 'multipart'; children: Tree[] } | { kind: 'message'; inner: Tree };

const treeArb = (eol: string): fc.Arbitrary<Tree> => {
  const alphabet = eol === '\r\n' ? ['a', 'b', '-', ' ', '\r\n', '\n', '\r', '=', '--', 'Z'] : ['a', 'b', '-', ' ', '\n', '=', '--', 'Z'];
  const leaf = fc.array(fc.constantFrom(...alphabet), { maxLength: 20 }).map((a): Tree => ({ kind: 'leaf', body: a.join('') }));
  const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('tree'), { minLength: 1, maxLength: 4 }).map((children): Tree => ({ kind: 'multipart', children })),
      tie('tree').map((inner): Tree => ({ kind: 'message', inner })),
    ),
  }));
  return tree;
};

function serialize(tree: Tree, eol: string, counter: { n: number }): string {
  if (tree.kind === 'leaf') return `Content-Type: text/plain${eol}${eol}${tree.body}`;
  if (tree.kind === 'message') return `Content-Type: message/rfc822${eol}${eol}${serialize(tree.inner, eol, counter)}`;
  const boundary = `_=b${counter.n++}=_`;
  let out = `Content-Type: multipart/mixed; boundary="${boundary}"${eol}${eol}preamble${eol}`;
  for (const child of tree.children) out += `--${boundary}${eol}${serialize(child, eol, counter)}${eol}`;
  return out + `--${boundary}--${eol}epilogue`;
}

function checkLeaves(tree: Tree, part: MimePart, msg: Buffer): void {
  if (tree.kind === 'leaf') {
    assert.equal(msg.subarray(part.bodyStart, part.bodyEnd).toString('latin1'), tree.body);
  } else if (tree.kind === 'message') {
    assert.ok(part.message);
    checkLeaves(tree.inner, part.message, msg);
  } else {
    assert.equal(part.children.length, tree.children.length);
    tree.children.forEach((c, i) => checkLeaves(c, part.children[i]!, msg));
  }
}

for (const eol of ['\r\n', '\n']) {
  test(`property: every leaf body survives parse(serialize(tree)) (${JSON.stringify(eol)} line ends)`, () => {
    fc.assert(fc.property(treeArb(eol), (tree) => {
      const msg = Buffer.from(serialize(tree, eol, { n: 0 }), 'latin1');
      checkLeaves(tree, parseMimeTree(msg), msg);
    }), { numRuns: 300 });
  });
}

test('a part with 200,000 RFC 2231 parameters keeps the first 128 and parses quickly', () => {
  const params: string[] = [];
  for (let i = 0; i < 200_000; i++) params.push(` p${i}*=utf-8''%41${i}`);
  const msg = crlf('From: a@b\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n');
  const full = Buffer.concat([msg, Buffer.from('Content-Type: text/plain;' + params.join(';\r\n') + '\r\n\r\nhello\r\n--XX--\r\n')]);
  const started = cpuMs();
  const root = parseMimeTree(full);
  const ms = cpuMs() - started;
  const part = findPart(root, [1])!;
  assert.equal(part.contentType.wireParams.length, 128);
  assert.equal(part.contentType.params['p0'], 'A0');
  // Generous for a loaded machine: without the cap this took 10 s.
  assert.ok(ms < 5000, `parsed in ${ms} ms`);
});
