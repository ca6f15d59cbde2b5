/**
 * The POP3 engine fed arbitrary bytes in arbitrary chunks: never throws, every response is a status
 * line (+OK / -ERR / "+ " continuation) or a dot-terminated, dot-stuffed multi-line block, output
 * has only CRLF line ends, and no maildrop lock outlives the connection.
 */
import assert from 'node:assert/strict';
import type { EngineContext, EngineOutput } from '../../../src/protocols/engine.ts';
import type { Maildrop, OpenMaildropResult, Pop3Backend } from '../../../src/protocols/pop3/backend.ts';
import { Pop3Session } from '../../../src/protocols/pop3/session.ts';
import type { AuthIdentity, SaslAuthenticator, SaslExchange, SaslStep } from '../../../src/protocols/sasl/types.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { splitChunks } from '../engine/random.ts';

const PASSWORD = 'secret pass';
const USER = 'alice@example.org';
// No message line starts with "+" or "-", so a data line can never be mistaken for a status line.
const MESSAGES = ['Subject: one\r\n\r\nbody one\r\n.leading dot\r\n', 'Subject: two\r\n\r\n..two dots\r\nno final newline', ''];

class MemoryPop3 implements Pop3Backend, SaslAuthenticator {
  locks = 0;
  readonly identity: AuthIdentity = { accountId: 1, address: USER };
  private messages = new Map(MESSAGES.map((text, i) => [i + 1, text]));

  async openMaildrop(): Promise<OpenMaildropResult> {
    if (this.locks > 0) return { ok: false, reason: 'in-use' };
    this.locks++;
    let released = false;
    const messages = this.messages;
    const maildrop: Maildrop = {
      messages: [...messages].map(([uid, text]) => ({ uid, size: Buffer.byteLength(text) })),
      uidValidity: 42,
      async *stream(uid) {
        const text = messages.get(uid);
        if (text === undefined) throw new Error('gone');
        for (let i = 0; i < text.length; i += 7) yield Buffer.from(text.slice(i, i + 7));
      },
      async read(uid) {
        return Buffer.from(messages.get(uid) ?? '');
      },
      async expunge(uids) {
        for (const uid of uids) messages.delete(uid);
      },
      release: () => {
        if (!released) this.locks--;
        released = true;
      },
    };
    return { ok: true, maildrop };
  }

  mechanisms(): string[] {
    return ['PLAIN'];
  }

  start(mechanism: string): SaslExchange | null {
    if (mechanism.toUpperCase() !== 'PLAIN') return null;
    return {
      step: async (response) => {
        if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
        const parts = response.toString().split('\0');
        return parts.length === 3 ? this.check(parts[1]!, parts[2]!) : { kind: 'failure', reason: 'malformed' };
      },
    };
  }

  private check(user: string, password: string): SaslStep {
    return user === USER && password === PASSWORD ? { kind: 'success', identity: this.identity } : { kind: 'failure', reason: 'invalid-credentials' };
  }

  async checkPassword(user: string, password: string): Promise<SaslStep> {
    return this.check(user, password);
  }
}

async function render(output: EngineOutput): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const part of output.data) {
    if (typeof part === 'string') parts.push(Buffer.from(part, 'utf8'));
    else if (Buffer.isBuffer(part)) parts.push(part);
    else for await (const piece of part) parts.push(piece);
  }
  return Buffer.concat(parts);
}

/** Checks the whole server output of a session: status lines and well-formed multi-line blocks. */
export function checkPop3Output(output: Buffer): void {
  const text = output.toString('latin1');
  assert.ok(text === '' || text.endsWith('\r\n'), 'output ends in the middle of a line');
  assert.ok(!/[^\r]\n|^\n|\r(?!\n)/.test(text), 'output has a bare CR or LF');
  const lines = text.split('\r\n').slice(0, -1);
  const isStatus = (line: string) => /^(\+OK|-ERR)( |$)/.test(line) || /^\+ /.test(line) || line === '+';
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    assert.ok(isStatus(line), `line ${i} is neither a status line nor inside a multi-line block: ${JSON.stringify(line.slice(0, 80))}`);
    i++;
    if (!line.startsWith('+OK') || i >= lines.length || isStatus(lines[i]!)) continue;
    // RFC 1939 §3: a multi-line block ends with "." alone; other lines starting with "." are stuffed.
    while (i < lines.length && lines[i] !== '.') {
      assert.ok(!lines[i]!.startsWith('.') || lines[i]!.startsWith('..'), `unstuffed data line ${JSON.stringify(lines[i])}`);
      i++;
    }
    assert.ok(i < lines.length, 'multi-line block without its terminating "."');
    i++;
  }
}

export async function runPop3(chunks: Buffer[]): Promise<void> {
  const backend = new MemoryPop3();
  const context: EngineContext = { sessionId: 'fuzz', remoteAddress: '192.0.2.1', tls: null, push: () => undefined };
  const session = new Pop3Session({ context, hostname: 'pop.example.org', backend, sasl: backend, starttlsAvailable: true, allowPlaintextAuth: true, limits: { lineBytes: 200, maxErrors: 50 } });
  const out: Buffer[] = [await render(await session.start())];
  for (const chunk of chunks) {
    const output = await session.receive(chunk);
    out.push(await render(output));
    if (output.then === 'close') break;
    if (output.then === 'starttls') session.tlsStarted({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' });
  }
  session.closed();
  checkPop3Output(Buffer.concat(out));
  assert.equal(backend.locks, 0, 'a maildrop lock survived the connection');
}

export const pop3Target: FuzzTarget = {
  name: 'pop3',
  maxLength: 2048,
  dictionary: ['\r\n', '\n', '\r', ' ', 'USER alice@example.org\r\n', `PASS ${PASSWORD}\r\n`, 'STAT\r\n', 'LIST', 'UIDL', 'RETR ', 'TOP ', 'DELE ', 'RSET\r\n', 'NOOP\r\n', 'QUIT\r\n', 'CAPA\r\n', 'STLS\r\n', 'AUTH PLAIN\r\n', 'AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldCBwYXNz\r\n', '*\r\n', '=\r\n', '1', '2', '3', '0', '-1', '4294967296', ' 1 0'],
  seeds: [
    'USER alice@example.org\r\nPASS secret pass\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 0\r\nDELE 1\r\nRSET\r\nQUIT\r\n',
    'CAPA\r\nAUTH PLAIN\r\nAGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldCBwYXNz\r\nLIST 2\r\nRETR 3\r\nDELE 2\r\nQUIT\r\n',
    'STLS\r\nUSER x\r\n',
  ],
  run(data) {
    return runPop3(splitChunks(data, 6));
  },
};
