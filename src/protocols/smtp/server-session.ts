/**
 * The SMTP server engine (RFC 5321 with PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES, SMTPUTF8,
 * CHUNKING, DSN, STARTTLS, AUTH): a state machine fed with bytes that returns replies. It never touches
 * a socket or the store; it asks SmtpServerHooks at each decision point and writes 250 after end of data
 * only once the MessageSink's commit resolved (the one acknowledgement point).
 */
import type { EngineContext, EngineOutput, StreamEngine, TlsInfo } from '../engine.ts';
import type { AuthIdentity, SaslExchange } from '../sasl/types.ts';
import { BareLineEndingScanner, DataDecoder } from './data-decoder.ts';
import type { Envelope, MailParams, MessageSink, Recipient, SessionInfo, SmtpRole, SmtpServerHooks, Verdict } from './hooks.ts';
import { readMailParams, readRcptParams } from './mail-params.ts';
import { isValidDomain, parsePathArgument, type Mailbox } from './path.ts';
import { formatReply, replies, reply, type Reply } from './reply.ts';

export interface SmtpLimits {
  /** RFC 5321 §4.5.3.1.4: 512 octets including CRLF. */
  commandLineBytes: number;
  /** RFC 5321 §4.5.3.1.6: 1000 octets including CRLF. */
  textLineBytes: number;
  maxMessageBytes: number;
  maxRecipients: number;
  maxErrors: number;
  commandTimeoutMs: number;
  dataTimeoutMs: number;
}

export const DEFAULT_SMTP_LIMITS: SmtpLimits = {
  commandLineBytes: 512,
  textLineBytes: 1000,
  maxMessageBytes: 25 * 1024 * 1024,
  maxRecipients: 100,
  maxErrors: 20,
  commandTimeoutMs: 5 * 60_000,
  dataTimeoutMs: 10 * 60_000,
};

export interface SmtpServerSessionOptions {
  context: EngineContext;
  hostname: string;
  role: SmtpRole;
  hooks: SmtpServerHooks;
  limits?: Partial<SmtpLimits>;
  /** STARTTLS may be offered (a certificate exists and the connection is not TLS yet). */
  tlsAvailable: boolean;
  newTransactionId: () => string;
}

interface Transaction {
  id: string;
  reversePath: Mailbox | null;
  params: MailParams;
  recipients: Recipient[];
  /** Set once DATA or the first BDAT opened the sink. */
  sink: MessageSink | null;
  bdat: BareLineEndingScanner | null;
  bdatSize: number;
  bdatFailed: Reply | null;
}

type Mode =
  | { kind: 'command' }
  | { kind: 'data'; decoder: DataDecoder }
  | { kind: 'bdat'; remaining: number; last: boolean }
  | { kind: 'auth'; exchange: SaslExchange; pendingIdentity: AuthIdentity | null }
  | { kind: 'closed' };

type Step = { reply: Reply | null; then?: 'starttls' | 'close' };

type CommandHandler = (session: SmtpServerSession, args: string) => Promise<Step>;

interface CommandSpec {
  syntax: string;
  handle: CommandHandler;
}

export class SmtpServerSession implements StreamEngine {
  private readonly options: SmtpServerSessionOptions;
  readonly limits: SmtpLimits;
  private buffer: Buffer = Buffer.alloc(0);
  private discardingLongLine = false;
  private mode: Mode = { kind: 'command' };
  helo: string | null = null;
  esmtp = false;
  tls: TlsInfo | null;
  identity: AuthIdentity | null = null;
  tx: Transaction | null = null;
  private errors = 0;
  private rejectedAtConnect = false;

