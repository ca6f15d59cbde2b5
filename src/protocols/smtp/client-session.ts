/**
 * The SMTP client engine (RFC 5321 + extensions): a pure state machine fed with complete replies that
 * answers with commands to write and what the driver should do next. It never touches a socket;
 * src/queue/smtp-connection.ts drives it. Supports EHLO/HELO fallback, STARTTLS, AUTH PLAIN/LOGIN,
 * PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, ENHANCEDSTATUSCODES and several transactions per session.
 */
import { encodeXtext } from './client-data.ts';
import { formatReply, isPositive, makeReply, type SmtpReply } from './client-reply.ts';

export type ClientTlsMode = 'none' | 'opportunistic' | 'required';

export interface ClientTimeouts {
  /** RFC 5321 §4.5.3.2.1: initial 220 message, 5 minutes (also used for EHLO, STARTTLS, AUTH, RSET, QUIT). */
  greetingMs: number;
  mailMs: number; // §4.5.3.2.2: 5 minutes
  rcptMs: number; // §4.5.3.2.3: 5 minutes
  dataInitMs: number; // §4.5.3.2.4: 2 minutes
  dataBlockMs: number; // §4.5.3.2.5: 3 minutes per block written
  dataTermMs: number; // §4.5.3.2.6: 10 minutes for the reply to "."
}

export const DEFAULT_CLIENT_TIMEOUTS: ClientTimeouts = {
  greetingMs: 300_000,
  mailMs: 300_000,
  rcptMs: 300_000,
  dataInitMs: 120_000,
  dataBlockMs: 180_000,
  dataTermMs: 600_000,
};

export interface ClientSessionOptions {
  /** Our name in EHLO/HELO. */
  heloName: string;
  /** 'none': never STARTTLS; 'opportunistic': when offered; 'required': fail unless TLS is active. */
  tlsMode: ClientTlsMode;
  /** The connection is already TLS (implicit TLS, RFC 8314). */
  tlsActive?: boolean;
  auth?: { username: string; password: string } | null;
  /** Send credentials over a connection without TLS (default false). */
  allowPlaintextAuth?: boolean;
  timeouts?: Partial<ClientTimeouts>;
}

export interface ClientRecipient {
  address: string;
  /** RFC 3461 NOTIFY values, e.g. ['FAILURE','DELAY'] or ['NEVER']. */
  notify?: string[] | null;
  /** RFC 3461 ORCPT as `addr-type;address` (plain text; encoded as xtext here). */
  orcpt?: string | null;
}

export interface ClientTransaction {
  reversePath: string; // '' for <>
  recipients: ClientRecipient[];
  size: number;
  /** The body has octets above 127 (needs 8BITMIME, RFC 6152). */
  needs8bit: boolean;
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
}

export interface RecipientResult {
  address: string;
  reply: SmtpReply;
}

export interface TransactionResult {
  recipients: RecipientResult[];
  /** The peer accepted DSN parameters (RFC 3461): it takes over success/delay notifications. */
  peerSupportsDsn: boolean;
}

export type ClientAction =
  | { kind: 'send'; data: string }
  /** Upgrade the socket to TLS now, then call tlsStarted(). */
  | { kind: 'starttls' }
  /** Write the encoded body and terminator (client-data.ts), then wait for the reply. */
  | { kind: 'send-body' }
  /** Idle and usable: start a transaction or quit. */
  | { kind: 'ready' }
  | { kind: 'transaction-done'; result: TransactionResult }
  /** The session cannot be used (greeting, EHLO, TLS or AUTH failure, 421, lost connection). */
  | { kind: 'failed'; reply: SmtpReply; stage: string }
  | { kind: 'close' };

export interface PeerInfo {
  esmtp: boolean;
  extensions: Map<string, string>;
  greeting: SmtpReply | null;
  tls: boolean;
}

type Expect = 'rset' | 'mail' | 'rcpt' | 'data';

type State =
  | { phase: 'greeting' }
  | { phase: 'ehlo' }
  | { phase: 'helo' }
  | { phase: 'starttls' }
  | { phase: 'tls-handshake' }
  | { phase: 'auth'; mechanism: 'PLAIN' | 'LOGIN'; step: number }
  | { phase: 'ready' }
  | { phase: 'transaction'; tx: ActiveTransaction }
  | { phase: 'body'; tx: ActiveTransaction }
  | { phase: 'quit' }
  | { phase: 'closed' };

