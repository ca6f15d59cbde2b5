/**
 * The SMTP server engine (src/protocols/smtp/server-session.ts): (a) arbitrary command bytes never throw
 * and every output line is a reply line; (b) the DATA reader, differentially against a strict reference
 * splitter: the message ends exactly at the first CRLF.CRLF, is refused (5xx) iff a bare CR or LF came
 * before it, and an accepted message is delivered byte for byte as the reference unstuffs it.
 */
import assert from 'node:assert/strict';
import type { EngineContext, EngineOutput } from '../../../src/protocols/engine.ts';
import type { MessageSink, SmtpServerHooks } from '../../../src/protocols/smtp/hooks.ts';
import { SmtpServerSession } from '../../../src/protocols/smtp/server-session.ts';
import type { SmtpServerLimits } from '../../../src/protocols/smtp/session-state.ts';
import type { SaslAuthenticator } from '../../../src/protocols/sasl/types.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { splitChunks } from '../engine/random.ts';

export interface SinkRecord {
  chunks: Buffer[];
  state: 'open' | 'committed' | 'aborted';
}

const sasl: SaslAuthenticator = {
  mechanisms: () => ['PLAIN'],
  start: (mechanism) =>
    mechanism.toUpperCase() === 'PLAIN'
      ? {
          step: async (response) => {
            if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
            const [, user, pass] = response.toString().split('\0');
            return user === 'alice@example.org' && pass === 'secret' ? { kind: 'success', identity: { accountId: 1, address: user } } : { kind: 'failure', reason: 'invalid-credentials' };
          },
        }
      : null,
  checkPassword: async () => ({ kind: 'failure', reason: 'invalid-credentials' }),
};

/** An SMTP engine with an in-memory sink that records every message it was given. */
export function newSmtpSession(options: { limits?: Partial<SmtpServerLimits> } = {}): { session: SmtpServerSession; sinks: SinkRecord[] } {
  const sinks: SinkRecord[] = [];
  let id = 0;
  const hooks: SmtpServerHooks = {
    checkMailFrom: async () => ({ ok: true }),
    checkRcptTo: async (_info, forwardPath) => (forwardPath.localPart === 'nobody' ? { ok: false, code: 550, enhancedCode: '5.1.1', text: 'No such user' } : { ok: true }),
    beginMessage: async () => {
      const record: SinkRecord = { chunks: [], state: 'open' };
      sinks.push(record);
      const sink: MessageSink = {
        write: (chunk) => {
          assert.equal(record.state, 'open', 'write after commit/abort');
          record.chunks.push(Buffer.from(chunk));
        },
        commit: async () => {
          record.state = 'committed';
          return { ok: true };
        },
        abort: () => {
          record.state = 'aborted';
        },
      };
      return sink;
    },
    sasl,
  };
  const context: EngineContext = { sessionId: 'fuzz', remoteAddress: '192.0.2.1', tls: null, push: () => undefined };
  const session = new SmtpServerSession({ context, hostname: 'mx.example.org', role: 'mx', hooks, limits: options.limits, starttlsAvailable: true, newTransactionId: () => `tx${++id}` });
  return { session, sinks };
}

function text(output: EngineOutput): string {
  return output.data.map((p) => (typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('latin1') : '')).join('');
}

export function assertReplyLines(out: string): void {
  assert.ok(out === '' || out.endsWith('\r\n'), `output ends mid-line: ${JSON.stringify(out.slice(-40))}`);
  for (const line of out.split('\r\n').slice(0, -1)) assert.match(line, /^\d{3}[ -]/, `not a reply line: ${JSON.stringify(line.slice(0, 80))}`);
  assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(out), 'bare CR or LF in the output');
}

