/**
 * IMAP command framing and tokenizing (src/protocols/imap/parser/) over arbitrary bytes in arbitrary
 * chunks: only ImapSyntaxError ever escapes, nesting stays within maxDepth, buffers stay within their
 * limits, and a literal announced above the limit is refused before any of its bytes are read.
 */
import assert from 'node:assert/strict';
import { CommandFramer, type FrameEvent, type LiteralAnnouncement, type LiteralDecision } from '../../../src/protocols/imap/parser/framer.ts';
import { ImapSyntaxError, tokenizeCommand, type Token } from '../../../src/protocols/imap/parser/tokenizer.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { splitChunks } from '../engine/random.ts';

export const PARSER_LIMITS = { maxLineBytes: 1024, maxLiteralBytes: 512, maxDepth: 8 };

function depthOf(tokens: Token[]): number {
  let max = 0;
  for (const t of tokens) {
    if (t.type === 'list') max = Math.max(max, 1 + depthOf(t.items));
    else if (t.type === 'atom' && t.section) max = Math.max(max, 1 + depthOf(t.section));
  }
  return max;
}

export interface ParserRun {
  events: FrameEvent[];
  announcements: LiteralAnnouncement[];
  commands: { verb: string; tag: string }[];
  syntaxErrors: number;
}

/** Frames and tokenizes everything; throws (a crash) on any property violation. */
export function runImapParser(chunks: Buffer[]): ParserRun {
  const run: ParserRun = { events: [], announcements: [], commands: [], syntaxErrors: 0 };
  const decide = (a: LiteralAnnouncement): LiteralDecision => {
    run.announcements.push(a);
    if (a.literalBytesSoFar + a.size > PARSER_LIMITS.maxLiteralBytes) return { action: 'reject', response: 'x NO [TOOBIG] too big' };
    return { action: 'buffer' };
  };
  const framer = new CommandFramer({ maxLineBytes: PARSER_LIMITS.maxLineBytes, literalMinus: false }, decide);
  for (const chunk of chunks) {
    framer.feed(chunk);
    for (let event = framer.next(); event !== null; event = framer.next()) {
      run.events.push(event);
      if (event.kind !== 'command') continue;
      const { frame } = event;
      assert.equal(frame.texts.length, frame.literals.length + 1, 'one more text than literals');
      const literalBytes = frame.literals.reduce((n, l) => n + (Buffer.isBuffer(l) ? l.length : 0), 0);
      assert.ok(literalBytes <= PARSER_LIMITS.maxLiteralBytes, `${literalBytes} literal octets buffered, limit ${PARSER_LIMITS.maxLiteralBytes}`);
      // Each received octet decodes to at most one UTF-16 unit (invalid UTF-8 becomes one U+FFFD).
      const textUnits = frame.texts.reduce((n, t) => n + t.length, 0);
      assert.ok(textUnits <= PARSER_LIMITS.maxLineBytes, `${textUnits} text characters, limit ${PARSER_LIMITS.maxLineBytes} octets`);
      try {
        const cmd = tokenizeCommand(frame, { maxDepth: PARSER_LIMITS.maxDepth });
        assert.ok(depthOf(cmd.args) <= PARSER_LIMITS.maxDepth, `nesting ${depthOf(cmd.args)} > maxDepth ${PARSER_LIMITS.maxDepth}`);
        assert.ok(cmd.tag.length > 0 && !/[\s(){"\\]/.test(cmd.tag), `bad tag ${JSON.stringify(cmd.tag)}`);
        run.commands.push({ verb: cmd.verb, tag: cmd.tag });
      } catch (error) {
        if (!(error instanceof ImapSyntaxError)) throw error;
        run.syntaxErrors++;
      }
    }
    // Between feeds, only an unfinished command line may be buffered, and never more than the limit.
    assert.ok(framer.bufferedBytes <= PARSER_LIMITS.maxLineBytes, `${framer.bufferedBytes} octets buffered, limit ${PARSER_LIMITS.maxLineBytes}`);
  }
  return run;
}

export const imapParserTarget: FuzzTarget = {
  name: 'imap-parser',
  maxLength: 4096,
  dictionary: ['\r\n', '\n', ' ', '(', ')', '((((', '))))', '"', '\\', '{', '}', '{5}\r\n', '{0}\r\n', '{600}\r\n', '{4096+}\r\n', '{3-}\r\n', '~{2}\r\n', '[', ']', '<0.10>', 'a1 ', 'UID ', 'FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)', 'BODY[1.2.MIME]', 'BINARY[1]', 'APPEND INBOX (\\Seen) {3}\r\nabc', 'SEARCH OR (FROM "a") NOT ', 'LOGIN "a\\"b" {3}\r\nxyz', '*', '%', 'NIL', '\u00e9', '\u0000', '\u007f'],
  seeds: ['a1 LOGIN alice {6}\r\nsecret\r\na2 SELECT INBOX\r\na3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM)]<0.10>)\r\n', 'b APPEND INBOX (\\Seen) {5+}\r\nhello\r\nc NOOP\r\n', 'd STORE 1 +FLAGS ((((x))))\r\n', 'e LOGIN {700}\r\nf NOOP\r\n'],
  run(data) {
    runImapParser(splitChunks(data, 8));
  },
};
