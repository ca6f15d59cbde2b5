/**
 * The SMTP client's reply parser (RFC 5321 §4.2): arbitrary bytes in arbitrary chunks never throw,
 * replies are bounded, and the result does not depend on how the bytes were chunked.
 */
import assert from 'node:assert/strict';
import { ReplyParser, formatReply, parseReplyText, type SmtpReply } from '../../../src/protocols/smtp/client-reply.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { splitChunks } from '../engine/random.ts';

const LIMITS = { maxLineBytes: 256, maxLines: 16 };

/** Feeds chunks until the first local code-0 reply (after which the client drops the connection). */
export function parseReplies(chunks: Buffer[]): SmtpReply[] {
  const parser = new ReplyParser(LIMITS);
  const out: SmtpReply[] = [];
  for (const chunk of chunks) {
    for (const reply of parser.feed(chunk)) {
      out.push(reply);
      if (reply.code === 0) return out;
    }
  }
  return out;
}

export function checkReplyStream(data: Buffer, chunks: Buffer[]): void {
  const whole = parseReplies([data]);
  const split = parseReplies(chunks);
  for (const reply of split) {
    if (reply.code === 0) {
      assert.equal(reply.local, true, 'a code-0 reply is always local');
      continue;
    }
    assert.ok(reply.code >= 200 && reply.code <= 559, `code ${reply.code}`);
    assert.ok(reply.lines.length >= 1 && reply.lines.length <= LIMITS.maxLines, `${reply.lines.length} lines`);
    for (const line of reply.lines) assert.ok(!/[\r\n]/.test(line), 'a reply line contains CR or LF');
    assert.ok(reply.enhancedCode === null || reply.enhancedCode[0] === String(reply.code)[0], `enhanced ${reply.enhancedCode} vs ${reply.code}`);
    const back = parseReplyText(formatReply(reply));
    assert.ok(back !== null, `formatReply output does not parse back: ${formatReply(reply)}`);
    assert.equal(back.code, reply.code);
  }
  // Chunking must not change the complete replies before the first failure.
  const good = (list: SmtpReply[]) => list.filter((r) => r.code !== 0).map((r) => [r.code, r.enhancedCode, r.lines]);
  const failedAt = (list: SmtpReply[]) => list.findIndex((r) => r.code === 0);
  const wholeFail = failedAt(whole);
  const splitFail = failedAt(split);
  if (wholeFail < 0 && splitFail < 0) assert.deepEqual(good(split), good(whole), 'chunking changed the replies');
  else if (wholeFail >= 0 && splitFail >= 0) assert.deepEqual(good(split).slice(0, splitFail), good(whole).slice(0, splitFail));
  else {
    // An overlong partial line is detected at a chunk end; fed whole, only once its LF arrives (or at the end).
    const failing = wholeFail >= 0 ? whole : split;
    assert.match(failing.at(-1)!.lines.join(' '), /too long|malformed/);
  }
}

export const smtpReplyTarget: FuzzTarget = {
  name: 'smtp-reply',
  maxLength: 4096,
  dictionary: ['250', '250-', '250 ', '550 5.1.1 ', '451-4.3.0 ', '220 ', '354 ', '\r\n', '\n', '\r', '2.0.0 ', '5.7.1', '999 ', '25', '-', ' '],
  seeds: ['220 mx.example.org ESMTP\r\n', '250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n', '550-5.1.1 no\r\n550 5.1.1 such user\r\n', '451 4.3.0 try later\n'],
  run(data) {
    checkReplyStream(data, splitChunks(data, 8));
  },
};