/** (a): any bytes, any chunking. */
export async function runSmtpCommands(chunks: Buffer[]): Promise<string> {
  const { session, sinks } = newSmtpSession({ limits: { maxErrors: 50, commandLineBytes: 512 } });
  let out = text(await session.start());
  for (const chunk of chunks) {
    const output = await session.receive(chunk);
    out += text(output);
    if (output.then === 'close') break;
    if (output.then === 'starttls') session.tlsStarted({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' });
  }
  session.closed();
  assertReplyLines(out);
  for (const sink of sinks) assert.notEqual(sink.state, 'open', 'a message sink left open after the connection closed');
  return out;
}

/** What the strict reference says about the bytes following the DATA command's CRLF. */
export interface ReferenceResult {
  /** Offset in `bytes` just after the terminating CRLF.CRLF (where the next command starts), or -1. */
  end: number;
  bareLineEnding: boolean;
  /** The unstuffed message (its last CRLF included), meaningful when there is no bare line ending. */
  body: Buffer;
}

/**
 * RFC 5321 §4.1.1.4: the data ends with the line "." preceded and followed by CRLF; the DATA command's
 * own CRLF counts as the first. RFC 5321 §2.3.8: CR and LF only ever occur together as CRLF.
 * RFC 5321 §4.5.2: a leading "." of a line is removed. Written as plainly as possible, from the strings.
 */
export function referenceSplit(bytes: Buffer): ReferenceResult {
  const s = '\r\n' + bytes.toString('latin1');
  const at = s.indexOf('\r\n.\r\n');
  if (at < 0) return { end: -1, bareLineEnding: false, body: Buffer.alloc(0) };
  const content = s.slice(2, at + 2);
  const bareLineEnding = /\r(?!\n)|(?<!\r)\n/.test(content);
  const lines = content.split('\r\n').slice(0, -1);
  const body = lines.map((l) => (l.startsWith('.') ? l.slice(1) : l) + '\r\n').join('');
  return { end: at + 5 - 2, bareLineEnding, body: Buffer.from(body, 'latin1') };
}

export const DATA_FRAGMENTS = ['\r\n', '\n', '\r', '.', '\r\n.\r\n', '\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '..', 'text', 'Subject: x', 'MAIL FROM:<evil@example.net>', 'RCPT TO:<victim@example.org>', 'DATA', ' ', '.\r\n', '\u00e9'];

/** (b): DATA with `body` (+ a terminator and a NOOP, so the end always comes), cut at `cuts` chunk sizes. */
export async function runDataDifferential(body: Buffer, chunkOf: (all: Buffer) => Buffer[]): Promise<void> {
  const { session, sinks } = newSmtpSession({ limits: { textLineBytes: 1_000_000, maxErrors: 1000 } });
  await session.start();
  const setup = text(await session.receive(Buffer.from('EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n')));
  assert.match(setup, /354 [^\r\n]*\r\n$/, 'DATA was not accepted');
  const stream = Buffer.concat([body, Buffer.from('\r\n.\r\nNOOP\r\n')]);
  const ref = referenceSplit(stream);
  assert.ok(ref.end >= 0);
  let out = '';
  for (const chunk of chunkOf(stream)) out += text(await session.receive(chunk));
  session.closed();
  assertReplyLines(out);
  const first = /^(\d{3})[ -][^\r\n]*\r\n/.exec(out);
  assert.ok(first !== null, 'no reply to end of data');
  const sink = sinks[0]!;
  if (ref.bareLineEnding) {
    assert.match(first[1]!, /^5/, `a message with a bare CR/LF was answered ${first[0].trim()}`);
    assert.equal(sink.state, 'aborted');
  } else {
    assert.equal(first[1], '250', `a clean message was answered ${first[0].trim()}`);
    assert.equal(sink.state, 'committed');
    const delivered = Buffer.concat(sink.chunks);
    assert.ok(delivered.equals(ref.body), `delivered ${JSON.stringify(delivered.toString('latin1').slice(0, 200))}\nexpected ${JSON.stringify(ref.body.toString('latin1').slice(0, 200))}`);
  }
  // What follows the terminator is read as commands: the NOOP we appended is answered last.
  assert.match(out, /250 [^\r\n]*\r\n$/, 'the command after the message was not answered');
}

export function fragmentsFromBytes(data: Buffer): Buffer {
  return Buffer.from([...data].map((b) => DATA_FRAGMENTS[b % DATA_FRAGMENTS.length]).join(''), 'latin1');
}

export const smtpSessionTarget: FuzzTarget = {
  name: 'smtp-session',
  maxLength: 2048,
  dictionary: ['\r\n', '\n', '\r', ' ', ':', '<', '>', '@', 'EHLO client.example\r\n', 'HELO x\r\n', 'MAIL FROM:<a@example.org>', 'MAIL FROM:<>', ' SIZE=100', ' BODY=8BITMIME', ' SMTPUTF8', ' RET=HDRS ENVID=x', 'RCPT TO:<b@example.org>', 'RCPT TO:<nobody@example.org>', ' NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@c', 'DATA\r\n', '\r\n.\r\n', '\n.\n', 'BDAT 5\r\n', 'BDAT 0 LAST\r\n', 'BDAT 3 LAST\r\nabc', 'RSET\r\n', 'NOOP\r\n', 'QUIT\r\n', 'VRFY x\r\n', 'HELP\r\n', 'STARTTLS\r\n', 'AUTH PLAIN\r\n', 'AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n', '*\r\n', '<@a,@b:c@d>', '"q u"@example.org', '[192.0.2.1]', '\u00e9'],
  seeds: [
    '\u0000EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=10\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n',
    '\u0000EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\nBDAT 5\r\nhelloBDAT 0 LAST\r\nRSET\r\nAUTH PLAIN\r\nAGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n',
    '\u0001\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b',
  ],
  run(data) {
    // First byte even: a command stream. Odd: the DATA differential, each byte choosing a fragment.
    if (data.length === 0 || data[0]! % 2 === 0) return runSmtpCommands(splitChunks(data.subarray(1), 8)).then(() => undefined);
    return runDataDifferential(fragmentsFromBytes(data.subarray(1, 200)), (all) => splitChunks(all, 10));
  },
};

export async function loadSmtpSessionTarget(): Promise<FuzzTarget> {
  return smtpSessionTarget;
}