interface ActiveTransaction {
  input: ClientTransaction;
  pipelined: boolean;
  /** Commands written whose replies are outstanding, in order. */
  expected: Expect[];
  /** Commands not yet written (no PIPELINING). */
  unsent: { kind: Expect; line: string }[];
  mailReply: SmtpReply | null;
  rcptReplies: SmtpReply[];
  failedEarly: SmtpReply | null;
}

export class SmtpClientSession {
  readonly #opts: ClientSessionOptions;
  readonly #timeouts: ClientTimeouts;
  #state: State = { phase: 'greeting' };
  #peer: PeerInfo;
  #needsReset = false;

  constructor(options: ClientSessionOptions) {
    this.#opts = options;
    this.#timeouts = { ...DEFAULT_CLIENT_TIMEOUTS, ...options.timeouts };
    this.#peer = { esmtp: false, extensions: new Map(), greeting: null, tls: options.tlsActive ?? false };
  }

  get peer(): Readonly<PeerInfo> {
    return this.#peer;
  }

  get phase(): State['phase'] {
    return this.#state.phase;
  }

  get timeouts(): Readonly<ClientTimeouts> {
    return this.#timeouts;
  }

  /** How long to wait for the next reply in the current state (RFC 5321 §4.5.3.2). */
  get timeoutMs(): number {
    const s = this.#state;
    if (s.phase === 'body') return this.#timeouts.dataTermMs;
    if (s.phase === 'transaction') {
      const next = s.tx.expected[0];
      if (next === 'mail') return this.#timeouts.mailMs;
      if (next === 'rcpt') return this.#timeouts.rcptMs;
      if (next === 'data') return this.#timeouts.dataInitMs;
    }
    return this.#timeouts.greetingMs;
  }

  hasExtension(name: string): boolean {
    return this.#peer.extensions.has(name.toUpperCase());
  }

