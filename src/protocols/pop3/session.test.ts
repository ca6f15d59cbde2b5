import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineContext, EngineOutput } from '../engine.ts';
import type { AuthIdentity, SaslAuthenticator, SaslContext, SaslExchange, SaslStep } from '../sasl/types.ts';
import type { Maildrop, OpenMaildropResult, Pop3Backend } from './backend.ts';
import { Pop3Session, type Pop3SessionOptions } from './session.ts';

interface FakeAccount {
  identity: AuthIdentity;
  password: string;
  uidValidity: number;
  messages: Map<number, string>;
}

/** An in-memory maildrop store; `chunking` decides how a message is cut into stream chunks. */
class FakeBackend implements Pop3Backend {
  readonly accounts = new Map<string, FakeAccount>();
  readonly locked = new Set<number>();
  readonly expunged: number[][] = [];
  chunking: (message: string) => string[] = (message) => [message];
  private nextId = 1;

  add(address: string, password: string, messages: string[]): FakeAccount {
    const account: FakeAccount = {
      identity: { accountId: this.nextId++, address },
      password,
      uidValidity: 1700000000,
      messages: new Map(messages.map((text, index) => [index * 2 + 5, text])),
    };
    this.accounts.set(address, account);
    return account;
  }

  async openMaildrop(identity: AuthIdentity): Promise<OpenMaildropResult> {
    if (this.locked.has(identity.accountId)) return { ok: false, reason: 'in-use' };
    const account = [...this.accounts.values()].find((a) => a.identity.accountId === identity.accountId);
    if (!account) return { ok: false, reason: 'temporary' };
    this.locked.add(identity.accountId);
    const chunking = this.chunking;
    const expunged = this.expunged;
    const locked = this.locked;
    const maildrop: Maildrop = {
      messages: [...account.messages].map(([uid, text]) => ({ uid, size: Buffer.byteLength(text) })),
      uidValidity: account.uidValidity,
      async *stream(uid) {
        const text = account.messages.get(uid);
        if (text === undefined) throw new Error('no such message');
        for (const piece of chunking(text)) yield Buffer.from(piece);
      },
      async read(uid) {
        return Buffer.from(account.messages.get(uid) ?? '');
      },
      async expunge(uids) {
        expunged.push(uids);
        for (const uid of uids) account.messages.delete(uid);
      },
      release() {
        locked.delete(identity.accountId);
      },
    };
    return { ok: true, maildrop };
  }
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

/** PLAIN (RFC 4616) and a two-step mechanism with server-final data, standing in for SCRAM. */
class FakeAuthenticator implements SaslAuthenticator {
  constructor(private readonly backend: FakeBackend) {}

  mechanisms(_context: SaslContext): string[] {
    return ['PLAIN', 'FAKE-SCRAM'];
  }

  private check(user: string, password: string): SaslStep {
    const account = this.backend.accounts.get(user);
    if (!account || account.password !== password) return { kind: 'failure', reason: 'invalid-credentials' };
    return { kind: 'success', identity: account.identity };
  }

  start(mechanism: string): SaslExchange | null {
    if (mechanism === 'PLAIN') {
      return {
        step: async (response) => {
          if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
          const parts = response.toString().split('\0');
          if (parts.length !== 3) return { kind: 'failure', reason: 'malformed' };
          return this.check(parts[1], parts[2]);
        },
      };
    }
    if (mechanism === 'FAKE-SCRAM') {
      let round = 0;
      return {
        step: async (response) => {
          round++;
          if (round === 1) return { kind: 'challenge', data: Buffer.from('server-first') };
          const [user, password] = (response ?? Buffer.alloc(0)).toString().split(':');
          const result = this.check(user, password);
          return result.kind === 'success' ? { ...result, serverFinal: Buffer.from('v=proof') } : result;
        },
      };
    }
    return null;
  }