  constructor(options: SmtpServerSessionOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_SMTP_LIMITS, ...options.limits };
    this.tls = options.context.tls;
  }

  get hostname(): string {
    return this.options.hostname;
  }

  get idleTimeoutMs(): number {
    return this.mode.kind === 'data' || this.mode.kind === 'bdat' ? this.limits.dataTimeoutMs : this.limits.commandTimeoutMs;
  }

  info(): SessionInfo {
    const c = this.options.context;
    return { sessionId: c.sessionId, role: this.options.role, remoteAddress: c.remoteAddress, helo: this.helo, esmtp: this.esmtp, tls: this.tls, identity: this.identity };
  }

  async start(): Promise<EngineOutput> {
    if (this.options.hooks.checkConnection) {
      const verdict = await this.safeVerdict(() => this.options.hooks.checkConnection!(this.info()));
      if (!verdict.ok) {
        this.rejectedAtConnect = true;
        this.mode = { kind: 'closed' };
        return { data: [formatReply(reply(verdict.code, verdict.enhancedCode, verdict.text))], then: 'close' };
      }
    }
    return { data: [`220 ${this.options.hostname} ESMTP Postamt\r\n`] };
  }

  tlsStarted(info: TlsInfo): void {
    // RFC 3207 §4.2: forget everything known before the handshake; the client must EHLO again.
    this.tls = info;
    this.helo = null;
    this.esmtp = false;
    this.resetTransaction();
    this.buffer = Buffer.alloc(0);
    this.mode = { kind: 'command' };
  }

  idleTimeout(): EngineOutput {
    this.resetTransaction();
    return { data: [formatReply(replies.timeout(this.options.hostname))], then: 'close' };
  }

  shutdown(): EngineOutput {
    this.resetTransaction();
    return { data: [formatReply(replies.shuttingDown(this.options.hostname))], then: 'close' };
  }

  closed(): void {
    this.resetTransaction();
    this.mode = { kind: 'closed' };
  }

  async receive(chunk: Buffer): Promise<EngineOutput> {
    if (this.mode.kind === 'closed' || this.rejectedAtConnect) return { data: [] };
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: string[] = [];
    const send = (r: Reply): void => {
      out.push(formatReply(r));
    };
    while (this.buffer.length > 0) {
      const mode = this.mode;
      if (mode.kind === 'data') {
        const used = mode.decoder.feed(this.buffer);
        if (used < 0) {
          this.buffer = Buffer.alloc(0);
          break;
        }
        this.buffer = this.buffer.subarray(used);
        this.mode = { kind: 'command' };
        send(await this.finishData(mode.decoder));
        continue;
      }
      if (mode.kind === 'bdat') {
        const take = Math.min(mode.remaining, this.buffer.length);
        this.bdatBytes(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        mode.remaining -= take;
        if (mode.remaining > 0) break;
        this.mode = { kind: 'command' };
        send(await this.finishBdatChunk(mode.last));
        continue;
      }
      // Command and AUTH modes are line based.
      const lf = this.buffer.indexOf(0x0a);
      if (lf < 0) {
        if (this.buffer.length > this.limits.commandLineBytes) {
          // RFC 5321 §4.5.3.1.4: too long; skip up to the next line end and answer once.
          if (!this.discardingLongLine) send(this.countError(replies.lineTooLong));
          this.discardingLongLine = true;
          this.buffer = Buffer.alloc(0);
        }
        break;
      }
      const lineBytes = lf + 1;
      let line = this.buffer.subarray(0, lf).toString('utf8');
      this.buffer = this.buffer.subarray(lineBytes);
      if (this.discardingLongLine) {
        this.discardingLongLine = false;
        continue;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (lineBytes > this.limits.commandLineBytes) {
        send(this.countError(replies.lineTooLong));
        continue;
      }
      const step = mode.kind === 'auth' ? await this.authResponse(mode, line) : await this.command(line);
      if (step.reply) send(step.reply);
      if (this.errors >= this.limits.maxErrors) {
        send(replies.tooManyErrors);
        this.resetTransaction();
        this.mode = { kind: 'closed' };
        return { data: out, then: 'close' };
      }
      if (step.then === 'starttls') {
        // RFC 3207 §4.2 (CVE-2011-0411): anything pipelined after STARTTLS is discarded.
        this.buffer = Buffer.alloc(0);
        return { data: out, then: 'starttls' };
      }
      if (step.then === 'close') {
        this.mode = { kind: 'closed' };
        return { data: out, then: 'close' };
      }
    }
    return { data: out };
  }

  private async command(line: string): Promise<Step> {
    const space = line.indexOf(' ');
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? '' : line.slice(space + 1);
    const spec = COMMANDS[verb as Verb];
    if (!spec) return { reply: this.countError(replies.unknownCommand) };
    const step = await spec.handle(this, args);
    if (step.reply && step.reply.code >= 500) this.countError(step.reply, verb);
    return step;
  }

  countError(r: Reply, command = ''): Reply {
    this.errors++;
    this.options.hooks.onProtocolError?.(this.info(), { command, code: r.code, enhancedCode: r.enhancedCode });
    return r;
  }

  resetTransaction(): void {
    if (this.tx?.sink) this.tx.sink.abort();
    this.tx = null;
  }

  protocolWord(): string {
    // RFC 3848: ESMTP, +S for TLS, +A for authenticated.
    if (!this.esmtp) return 'SMTP';
    return `ESMTP${this.tls ? 'S' : ''}${this.identity ? 'A' : ''}`;
  }

  ehloReply(): Reply {
    const lines = [`${this.options.hostname} greets ${this.helo ?? ''}`.trim(), 'PIPELINING', `SIZE ${this.limits.maxMessageBytes}`, '8BITMIME', 'ENHANCEDSTATUSCODES', 'SMTPUTF8', 'CHUNKING', 'DSN'];
    if (this.options.tlsAvailable && !this.tls) lines.push('STARTTLS');
    const sasl = this.options.hooks.sasl;
    if (sasl && !this.identity) {
      const mechanisms = sasl.mechanisms({ protocol: 'smtp', remoteAddress: this.options.context.remoteAddress, isTls: this.tls !== null });
      // RFC 4954 §4 / RFC 3207: AUTH is offered only where it may be used (after TLS).
      if (mechanisms.length > 0) lines.push(`AUTH ${mechanisms.join(' ')}`);
    }
    lines.push('HELP');
    return { code: 250, enhancedCode: null, lines };
  }

  async safeVerdict(fn: () => Promise<Verdict>): Promise<Verdict> {
    try {
      return await fn();
    } catch {
      // Our own fault: always temporary (never 5xx for a local error).
      return { ok: false, code: 451, enhancedCode: '4.3.0', text: 'Local error in processing, try again later' };
    }
  }

  async openSink(): Promise<MessageSink | Reply> {
    const tx = this.tx!;
    const envelope: Envelope = { ...this.info(), transactionId: tx.id, reversePath: tx.reversePath, mailParams: tx.params, recipients: tx.recipients, protocol: this.protocolWord() };
    try {
      return await this.options.hooks.beginMessage(envelope);
    } catch {
      return replies.storageFailure;
    }
  }

  beginData(): void {
    const tx = this.tx!;
    this.mode = {
      kind: 'data',
      decoder: new DataDecoder({ maxLineBytes: this.limits.textLineBytes, maxMessageBytes: this.limits.maxMessageBytes, write: (chunk) => tx.sink?.write(chunk) }),
    };
  }

  beginBdat(remaining: number, last: boolean): void {
    this.mode = { kind: 'bdat', remaining, last };
  }

  private bdatBytes(bytes: Buffer): void {
    const tx = this.tx;
    if (!tx || tx.bdatFailed || !tx.sink || bytes.length === 0) return;
    tx.bdat!.scan(bytes);
    tx.bdatSize += bytes.length;
    if (tx.bdatSize > this.limits.maxMessageBytes) {
      tx.bdatFailed = replies.tooBig(this.limits.maxMessageBytes);
      return;
    }
    tx.sink.write(Buffer.from(bytes));
  }

  private async finishBdatChunk(last: boolean): Promise<Reply> {
    const tx = this.tx;
    if (!tx || !tx.sink) {
      // RFC 3030 §2: a BDAT that failed its checks still had its data read; report the failure now.
      const failure = tx?.bdatFailed ?? replies.badSequence('No valid transaction for BDAT');
      if (tx) this.resetTransaction();
      return this.countError(failure, 'BDAT');
    }
    if (!last) {
      if (tx.bdatFailed) return replies.ok; // refused at LAST; the client may keep sending
      return reply(250, '2.0.0', `${tx.bdatSize} octets received`);
    }
    const bare = tx.bdat!.finish();
    const failure = tx.bdatFailed ?? (bare ? replies.bareLineEnding : null);
    return this.commit(tx, tx.bdatSize, failure);
  }

  private async finishData(decoder: DataDecoder): Promise<Reply> {
    const tx = this.tx!;
    const r = decoder.outcome;
    const failure = r.tooBig ? replies.tooBig(this.limits.maxMessageBytes) : r.bareLineEnding ? replies.bareLineEnding : r.lineTooLong ? replies.dataLineTooLong(this.limits.textLineBytes) : null;
    return this.commit(tx, r.size, failure);
  }

  /** The one place a message is acknowledged: 250 only after the sink committed it durably. */
  private async commit(tx: Transaction, size: number, failure: Reply | null): Promise<Reply> {
    const sink = tx.sink!;
    tx.sink = null;
    this.tx = null;
    let result: Reply;
    if (failure) {
      sink.abort();
      result = this.countError(failure, 'DATA');
    } else {
      const verdict = await this.safeVerdict(() => sink.commit());
      result = verdict.ok ? reply(250, '2.0.0', verdict.text ?? `Ok: queued as ${tx.id}`) : reply(verdict.code, verdict.enhancedCode, verdict.text);
    }
    const envelope: Envelope = { ...this.info(), transactionId: tx.id, reversePath: tx.reversePath, mailParams: tx.params, recipients: tx.recipients, protocol: this.protocolWord() };
    this.options.hooks.onTransaction?.({ envelope, size, code: result.code, enhancedCode: result.enhancedCode, text: result.lines.join(' ') });
    return result;
  }

  hooks(): SmtpServerHooks {
    return this.options.hooks;
  }

  tlsOffered(): boolean {
    return this.options.tlsAvailable;
  }

  /** BDAT without MAIL: a transaction that only exists to swallow the chunk and fail it. */
  newTransactionForFailedBdat(): void {
    this.newTransaction(null, { size: null, body: null, smtpUtf8: false, ret: null, envid: null });
    this.tx!.bdatFailed = replies.badSequence('Need MAIL command');
  }

  /** A zero-length BDAT chunk has no bytes to wait for: answer at once. */
  async finishEmptyBdat(last: boolean): Promise<Step> {
    this.mode = { kind: 'command' };
    return { reply: await this.finishBdatChunk(last) };
  }

  newTransaction(reversePath: Mailbox | null, params: MailParams): void {
    this.tx = { id: this.options.newTransactionId(), reversePath, params, recipients: [], sink: null, bdat: null, bdatSize: 0, bdatFailed: null };
  }

  startAuth(exchange: SaslExchange): void {
    this.mode = { kind: 'auth', exchange, pendingIdentity: null };
  }

  async saslStep(exchange: SaslExchange, response: Buffer | null): Promise<Step> {
    let step;
    try {
      step = await exchange.step(response);
    } catch {
      step = { kind: 'failure' as const, reason: 'temporary' as const };
    }
    if (step.kind === 'challenge') {
      this.mode = { kind: 'auth', exchange, pendingIdentity: null };
      return { reply: reply(334, null, step.data.toString('base64')) };
    }
    if (step.kind === 'success') {
      if (step.serverFinal) {
        // RFC 4954 §4: server-final data goes in a 334; the client answers with an empty line.
        this.mode = { kind: 'auth', exchange, pendingIdentity: step.identity };
        return { reply: reply(334, null, step.serverFinal.toString('base64')) };
      }
      this.mode = { kind: 'command' };
      this.identity = step.identity;
      return { reply: replies.authOk };
    }
    this.mode = { kind: 'command' };
    switch (step.reason) {
      case 'invalid-credentials':
        return { reply: this.countError(replies.authFailed, 'AUTH') };
      case 'throttled':
        return { reply: replies.authThrottled };
      case 'temporary':
        return { reply: replies.authTemporary };
      case 'cancelled':
        return { reply: replies.authCancelled };
      case 'malformed':
        return { reply: this.countError(replies.authMalformed, 'AUTH') };
    }
  }

  private async authResponse(mode: Extract<Mode, { kind: 'auth' }>, line: string): Promise<Step> {
    if (line === '*') {
      this.mode = { kind: 'command' };
      return { reply: replies.authCancelled };
    }
    if (mode.pendingIdentity) {
      this.mode = { kind: 'command' };
      if (line !== '') return { reply: this.countError(replies.authMalformed, 'AUTH') };
      this.identity = mode.pendingIdentity;
      return { reply: replies.authOk };
    }
    const decoded = decodeBase64(line);
    if (!decoded) {
      this.mode = { kind: 'command' };
      return { reply: this.countError(replies.authMalformed, 'AUTH') };
    }
    return this.saslStep(mode.exchange, decoded);
  }
}

/** Strict base64 (RFC 4954 §4): anything else is malformed. */
export function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

// ---- the command table ----

type Verb = 'EHLO' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA' | 'BDAT' | 'RSET' | 'NOOP' | 'QUIT' | 'VRFY' | 'EXPN' | 'HELP' | 'STARTTLS' | 'AUTH';

function greet(esmtp: boolean): CommandHandler {
  return async (s, args) => {
    const domain = args.trim();
    // RFC 5321 §4.1.1.1: a domain or an address literal.
    if (!domain || domain.includes(' ') || !isValidDomain(domain)) return { reply: replies.syntax(esmtp ? 'Syntax: EHLO hostname' : 'Syntax: HELO hostname') };
    s.resetTransaction();
    s.helo = domain;
    s.esmtp = esmtp;
    return { reply: esmtp ? s.ehloReply() : reply(250, null, `${s.hostname} greets ${domain}`) };
  };
}

const COMMANDS: Record<Verb, CommandSpec> = {
  EHLO: { syntax: 'EHLO hostname', handle: greet(true) },
  HELO: { syntax: 'HELO hostname', handle: greet(false) },
  MAIL: {
    syntax: 'MAIL FROM:<address> [parameters]',
    async handle(s, args) {
      if (!s.helo) return { reply: replies.badSequence('Send EHLO/HELO first') };
      if (s.tx) return { reply: replies.badSequence('Nested MAIL command') };
      // RFC 6409 §4.3 / RFC 4954 §6: submission requires authentication.
      if (s.info().role === 'submission' && !s.identity) return { reply: replies.authRequired };
      const parsed = parsePathArgument(args, 'FROM');
      if (!parsed.ok) return { reply: parsed.reply };
      const params = readMailParams(parsed.params, s.limits.maxMessageBytes);
      if ('code' in params) return { reply: params };
      if (parsed.path && !parsed.path.isAscii && !params.smtpUtf8) return { reply: replies.needsSmtpUtf8 };
      const verdict = await s.safeVerdict(() => s.hooks().checkMailFrom(s.info(), parsed.path, params));
      if (!verdict.ok) return { reply: reply(verdict.code, verdict.enhancedCode, verdict.text) };
      s.newTransaction(parsed.path, params);
      return { reply: replies.senderOk };
    },
  },
  RCPT: {
    syntax: 'RCPT TO:<address> [parameters]',
    async handle(s, args) {
      const tx = s.tx;
      if (!tx) return { reply: replies.badSequence('Need MAIL before RCPT') };
      if (tx.sink) return { reply: replies.badSequence('RCPT during message data') };
      const parsed = parsePathArgument(args, 'TO');
      if (!parsed.ok) return { reply: parsed.reply };
      const mailbox = parsed.path!;
      if (!mailbox.isAscii && !tx.params.smtpUtf8) return { reply: replies.needsSmtpUtf8 };
      const params = readRcptParams(parsed.params);
      if ('code' in params) return { reply: params };
      // RFC 5321 §4.5.3.1.8: at least 100 must be accepted; beyond our limit 452 (§4.5.3.1.10).
      if (tx.recipients.length >= s.limits.maxRecipients) return { reply: replies.tooManyRecipients };
      const verdict = await s.safeVerdict(() => s.hooks().checkRcptTo({ ...s.info(), reversePath: tx.reversePath, recipientCount: tx.recipients.length }, mailbox, params));
      if (!verdict.ok) return { reply: reply(verdict.code, verdict.enhancedCode, verdict.text) };
      if (s.tx !== tx) return { reply: replies.badSequence() };
      tx.recipients.push({ mailbox, params });
      return { reply: replies.recipientOk };
    },
  },
  DATA: {
    syntax: 'DATA',
    async handle(s, args) {
      if (args.trim() !== '') return { reply: replies.syntax('DATA takes no arguments') };
      const tx = s.tx;
      if (!tx) return { reply: replies.badSequence('Need MAIL command') };
      if (tx.bdat) return { reply: replies.badSequence('DATA not allowed after BDAT') };
      if (tx.recipients.length === 0) return { reply: replies.noValidRecipients };
      const sink = await s.openSink();
      if ('code' in sink) return { reply: sink };
      tx.sink = sink;
      s.beginData();
      return { reply: replies.startData };
    },
  },
  BDAT: {
    syntax: 'BDAT size [LAST]',
    async handle(s, args) {
      const m = /^(\d{1,15})( +LAST)? *$/i.exec(args);
      if (!m) return { reply: replies.syntax('Syntax: BDAT size [LAST]') };
      const size = Number(m[1]);
      const last = m[2] !== undefined;
      const tx = s.tx;
      // RFC 3030 §2: even when refused, the chunk's octets must be read; the reply comes after them.
      if (!tx || tx.recipients.length === 0) {
        if (tx) tx.bdatFailed = tx.bdatFailed ?? replies.noValidRecipients;
        else s.newTransactionForFailedBdat();
        s.beginBdat(size, last);
        return size === 0 ? s.finishEmptyBdat(last) : { reply: null };
      }
      if (!tx.sink) {
        const sink = await s.openSink();
        if ('code' in sink) {
          tx.bdatFailed = sink;
          s.beginBdat(size, last);
          return size === 0 ? s.finishEmptyBdat(last) : { reply: null };
        }
        tx.sink = sink;
        tx.bdat = new BareLineEndingScanner();
      }
      s.beginBdat(size, last);
      return size === 0 ? s.finishEmptyBdat(last) : { reply: null };
    },
  },
  RSET: {
    syntax: 'RSET',
    async handle(s) {
      s.resetTransaction();
      return { reply: replies.ok };
    },
  },
  NOOP: { syntax: 'NOOP', handle: async () => ({ reply: replies.ok }) },
  QUIT: {
    syntax: 'QUIT',
    async handle(s) {
      s.resetTransaction();
      return { reply: replies.bye(s.hostname), then: 'close' };
    },
  },
  // RFC 5321 §3.5.3: 252 instead of revealing whether a user exists.
  VRFY: { syntax: 'VRFY string', handle: async () => ({ reply: replies.vrfy }) },
  EXPN: { syntax: 'EXPN string', handle: async () => ({ reply: replies.expn }) },
  HELP: { syntax: 'HELP', handle: async () => ({ reply: replies.help }) },
  STARTTLS: {
    syntax: 'STARTTLS',
    async handle(s, args) {
      if (args.trim() !== '') return { reply: replies.syntax('STARTTLS takes no arguments') };
      if (s.tls) return { reply: replies.badSequence('TLS already active') };
      if (!s.tlsOffered()) return { reply: replies.notImplemented('STARTTLS not available') };
      if (s.tx) return { reply: replies.badSequence('STARTTLS not allowed during a transaction') };
      return { reply: replies.readyTls, then: 'starttls' };
    },
  },
  AUTH: {
    syntax: 'AUTH mechanism [initial-response]',
    async handle(s, args) {
      const sasl = s.hooks().sasl;
      if (!sasl || !s.esmtp) return { reply: replies.badSequence('Send EHLO first') };
      if (s.identity) return { reply: replies.alreadyAuthenticated };
      if (s.tx) return { reply: replies.badSequence('AUTH not allowed during a transaction') };
      const [mechanismRaw, initial, extra] = args.split(' ');
      if (!mechanismRaw || extra !== undefined) return { reply: replies.syntax('Syntax: AUTH mechanism [initial-response]') };
      const mechanism = mechanismRaw.toUpperCase();
      const context = { protocol: 'smtp' as const, remoteAddress: s.info().remoteAddress, isTls: s.tls !== null };
      const offered = sasl.mechanisms(context);
      if (!offered.includes(mechanism)) {
        // RFC 4954 §4: 538 when the mechanism exists but needs an encrypted connection.
        if (!s.tls && ['PLAIN', 'LOGIN', 'SCRAM-SHA-256'].includes(mechanism)) return { reply: replies.encryptionRequired };
        return { reply: replies.mechanismUnknown };
      }
      const exchange = sasl.start(mechanism, context);
      if (!exchange) return { reply: replies.mechanismUnknown };
      let response: Buffer | null = null;
      if (initial !== undefined) {
        if (initial === '=') response = Buffer.alloc(0);
        else {
          const decoded = decodeBase64(initial);
          if (!decoded) return { reply: replies.authMalformed };
          response = decoded;
        }
      }
      s.startAuth(exchange);
      return s.saslStep(exchange, response);
    },
  },
};