  /** A complete reply from the server. */
  receive(reply: SmtpReply): ClientAction[] {
    const s = this.#state;
    if (reply.code === 0) return this.#fail(makeReply(421, '4.4.0', reply.lines.join(' '), { local: true }), 'protocol');
    switch (s.phase) {
      case 'greeting':
        this.#peer.greeting = reply;
        // RFC 5321 §3.1: a 554 (or any non-220) greeting means no service here; try the next MX.
        if (reply.code !== 220) return this.#fail(reply, 'greeting', { sendQuit: reply.code !== 421 });
        return this.#sendEhlo();
      case 'ehlo':
        if (isPositive(reply)) {
          this.#peer.esmtp = true;
          this.#peer.extensions = parseExtensions(reply);
          return this.#afterHello();
        }
        // RFC 5321 §3.2: a server that does not know EHLO answers 500/502 (or 5xx); fall back to HELO.
        if (reply.code >= 500) {
          this.#state = { phase: 'helo' };
          return [{ kind: 'send', data: `HELO ${this.#opts.heloName}\r\n` }];
        }
        return this.#fail(reply, 'ehlo', { sendQuit: reply.code !== 421 });
      case 'helo':
        if (!isPositive(reply)) return this.#fail(reply, 'helo', { sendQuit: reply.code !== 421 });
        this.#peer.esmtp = false;
        this.#peer.extensions = new Map();
        return this.#afterHello();
      case 'starttls':
        if (reply.code === 220) {
          this.#state = { phase: 'tls-handshake' };
          return [{ kind: 'starttls' }];
        }
        if (this.#opts.tlsMode === 'required') return this.#fail(makeReply(451, '4.7.5', `STARTTLS refused: ${formatReply(reply)}`, { local: true }), 'starttls', { sendQuit: true });
        // Opportunistic TLS (RFC 7435): continue in plain text.
        return this.#afterTls();
      case 'auth':
        return this.#onAuthReply(s, reply);
      case 'transaction':
        return this.#onTransactionReply(s.tx, reply);
      case 'body':
        // RFC 5321 §4.1.1.4: the reply to the end of the data ends the transaction and clears the server's
        // buffers, whatever its code, so the next transaction needs no RSET (§4.1.1.5 requires none).
        this.#needsReset = false;
        return this.#finishTransaction(s.tx, reply);
      case 'quit':
        this.#state = { phase: 'closed' };
        return [{ kind: 'close' }];
      case 'ready':
      case 'tls-handshake':
      case 'closed':
        // An unsolicited reply: RFC 5321 §3.8 allows a server to send 421 and close at any time.
        return this.#fail(reply.code === 421 ? reply : makeReply(421, '4.5.0', `unexpected reply ${formatReply(reply)}`, { local: true }), 'unexpected');
    }
  }

  /** The driver finished the TLS handshake after STARTTLS; RFC 3207 §4.2: forget everything and EHLO again. */
  tlsStarted(): ClientAction[] {
    this.#peer.tls = true;
    this.#peer.extensions = new Map();
    return this.#sendEhlo();
  }

  /**
   * Starts a transaction. Returns either commands to write or, when the message cannot be sent to this
   * peer at all (SIZE, 8BITMIME, SMTPUTF8), an immediate transaction-done with a local permanent reply.
   */
  beginTransaction(input: ClientTransaction): ClientAction[] {
    if (this.#state.phase !== 'ready') throw new Error(`beginTransaction in phase ${this.#state.phase}`);
    const ext = this.#peer.extensions;
    const reject = (reply: SmtpReply): ClientAction[] => [
      { kind: 'transaction-done', result: { recipients: input.recipients.map((r) => ({ address: r.address, reply })), peerSupportsDsn: false } },
      { kind: 'ready' },
    ];
    const limit = Number(ext.get('SIZE') ?? '0');
    // RFC 1870 §6: do not send a message larger than the server's declared maximum.
    if (ext.has('SIZE') && limit > 0 && input.size > limit) {
      return reject(makeReply(552, '5.3.4', `message size ${input.size} exceeds the peer's limit of ${limit}`, { local: true }));
    }
    // RFC 6152 §3: 8bit data only to a server that offers 8BITMIME; we do not downconvert.
    if (input.needs8bit && !ext.has('8BITMIME')) {
      return reject(makeReply(554, '5.6.3', 'message needs 8BITMIME, which the peer does not offer', { local: true }));
    }
    const needsUtf8 = !isAsciiAddress(input.reversePath) || input.recipients.some((r) => !isAsciiAddress(r.address));
    // RFC 6531 §3.2: non-ASCII addresses only to a server that offers SMTPUTF8.
    if (needsUtf8 && !ext.has('SMTPUTF8')) {
      return reject(makeReply(553, '5.6.7', 'non-ASCII address and the peer does not offer SMTPUTF8', { local: true }));
    }
    const dsn = ext.has('DSN');
    const mailParams: string[] = [];
    if (ext.has('SIZE')) mailParams.push(`SIZE=${input.size}`);
    if (input.needs8bit) mailParams.push('BODY=8BITMIME');
    if (needsUtf8) mailParams.push('SMTPUTF8');
    if (dsn && input.ret) mailParams.push(`RET=${input.ret}`);
    if (dsn && input.envid) mailParams.push(`ENVID=${encodeXtext(input.envid)}`);
    const commands: { kind: Expect; line: string }[] = [];
    if (this.#needsReset) commands.push({ kind: 'rset', line: 'RSET\r\n' });
    commands.push({ kind: 'mail', line: `MAIL FROM:<${input.reversePath}>${mailParams.map((p) => ' ' + p).join('')}\r\n` });
    for (const r of input.recipients) {
      const params: string[] = [];
      if (dsn && r.notify?.length) params.push(`NOTIFY=${r.notify.join(',')}`);
      if (dsn && r.orcpt) params.push(`ORCPT=${formatOrcpt(r.orcpt)}`);
      commands.push({ kind: 'rcpt', line: `RCPT TO:<${r.address}>${params.map((p) => ' ' + p).join('')}\r\n` });
    }
    commands.push({ kind: 'data', line: 'DATA\r\n' });
    // Until the data's reply ends it, the transaction may be left open on the server (MAIL accepted, then a
    // refused DATA, or no RCPT accepted without PIPELINING): the next one starts with RSET.
    this.#needsReset = true;
    // RFC 2920 §3.1: with PIPELINING, RSET, MAIL, RCPT and a final DATA may be sent as one group.
    const pipelined = ext.has('PIPELINING');
    const tx: ActiveTransaction = { input, pipelined, expected: [], unsent: [], mailReply: null, rcptReplies: [], failedEarly: null };
    this.#state = { phase: 'transaction', tx };
    if (pipelined) {
      tx.expected = commands.map((c) => c.kind);
      return [{ kind: 'send', data: commands.map((c) => c.line).join('') }];
    }
    const first = commands.shift()!;
    tx.unsent = commands;
    tx.expected = [first.kind];
    return [{ kind: 'send', data: first.line }];
  }

  quit(): ClientAction[] {
    if (this.#state.phase === 'closed' || this.#state.phase === 'quit') return [{ kind: 'close' }];
    this.#state = { phase: 'quit' };
    return [{ kind: 'send', data: 'QUIT\r\n' }];
  }

  /** The connection dropped or a reply timed out: settle whatever is outstanding with a temporary failure. */
  connectionLost(reason: 'timeout' | 'closed' | 'error', detail = ''): ClientAction[] {
    const text = reason === 'timeout' ? `timeout waiting for the server${detail ? ` (${detail})` : ''}` : `connection ${reason === 'closed' ? 'closed by the server' : 'error'}${detail ? `: ${detail}` : ''}`;
    const reply = makeReply(451, '4.4.2', text, { local: true });
    if (this.#state.phase === 'quit' || this.#state.phase === 'closed') {
      this.#state = { phase: 'closed' };
      return [{ kind: 'close' }];
    }
    return this.#fail(reply, reason);
  }

  #sendEhlo(): ClientAction[] {
    this.#state = { phase: 'ehlo' };
    return [{ kind: 'send', data: `EHLO ${this.#opts.heloName}\r\n` }];
  }

  #afterHello(): ClientAction[] {
    const wantTls = this.#opts.tlsMode !== 'none' && !this.#peer.tls;
    if (wantTls && this.#peer.extensions.has('STARTTLS')) {
      this.#state = { phase: 'starttls' };
      return [{ kind: 'send', data: 'STARTTLS\r\n' }];
    }
    return this.#afterTls();
  }

  #afterTls(): ClientAction[] {
    if (this.#opts.tlsMode === 'required' && !this.#peer.tls) {
      return this.#fail(makeReply(451, '4.7.4', 'TLS is required but the peer does not offer STARTTLS', { local: true }), 'starttls', { sendQuit: true });
    }
    const auth = this.#opts.auth;
    if (!auth) return this.#ready();
    if (!this.#peer.tls && !this.#opts.allowPlaintextAuth) {
      return this.#fail(makeReply(451, '4.7.0', 'refusing to send credentials without TLS', { local: true }), 'auth', { sendQuit: true });
    }
    const offered = (this.#peer.extensions.get('AUTH') ?? '').toUpperCase().split(/\s+/);
    // RFC 4954 §4: AUTH PLAIN with an initial response; RFC 4616 §2: authzid NUL authcid NUL passwd.
    if (offered.includes('PLAIN')) {
      this.#state = { phase: 'auth', mechanism: 'PLAIN', step: 0 };
      const ir = Buffer.from(`\0${auth.username}\0${auth.password}`, 'utf8').toString('base64');
      return [{ kind: 'send', data: `AUTH PLAIN ${ir}\r\n` }];
    }
    if (offered.includes('LOGIN')) {
      this.#state = { phase: 'auth', mechanism: 'LOGIN', step: 0 };
      return [{ kind: 'send', data: 'AUTH LOGIN\r\n' }];
    }
    // Without a usable mechanism the mail would go out unauthenticated and be refused: defer instead.
    return this.#fail(makeReply(451, '4.7.0', 'the peer offers no usable AUTH mechanism (PLAIN, LOGIN)', { local: true }), 'auth', { sendQuit: true });
  }

  #onAuthReply(s: Extract<State, { phase: 'auth' }>, reply: SmtpReply): ClientAction[] {
    const auth = this.#opts.auth!;
    if (reply.code === 235) return this.#ready();
    if (reply.code === 334 && s.mechanism === 'LOGIN' && s.step < 2) {
      const value = s.step === 0 ? auth.username : auth.password;
      this.#state = { ...s, step: s.step + 1 };
      return [{ kind: 'send', data: Buffer.from(value, 'utf8').toString('base64') + '\r\n' }];
    }
    if (reply.code === 334) return [{ kind: 'send', data: '*\r\n' }]; // RFC 4954 §4: cancel an unexpected challenge
    // A credential problem is ours to fix: defer (like Postfix's smtp_sasl_auth_soft_bounce) rather than bounce.
    return this.#fail(makeReply(451, '4.7.0', `authentication failed: ${formatReply(reply)}`, { local: true }), 'auth', { sendQuit: reply.code !== 421 });
  }

  #onTransactionReply(tx: ActiveTransaction, reply: SmtpReply): ClientAction[] {
    const kind = tx.expected.shift();
    if (reply.code === 421) return this.#abortTransaction(tx, reply);
    switch (kind) {
      case 'rset':
        if (!isPositive(reply)) tx.failedEarly = reply;
        break;
      case 'mail':
        tx.mailReply = reply;
        if (!isPositive(reply) && !tx.failedEarly) tx.failedEarly = reply;
        break;
      case 'rcpt':
        tx.rcptReplies.push(reply);
        break;
      case 'data': {
        const accepted = tx.rcptReplies.filter(isPositive).length;
        if (reply.code === 354) {
          if (tx.failedEarly || accepted === 0) {
            // RFC 2920 §3.1: DATA was accepted although nothing else was; send an empty body and discard.
            this.#state = { phase: 'body', tx: { ...tx, failedEarly: tx.failedEarly ?? makeReply(554, '5.5.0', 'no valid recipients', { local: true }) } };
            return [{ kind: 'send', data: '.\r\n' }];
          }
          this.#state = { phase: 'body', tx };
          return [{ kind: 'send-body' }];
        }
        return this.#finishTransaction(tx, reply);
      }
      case undefined:
        return this.#fail(makeReply(421, '4.5.0', `unexpected reply ${formatReply(reply)}`, { local: true }), 'unexpected');
    }
    if (tx.pipelined) return [];
    // Without PIPELINING, stop as soon as MAIL fails or no RCPT could be accepted.
    const next = tx.unsent[0];
    if (!next) return [];
    const accepted = tx.rcptReplies.filter(isPositive).length;
    if (tx.failedEarly || (next.kind === 'data' && accepted === 0)) return this.#finishTransaction(tx, null);
    tx.unsent.shift();
    tx.expected.push(next.kind);
    return [{ kind: 'send', data: next.line }];
  }