  async checkPassword(username: string, password: string): Promise<SaslStep> {
    if (username === 'throttled@example.org') return { kind: 'failure', reason: 'throttled' };
    return this.check(username, password);
  }
}

function fakeContext(tls = false): EngineContext {
  return {
    sessionId: 's1',
    remoteAddress: '192.0.2.1',
    tls: tls ? { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' } : null,
    push: () => undefined,
  };
}

async function render(output: EngineOutput): Promise<string> {
  let text = '';
  for (const part of output.data) {
    if (typeof part === 'string') text += part;
    else if (Buffer.isBuffer(part)) text += part.toString('latin1');
    else for await (const piece of part) text += piece.toString('latin1');
  }
  return text;
}

class Client {
  readonly session: Pop3Session;
  lastThen: EngineOutput['then'];
  constructor(options: Partial<Pop3SessionOptions> & { backend: FakeBackend }) {
    this.session = new Pop3Session({
      context: fakeContext(),
      hostname: 'pop.example.org',
      sasl: new FakeAuthenticator(options.backend),
      starttlsAvailable: true,
      allowPlaintextAuth: true,
      ...options,
    });
  }
  async greet(): Promise<string> {
    return render(await this.session.start());
  }
  /** Sends raw bytes (lines must carry their CRLF) and returns everything written back. */
  async send(raw: string): Promise<string> {
    const output = await this.session.receive(Buffer.from(raw, 'latin1'));
    this.lastThen = output.then;
    return render(output);
  }
  async line(command: string): Promise<string> {
    return this.send(`${command}\r\n`);
  }
}

function setup(messages: string[] = ['Subject: one\r\n\r\nbody one\r\n', 'Subject: two\r\n\r\nbody two\r\n']) {
  const backend = new FakeBackend();
  const account = backend.add('alice@example.org', 'secret pass', messages);
  return { backend, account, client: new Client({ backend }) };
}

async function login(client: Client): Promise<void> {
  assert.equal(await client.line('USER alice@example.org'), '+OK Send your password\r\n');
  assert.match(await client.line('PASS secret pass'), /^\+OK Logged in/);
}

test('the RFC 1939 §10 example session, with USER/PASS instead of APOP', async () => {
  const first = 'Subject: a\r\n\r\n' + 'x'.repeat(104) + '\r\n'; // 120 octets
  const second = 'Subject: b\r\n\r\n' + 'y'.repeat(184) + '\r\n'; // 200 octets
  const { backend, account, client } = setup([first, second]);
  assert.equal(await client.greet(), '+OK pop.example.org POP3 server ready\r\n');
  await client.line('USER alice@example.org');
  assert.equal(await client.line('PASS secret pass'), '+OK Logged in, maildrop has 2 messages (320 octets)\r\n');
  assert.equal(await client.line('STAT'), '+OK 2 320\r\n');
  assert.equal(await client.line('LIST'), '+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n');
  assert.equal(await client.line('RETR 1'), `+OK 120 octets\r\n${first}.\r\n`);
  assert.equal(await client.line('DELE 1'), '+OK Message 1 deleted\r\n');
  assert.equal(await client.line('RETR 2'), `+OK 200 octets\r\n${second}.\r\n`);
  assert.equal(await client.line('DELE 2'), '+OK Message 2 deleted\r\n');
  assert.equal(await client.line('QUIT'), '+OK pop.example.org POP3 server signing off (maildrop empty)\r\n');
  assert.equal(client.lastThen, 'close');
  assert.deepEqual(backend.expunged, [[5, 7]]);
  assert.equal(account.messages.size, 0);
  assert.equal(backend.locked.size, 0, 'the lock is released after UPDATE');
});

test('a wrong password answers -ERR [AUTH] and the client may try again', async () => {
  const { client } = setup();
  await client.greet();
  await client.line('USER alice@example.org');
  assert.equal(await client.line('PASS wrong'), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(await client.line('USER nobody@example.org'), '+OK Send your password\r\n', 'unknown users look like known ones');
  assert.equal(await client.line('PASS wrong'), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(await client.line('PASS secret pass'), '-ERR Send USER first\r\n');
  await login(client);
});

test('a throttled login answers -ERR [SYS/TEMP]', async () => {
  const { client } = setup();
  await client.line('USER throttled@example.org');
  assert.match(await client.line('PASS x'), /^-ERR \[SYS\/TEMP\] /);
});

test('commands of the wrong state and garbage answer -ERR and the session goes on', async () => {
  const { client } = setup();
  assert.equal(await client.line('STAT'), '-ERR STAT is not valid before login\r\n');
  assert.equal(await client.line('HELLO world'), '-ERR Unknown command\r\n');
  assert.equal(await client.send('\x00\xff\x01\r\n'), '-ERR Unknown command\r\n');
  assert.equal(await client.line(''), '-ERR Unknown command\r\n');
  await login(client);
  assert.equal(await client.line('USER bob'), '-ERR USER is not valid after login\r\n');
  assert.equal(await client.line('RETR'), '-ERR Syntax: RETR msg\r\n');
  assert.equal(await client.line('RETR x'), '-ERR Invalid message number\r\n');
  assert.equal(await client.line('RETR 0'), '-ERR Invalid message number\r\n');
  assert.equal(await client.line('RETR 3'), '-ERR No such message\r\n');
  assert.equal(await client.line('TOP 1'), '-ERR Syntax: TOP msg n\r\n');
  assert.equal(await client.line('STAT now'), '-ERR Syntax: STAT\r\n');
  assert.equal(await client.line('stat'), '+OK 2 52\r\n', 'keywords are case-insensitive');
  assert.equal(client.lastThen, undefined);
});

test('too many errors close the connection', async () => {
  const backend = new FakeBackend();
  const client = new Client({ backend, limits: { maxErrors: 3 } });
  assert.equal(await client.send('X\r\nY\r\nZ\r\nNOOP\r\n'), '-ERR Unknown command\r\n'.repeat(3) + '-ERR Too many errors, closing connection\r\n');
  assert.equal(client.lastThen, 'close');
  assert.equal(await client.line('CAPA'), '', 'nothing is answered after close');
});

test('an over-long line answers -ERR and the next command works', async () => {
  const backend = new FakeBackend();
  const client = new Client({ backend, limits: { lineBytes: 64 } });
  assert.equal(await client.send('USER ' + 'a'.repeat(100)), '');
  assert.equal(await client.send('a'.repeat(5000) + '\r\nNOOP'), '-ERR Line too long (limit 64 octets)\r\n');
  assert.match(await client.send('X\r\nCAPA\r\n'), /^-ERR Unknown command\r\n\+OK Capability list follows\r\n/);
});

test('CAPA before TLS hides USER and offers STLS; after STLS it offers USER and no STLS', async () => {
  const backend = new FakeBackend();
  backend.add('alice@example.org', 'pw', []);
  const client = new Client({ backend, allowPlaintextAuth: false });
  await client.greet();
  assert.equal(
    await client.line('CAPA'),
    '+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nSASL FAKE-SCRAM\r\nSTLS\r\nIMPLEMENTATION Postamt\r\n.\r\n',
  );
  assert.equal(await client.line('USER alice@example.org'), '-ERR [AUTH] Plaintext authentication requires TLS; use STLS first\r\n');
  assert.equal(await client.line(`AUTH PLAIN ${b64('\0alice@example.org\0pw')}`), '-ERR Unsupported authentication mechanism\r\n');
  assert.equal(await client.line('STLS'), '+OK Begin TLS negotiation\r\n');
  assert.equal(client.lastThen, 'starttls');
  client.session.tlsStarted({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' });
  assert.equal(
    await client.line('CAPA'),
    '+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN FAKE-SCRAM\r\nIMPLEMENTATION Postamt\r\n.\r\n',
  );
  assert.equal(await client.line('STLS'), '-ERR Already using TLS\r\n');
  assert.equal(await client.line(`AUTH PLAIN ${b64('\0alice@example.org\0pw')}`), '+OK Logged in, maildrop has 0 messages (0 octets)\r\n');
  assert.equal(await client.line('STLS'), '-ERR STLS is not valid after login\r\n');
});

test('STLS without a certificate is refused', async () => {
  const client = new Client({ backend: new FakeBackend(), starttlsAvailable: false });
  assert.doesNotMatch(await client.line('CAPA'), /STLS/);
  assert.equal(await client.line('STLS'), '-ERR TLS is not available\r\n');
});

test('STLS discards commands pipelined after it (RFC 2595 §4)', async () => {
  const backend = new FakeBackend();
  backend.add('alice@example.org', 'pw', []);
  const client = new Client({ backend, allowPlaintextAuth: false });
  assert.equal(await client.send('STLS\r\nUSER alice@example.org\r\nCAPA\r\n'), '+OK Begin TLS negotiation\r\n');
  assert.equal(client.lastThen, 'starttls');
  client.session.tlsStarted({ protocol: 'TLSv1.3', cipher: 'x' });
  assert.equal(await client.line('PASS pw'), '-ERR Send USER first\r\n', 'the injected USER was dropped');
});

test('AUTH PLAIN with an initial response, without one, with "=" and cancelled with "*"', async () => {
  const { client } = setup([]);
  assert.equal(await client.line(`AUTH PLAIN ${b64('\0alice@example.org\0wrong')}`), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(await client.line('AUTH PLAIN'), '+ \r\n');
  assert.equal(await client.line('*'), '-ERR Authentication cancelled\r\n');
  assert.equal(await client.line('AUTH PLAIN ='), '-ERR Invalid authentication data\r\n');
  assert.equal(await client.line('AUTH PLAIN not*base64'), '-ERR Invalid authentication data\r\n');
  assert.equal(await client.line('AUTH NOSUCH'), '-ERR Unsupported authentication mechanism\r\n');
  assert.equal(await client.line('AUTH plain'), '+ \r\n', 'mechanism names are case-insensitive');
  assert.equal(await client.line(b64('\0alice@example.org\0secret pass')), '+OK Logged in, maildrop has 0 messages (0 octets)\r\n');
});

test('a bare AUTH lists the mechanisms', async () => {
  const { client } = setup([]);
  assert.equal(await client.line('AUTH'), '+OK Supported mechanisms follow\r\nPLAIN\r\nFAKE-SCRAM\r\n.\r\n');
});

test('a SASL exchange with server-final data sends it as a last challenge before +OK', async () => {
  const { client } = setup([]);
  assert.equal(await client.line('AUTH FAKE-SCRAM'), `+ ${b64('server-first')}\r\n`);
  assert.equal(await client.line(b64('alice@example.org:secret pass')), `+ ${b64('v=proof')}\r\n`);
  assert.equal(await client.line(''), '+OK Logged in, maildrop has 0 messages (0 octets)\r\n');
});

test('a second session for the same maildrop gets -ERR [IN-USE] until the first ends', async () => {
  const { backend, client } = setup();
  await login(client);
  const second = new Client({ backend });
  await second.line('USER alice@example.org');
  assert.equal(await second.line('PASS secret pass'), '-ERR [IN-USE] Maildrop already locked\r\n');
  assert.equal(await client.line('QUIT'), '+OK pop.example.org POP3 server signing off (2 messages left)\r\n');
  await login(second);
});

test('DELE then QUIT removes the message; DELE then a dropped connection removes nothing', async () => {
  const { backend, account, client } = setup();
  await login(client);
  assert.equal(await client.line('DELE 2'), '+OK Message 2 deleted\r\n');
  client.session.closed();
  assert.deepEqual(backend.expunged, []);
  assert.equal(account.messages.size, 2);
  assert.equal(backend.locked.size, 0, 'the lock is released');

  const again = new Client({ backend });
  await login(again);
  assert.equal(await again.line('DELE 2'), '+OK Message 2 deleted\r\n');
  assert.equal(await again.line('QUIT'), '+OK pop.example.org POP3 server signing off (1 message left)\r\n');
  assert.deepEqual(backend.expunged, [[7]]);
  assert.deepEqual([...account.messages.keys()], [5]);
});

test('an idle timeout closes silently without removing anything', async () => {
  const { backend, client } = setup();
  await login(client);
  await client.line('DELE 1');
  assert.deepEqual(client.session.idleTimeout(), { data: [], then: 'close' });
  assert.equal(client.session.idleTimeoutMs, 10 * 60 * 1000);
  client.session.closed();
  assert.deepEqual(backend.expunged, []);
  assert.equal(backend.locked.size, 0);
});

test('deleted messages are hidden until RSET unmarks them', async () => {
  const { client } = setup();
  await login(client);
  await client.line('DELE 1');
  assert.equal(await client.line('DELE 1'), '-ERR Message 1 already deleted\r\n');
  assert.equal(await client.line('RETR 1'), '-ERR Message 1 already deleted\r\n');
  assert.equal(await client.line('TOP 1 0'), '-ERR Message 1 already deleted\r\n');
  assert.equal(await client.line('LIST 1'), '-ERR Message 1 already deleted\r\n');
  assert.equal(await client.line('UIDL 1'), '-ERR Message 1 already deleted\r\n');
  assert.equal(await client.line('STAT'), '+OK 1 26\r\n');
  assert.equal(await client.line('LIST'), '+OK 1 messages (26 octets)\r\n2 26\r\n.\r\n');
  assert.equal(await client.line('UIDL'), '+OK Unique-ID listing follows\r\n2 1700000000.7\r\n.\r\n');
  assert.equal(await client.line('RSET'), '+OK Maildrop has 2 messages (52 octets)\r\n');
  assert.equal(await client.line('STAT'), '+OK 2 52\r\n');
  assert.equal(await client.line('NOOP'), '+OK\r\n');
});

test('RETR dot-stuffs byte-exact across chunk boundaries and terminates a message without final CRLF', async () => {
  const message = 'Subject: dots\r\n\r\n.hidden\r\n..two\r\n.\r\nend';
  const { backend, client } = setup([message]);
  // Chunks split right after CRLF, so a "." opens the next chunk.
  backend.chunking = () => ['Subject: dots\r\n\r\n', '.hidden\r\n', '.', '.two\r\n', '.\r\nend'];
  await login(client);
  assert.equal(
    await client.line('RETR 1'),
    `+OK ${message.length} octets\r\nSubject: dots\r\n\r\n..hidden\r\n...two\r\n..\r\nend\r\n.\r\n`,
  );
});

test('RETR of a message that vanished meanwhile answers -ERR [SYS/TEMP]', async () => {
  const { account, client } = setup();
  await login(client);
  account.messages.delete(5); // expunged by an IMAP session
  assert.equal(await client.line('RETR 1'), '-ERR [SYS/TEMP] Message is no longer available\r\n');
});

test('TOP 0 sends the header and blank line; TOP n adds n stuffed body lines', async () => {
  const message = 'From: a@example.org\r\nSubject: top\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n';
  const { backend, client } = setup([message]);
  backend.chunking = (text) => [text.slice(0, 10), text.slice(10, 38), text.slice(38)];
  await login(client);
  assert.equal(await client.line('TOP 1 0'), '+OK Top of message follows\r\nFrom: a@example.org\r\nSubject: top\r\n\r\n.\r\n');
  assert.equal(await client.line('TOP 1 2'), '+OK Top of message follows\r\nFrom: a@example.org\r\nSubject: top\r\n\r\nline 1\r\n..line 2\r\n.\r\n');
  assert.equal(await client.line('TOP 1 100'), `+OK Top of message follows\r\n${message.replace('.line', '..line')}.\r\n`);
});

test('UIDL is UIDVALIDITY.UID, stable across sessions and after other messages are removed', async () => {
  const { backend, client } = setup(['a\r\n', 'b\r\n', 'c\r\n']);
  await login(client);
  assert.equal(await client.line('UIDL'), '+OK Unique-ID listing follows\r\n1 1700000000.5\r\n2 1700000000.7\r\n3 1700000000.9\r\n.\r\n');
  assert.equal(await client.line('UIDL 3'), '+OK 3 1700000000.9\r\n');
  await client.line('DELE 1');
  await client.line('QUIT');
  const again = new Client({ backend });
  await login(again);
  assert.equal(await again.line('UIDL'), '+OK Unique-ID listing follows\r\n1 1700000000.7\r\n2 1700000000.9\r\n.\r\n');
});

test('pipelined commands are answered in order and QUIT expunges only after RETR was streamed', async () => {
  const { backend, client } = setup();
  await client.greet();
  const transcript = await client.send('USER alice@example.org\r\nPASS secret pass\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nQUIT\r\nSTAT\r\n');
  assert.equal(
    transcript,
    '+OK Send your password\r\n' +
      '+OK Logged in, maildrop has 2 messages (52 octets)\r\n' +
      '+OK 2 52\r\n' +
      '+OK 26 octets\r\nSubject: one\r\n\r\nbody one\r\n.\r\n' +
      '+OK Message 1 deleted\r\n' +
      '+OK pop.example.org POP3 server signing off (1 message left)\r\n',
  );
  assert.equal(client.lastThen, 'close');
  assert.deepEqual(backend.expunged, [[5]]);
});

test('QUIT before login closes without touching the maildrop', async () => {
  const { backend, client } = setup();
  assert.equal(await client.line('QUIT'), '+OK pop.example.org POP3 server signing off\r\n');
  assert.equal(client.lastThen, 'close');
  assert.deepEqual(backend.expunged, []);
});

test('shutdown says [SYS/TEMP] and releases the maildrop without removing anything', async () => {
  const { backend, client } = setup();
  await login(client);
  await client.line('DELE 1');
  const output = client.session.shutdown();
  assert.equal(await render(output), '-ERR [SYS/TEMP] Server shutting down\r\n');
  assert.equal(output.then, 'close');
  assert.equal(backend.locked.size, 0);
  assert.deepEqual(backend.expunged, []);
});

test('fuzz: arbitrary bytes in arbitrary chunks never throw and every reply is a POP3 status line', async () => {
  const fc = await import('fast-check');
  const words = fc.constantFrom('USER alice@example.org\r\n', 'PASS secret pass\r\n', 'RETR 1\r\n', 'TOP 1 1\r\n', 'DELE 1\r\n', 'LIST\r\n', 'AUTH PLAIN\r\n', '*\r\n', 'RSET\r\n', '\r\n', '.\r\n');
  const noise = fc.uint8Array({ maxLength: 30 }).map((bytes) => Buffer.from(bytes).toString('latin1'));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(words, noise), { maxLength: 25 }), async (inputs) => {
      const { backend } = setup();
      const client = new Client({ backend, limits: { lineBytes: 40, maxErrors: 1000 } });
      for (const input of inputs) {
        const output = await client.send(input);
        if (output !== '') assert.match(output, /^(\+OK|-ERR|\+ )/);
        if (client.lastThen) break;
      }
      client.session.closed();
      assert.equal(backend.locked.size, 0, 'no lock survives the connection');
    }),
    { numRuns: 200 },
  );
});
