import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandFramer, type FrameEvent, type LiteralAnnouncement } from './framer.ts';
import { tokenizeCommand, ImapSyntaxError } from './tokenizer.ts';

function framer(decide: (a: LiteralAnnouncement) => ReturnType<ConstructorParameters<typeof CommandFramer>[1]> = () => ({ action: 'buffer' }), maxLineBytes = 1024) {
  return new CommandFramer({ maxLineBytes, literalMinus: false }, decide);
}

function drain(f: CommandFramer): FrameEvent[] {
  const out: FrameEvent[] = [];
  for (let e = f.next(); e !== null; e = f.next()) out.push(e);
  return out;
}

describe('IMAP command framer', () => {
  it('frames a simple command line split across chunks', () => {
    const f = framer();
    f.feed(Buffer.from('a1 NO'));
    assert.deepEqual(drain(f), []);
    f.feed(Buffer.from('OP\r\na2 CAPABILITY\r\n'));
    const ev = drain(f);
    assert.equal(ev.length, 2);
    assert.deepEqual(ev.map((e) => e.kind === 'command' && e.frame.texts[0]), ['a1 NOOP', 'a2 CAPABILITY']);
  });

  it('asks before a synchronizing literal and emits a continuation, then the command', () => {
    const seen: LiteralAnnouncement[] = [];
    const f = framer((a) => (seen.push(a), { action: 'buffer' }));
    f.feed(Buffer.from('a LOGIN {5}\r\n'));
    assert.deepEqual(drain(f), [{ kind: 'continue' }]);
    assert.equal(seen[0]!.size, 5);
    assert.equal(seen[0]!.sync, true);
    f.feed(Buffer.from('alice "pw"\r\n'));
    const [ev] = drain(f);
    assert.equal(ev!.kind, 'command');
    const cmd = tokenizeCommand((ev as Extract<FrameEvent, { kind: 'command' }>).frame, { maxDepth: 8 });
    assert.deepEqual(cmd.args.map((t) => (t.type === 'string' ? t.value : '?')), ['alice', 'pw']);
  });

  it('accepts LITERAL+ without a continuation', () => {
    const f = framer();
    f.feed(Buffer.from('a LOGIN {5+}\r\nalice {2+}\r\npw\r\n'));
    const ev = drain(f);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.kind, 'command');
  });

  it('refuses a too-big synchronizing literal before reading it, and the next command still works', () => {
    const f = framer(() => ({ action: 'reject', response: 'a NO [TOOBIG] too big' }));
    f.feed(Buffer.from('a APPEND INBOX {999999999}\r\n'));
    assert.deepEqual(drain(f), [{ kind: 'response', text: 'a NO [TOOBIG] too big' }]);
    const g = framer();
    g.feed(Buffer.from('b NOOP\r\n'));
    assert.equal(drain(g)[0]!.kind, 'command');
  });

  it('reads and discards a refused non-synchronizing literal, then answers', () => {
    let n = 0;
    const f = framer(() => (n++ === 0 ? { action: 'reject', response: 'a NO [TOOBIG] no' } : { action: 'buffer' }));
    f.feed(Buffer.from('a APPEND INBOX {10+}\r\n0123456789\r\nb NOOP\r\n'));
    const ev = drain(f);
    assert.deepEqual(ev[0], { kind: 'response', text: 'a NO [TOOBIG] no' });
    assert.equal(ev[1]!.kind, 'command');
  });

  it('streams a literal to a sink without keeping it', () => {
    const got: Buffer[] = [];
    const f = framer(() => ({ action: 'stream', sink: { write: (c) => got.push(c) } }));
    f.feed(Buffer.from('a APPEND INBOX {6}\r\n'));
    assert.deepEqual(drain(f), [{ kind: 'continue' }]);
    f.feed(Buffer.from('Hel'));
    f.feed(Buffer.from('lo!\r\n'));
    const [ev] = drain(f);
    assert.equal(Buffer.concat(got).toString(), 'Hello!');
    assert.ok(ev!.kind === 'command' && !Buffer.isBuffer(ev.frame.literals[0]));
  });

  it('answers BAD for an overlong line and keeps going', () => {
    const f = framer(undefined, 32);
    f.feed(Buffer.from('x1 ' + 'A'.repeat(100)));
    assert.deepEqual(drain(f), []);
    f.feed(Buffer.from('AAAA\r\nx2 NOOP\r\n'));
    const ev = drain(f);
    assert.equal(ev[0]!.kind, 'response');
    assert.match((ev[0] as { text: string }).text, /^x1 BAD/);
    assert.equal(ev[1]!.kind, 'command');
  });
});

describe('IMAP tokenizer', () => {
  const tok = (line: string, maxDepth = 8) => tokenizeCommand({ texts: [line], literals: [] }, { maxDepth });

  it('parses quoted strings with escapes, lists and UID commands', () => {
    const c = tok('t1 UID fetch 1:* (FLAGS "a\\"b\\\\c")');
    assert.equal(c.verb, 'UID FETCH');
    assert.deepEqual(c.args[1], { type: 'list', items: [{ type: 'atom', value: 'FLAGS' }, { type: 'string', value: 'a"b\\c' }] });
  });

  it('parses section specs with header lists and partials', () => {
    const c = tok('t FETCH 1 (BODY.PEEK[1.2.HEADER.FIELDS (Subject From)]<0.100> BODY[])');
    const list = c.args[1]!;
    assert.equal(list.type, 'list');
    const [a, b] = (list as { items: any[] }).items;
    assert.equal(a.value, 'BODY.PEEK');
    assert.equal(a.section[0].value, '1.2.HEADER.FIELDS');
    assert.deepEqual(a.section[1].items.map((t: { value: string }) => t.value), ['Subject', 'From']);
    assert.deepEqual(a.partial, { offset: 0, length: 100 });
    assert.deepEqual(b.section, []);
  });

  it('reads [ as an ordinary atom character outside FETCH sections', () => {
    assert.deepEqual(tok('t SELECT [Gmail]/Sent').args, [{ type: 'atom', value: '[Gmail]/Sent' }]);
  });

  it('rejects malformed input with a syntax error', () => {
    assert.throws(() => tok('t LOGIN "unterminated'), ImapSyntaxError);
    assert.throws(() => tok('t FETCH 1 (FLAGS'), ImapSyntaxError);
    assert.throws(() => tok('+ NOOP'), ImapSyntaxError);
    assert.throws(() => tok('t LOGIN "bad\\escape"'), ImapSyntaxError);
    assert.throws(() => tok('t X ' + '('.repeat(10) + ')'.repeat(10), 8), /nested/);
  });
});