  /** dataReply: the reply to DATA (non-354) or to the final "."; null when DATA was never sent. */
  #finishTransaction(tx: ActiveTransaction, dataReply: SmtpReply | null): ClientAction[] {
    const recipients = tx.input.recipients.map((r, i): RecipientResult => {
      if (tx.failedEarly) return { address: r.address, reply: tx.failedEarly };
      const rr = tx.rcptReplies[i] ?? makeReply(451, '4.4.2', 'no reply to RCPT', { local: true });
      if (!isPositive(rr)) return { address: r.address, reply: rr };
      return { address: r.address, reply: dataReply ?? makeReply(451, '4.4.2', 'DATA not sent', { local: true }) };
    });
    this.#state = { phase: 'ready' };
    return [{ kind: 'transaction-done', result: { recipients, peerSupportsDsn: this.#peer.extensions.has('DSN') } }, { kind: 'ready' }];
  }

  #abortTransaction(tx: ActiveTransaction, reply: SmtpReply): ClientAction[] {
    const recipients = tx.input.recipients.map((r, i) => {
      const rr = tx.rcptReplies[i];
      return { address: r.address, reply: rr && !isPositive(rr) ? rr : reply };
    });
    this.#state = { phase: 'closed' };
    return [{ kind: 'transaction-done', result: { recipients, peerSupportsDsn: false } }, { kind: 'failed', reply, stage: 'transaction' }, { kind: 'close' }];
  }

  #ready(): ClientAction[] {
    this.#state = { phase: 'ready' };
    return [{ kind: 'ready' }];
  }

  #fail(reply: SmtpReply, stage: string, options: { sendQuit?: boolean } = {}): ClientAction[] {
    const s = this.#state;
    const actions: ClientAction[] = [];
    if (s.phase === 'transaction' || s.phase === 'body') {
      const recipients = s.tx.input.recipients.map((r, i) => {
        const rr = s.tx.rcptReplies[i];
        return { address: r.address, reply: rr && !isPositive(rr) ? rr : reply };
      });
      actions.push({ kind: 'transaction-done', result: { recipients, peerSupportsDsn: false } });
    }
    actions.push({ kind: 'failed', reply, stage });
    if (options.sendQuit) {
      this.#state = { phase: 'quit' };
      actions.push({ kind: 'send', data: 'QUIT\r\n' });
    }
    this.#state = { phase: 'closed' };
    actions.push({ kind: 'close' });
    return actions;
  }
}

function isAsciiAddress(address: string): boolean {
  return /^[\x00-\x7f]*$/.test(address);
}

function formatOrcpt(orcpt: string): string {
  const semi = orcpt.indexOf(';');
  const type = semi > 0 ? orcpt.slice(0, semi) : 'rfc822';
  const value = semi > 0 ? orcpt.slice(semi + 1) : orcpt;
  // RFC 3461 §4.2: ORCPT=addr-type ";" xtext (utf-8 addresses use the utf-8 type of RFC 6533).
  return `${type};${encodeXtext(value)}`;
}

/** RFC 5321 §4.1.1.1: EHLO reply lines after the first are `keyword [params]`. */
export function parseExtensions(reply: SmtpReply): Map<string, string> {
  const ext = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (m) ext.set(m[1]!.toUpperCase(), (m[2] ?? '').trim());
  }
  return ext;
}
