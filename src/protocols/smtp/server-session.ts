/**
 * The SMTP server engine (RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, CHUNKING, DSN, STARTTLS, AUTH):
 * pure bytes in, replies out. It splits command lines, runs the command table, reads DATA/BDAT bytes into
 * the app's MessageSink, and acknowledges a message only after the sink's commit resolved.
 */
import type { EngineOutput, StreamEngine, TlsInfo } from '../engine.ts';
import type { AuthIdentity, SaslContext } from '../sasl/types.ts';
import { continueAuth } from './commands/auth.ts';
import { envelopeOf } from './commands/data.ts';
import { COMMANDS, isVerb } from './commands/table.ts';
import type { GuardedSink } from './guarded-sink.ts';
import type { SessionInfo } from './hooks.ts';
import { formatReply, reply, replies, type Reply } from './reply.ts';
import {
  DEFAULT_SMTP_LIMITS,
  type Greeting,
  type SessionCore,
  type SmtpServerLimits,
  type SmtpServerOptions,
  type SmtpState,
  type Transaction,
} from './session-state.ts';

type DataState = Extract<SmtpState, { phase: 'data' }>;
type BdatState = Extract<SmtpState, { phase: 'bdat' }>;

const internalError = reply(421, '4.3.0', 'Local error in processing, closing connection');

export class SmtpServerSession implements StreamEngine, SessionCore {
  readonly options: SmtpServerOptions;
  readonly limits: SmtpServerLimits;
  state: SmtpState = { phase: 'fresh' };
  greeting: Greeting | null = null;
  private authIdentity: AuthIdentity | null = null;
  private unwatchLogin: (() => void) | null = null;
  /** A receive() is running: a revocation waits for the end of its commands (a 250 is never cut off). */
  private receiving = false;
  /** The login stopped being valid while a command ran: this reply ends the session after it. */
  private revoked: Reply | null = null;
  private tlsInfo: TlsInfo | null;
  /** A partial command line (never more than the longest allowed line). */
  private pending: Buffer | null = null;
  /** The current command line is over the limit: drop it up to its LF, then answer 500 5.5.2. */
  private discardingLine = false;
  private errors = 0;
  private transactions = 0;
  private out: string[] = [];
  private step: 'starttls' | 'close' | null = null;
  /** The verb being handled, for the protocol-error log. */
  private verb = '';

  constructor(options: SmtpServerOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_SMTP_LIMITS, ...options.limits };
    this.tlsInfo = options.context.tls;
  }

  get tls(): TlsInfo | null {
    return this.tlsInfo;
  }

  get identity(): AuthIdentity | null {
    return this.authIdentity;
  }

  /** Set at AUTH success (watched from then on: the session ends if the login stops being valid), cleared by STARTTLS. */
  set identity(identity: AuthIdentity | null) {
    this.unwatchLogin?.();
    this.unwatchLogin = null;
    this.authIdentity = identity;
    const logins = this.options.hooks.logins;
    if (identity !== null && logins !== undefined) {
      this.unwatchLogin = logins.watch(identity, { protocol: 'smtp', sessionId: this.options.context.sessionId }, (reason) => this.revoke(reason));
    }
  }

  /**
   * The login stopped being valid (RFC 5321 §3.8: the server may close with 421 at any time): now when no
   * command is running, the transaction in progress is abandoned; otherwise right after the running
   * command's reply, and the commands pipelined behind it are not run.
   */
  revoke(reason: string): void {
    if (this.state.phase === 'closing' || this.revoked !== null) return;
    this.revoked = replies.loginRevoked(this.options.hostname, reason);
    if (this.receiving) return;
    this.resetTransaction();
    this.state = { phase: 'closing' };
    this.pending = null;
    const answer = this.revoked;
    this.revoked = null;
    this.options.context.push({ data: [formatReply(answer)], then: 'close' });
  }

  get idleTimeoutMs(): number {
    const phase = this.state.phase;
    if (phase === 'data' || phase === 'bdat') return this.limits.dataTimeoutMs;
    if (this.options.role === 'submission' && this.identity === null) return Math.min(this.limits.loginTimeoutMs, this.limits.commandTimeoutMs);
    return this.limits.commandTimeoutMs;
  }

  get anonymous(): boolean {
    const phase = this.state.phase;
    return this.identity === null && (phase === 'fresh' || phase === 'greeted');
  }

  async start(): Promise<EngineOutput> {
    const check = this.options.hooks.checkConnection;
    if (check) {
      const verdict = await this.ask('checkConnection', () => check(this.info()));
      // A hook that threw: the greeting may only be 220, 554 or 421 (RFC 5321 §4.3.2), so not the usual 451.
      const refusal = 'lines' in verdict ? internalError : verdict.ok ? null : reply(verdict.code, verdict.enhancedCode, verdict.text);
      if (refusal) {
        // RFC 5321 §3.1: a 554 (or 421) greeting refuses the session; we close right after it.
        this.state = { phase: 'closing' };
        return { data: [formatReply(refusal)], then: 'close' };
      }
    }
    return { data: [formatReply(replies.greeting(this.options.hostname))] };
  }

  async receive(chunk: Buffer): Promise<EngineOutput> {
    this.out = [];
    this.step = null;
    this.receiving = true;
    try {
      await this.consume(chunk);
    } catch (err) {
      this.report('engine', err);
      this.resetTransaction();
      this.state = { phase: 'closing' };
      this.send(internalError);
      this.step = 'close';
    } finally {
      this.receiving = false;
    }
    if (this.revoked !== null && this.step !== 'close') {
      this.resetTransaction();
      this.state = { phase: 'closing' };
      this.send(this.revoked);
      this.step = 'close';
    }
    this.revoked = null;
    if (this.step !== null) {
      // RFC 3207 §4.2 / CVE-2011-0411: nothing pipelined after STARTTLS (or QUIT) is kept.
      this.pending = null;
      this.discardingLine = false;
    }
    const output: EngineOutput = { data: this.out.length > 0 ? [this.out.join('')] : [] };
    if (this.step) output.then = this.step;
    this.out = [];
    return output;
  }

  private async consume(chunk: Buffer): Promise<void> {
    if (this.state.phase === 'closing') return;
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let pos = 0;
    // RFC 2920 §3.1: every complete command in the chunk is handled, in order, replies go out together.
    while (pos < buf.length && this.step === null && this.revoked === null) {
      const state = this.state;
      if (state.phase === 'data') {
        // Mid-message chunks are handled synchronously (no promise per chunk); only the end awaits.
        const next = this.feedData(state, buf, pos);
        pos = typeof next === 'number' ? next : await next;
        continue;
      }
      if (state.phase === 'bdat') {
        pos = await this.feedBdat(state, buf, pos);
        continue;
      }
      if ((state.phase as SmtpState['phase']) === 'closing') return;
      const lf = buf.indexOf(0x0a, pos);
      if (lf < 0) {
        this.holdPartialLine(buf.subarray(pos));
        return;
      }
      // Command lines may end in a bare LF (lenient, like most servers); only DATA is strict.
      const end = lf > pos && buf[lf - 1] === 0x0d ? lf - 1 : lf;
      const line = buf.subarray(pos, end);
      pos = lf + 1;
      if (this.discardingLine) {
        this.discardingLine = false;
        // An over-long SASL response ends the exchange too, or the next command would be taken as one.
        if (this.state.phase === 'auth') this.state = { phase: 'greeted' };
        this.send(replies.lineTooLong);
      } else {
        await this.handleLine(line);
      }
      this.checkErrors();
    }
  }

  private holdPartialLine(rest: Buffer): void {
    if (this.discardingLine || rest.length === 0) return;
    if (rest.length > Math.max(this.limits.commandLineBytes, this.limits.authLineBytes)) {
      this.discardingLine = true;
      return;
    }
    this.pending = Buffer.from(rest); // a copy: the chunk itself is not kept alive by a few bytes
  }

  private async handleLine(raw: Buffer): Promise<void> {
    const inAuth = this.state.phase === 'auth';
    const isAuthCommand = raw.length >= 5 && raw.subarray(0, 5).toString('latin1').toUpperCase() === 'AUTH ';
    // RFC 5321 §4.5.3.1.4: 512 octets with CRLF; RFC 4954 §4: AUTH lines may be up to 12288.
    const limit = inAuth || isAuthCommand ? this.limits.authLineBytes : this.limits.commandLineBytes;
    if (raw.length + 2 > limit) {
      if (inAuth) this.state = { phase: 'greeted' };
      return this.send(replies.lineTooLong);
    }
    const line = raw.toString('utf8');
    if (inAuth) return continueAuth(this, line);
    const space = line.indexOf(' ');
    const word = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? '' : line.slice(space + 1);
    this.verb = isVerb(word) ? word : 'unknown';
    if (!isVerb(word)) return this.send(replies.unknownCommand);
    const spec = COMMANDS[word];
    const phase = this.state.phase;
    if (!spec.phases.includes(phase)) return this.send(phase === 'fresh' ? replies.sendHeloFirst : spec.reject);
    await spec.handle(this, args);
    const after = this.state;
    // BDAT 0: no bytes follow, the chunk is complete at once.
    if (after.phase === 'bdat' && after.remaining === 0) await this.endChunk(after);
  }

  private checkErrors(): void {
    if (this.errors > this.limits.maxErrors && this.step === null && this.state.phase !== 'closing') {
      this.resetTransaction();
      this.state = { phase: 'closing' };
      this.send(replies.tooManyErrors);
      this.step = 'close';
    }
  }

  /** DATA bytes: the decoder finds <CRLF>.<CRLF> and unstuffs; the rest of the chunk is commands again. */
  private feedData(state: DataState, buf: Buffer, pos: number): number | Promise<number> {
    const consumed = state.decoder.feed(pos === 0 ? buf : buf.subarray(pos));
    // Over the size limit: stop storing now, keep reading to the end of data, refuse there.
    if (state.decoder.outcome.tooBig) state.sink.abort();
    if (consumed < 0) return buf.length;
    return this.endData(state, pos + consumed);
  }

  /** The end of data was found: refuse or commit the message; returns where the next command starts. */
  private async endData(state: DataState, next: number): Promise<number> {
    const outcome = state.decoder.outcome;
    const { tx, sink } = state;
    if (outcome.tooBig) this.refuseMessage(tx, sink, outcome.size, replies.tooBig(this.limits.maxMessageBytes));
    // RFC 5321 §2.3.8: bare CR or LF is refused (SMTP smuggling); the message never ended early.
    else if (outcome.bareLineEnding) this.refuseMessage(tx, sink, outcome.size, replies.bareLineEnding);
    else if (outcome.lineTooLong) this.refuseMessage(tx, sink, outcome.size, replies.dataLineTooLong(this.limits.textLineBytes));
    else await this.commitMessage(tx, sink, outcome.size);
    this.checkErrors();
    return next;
  }

  /** BDAT bytes: exactly the announced count, taken as they are (RFC 3030 §2). */
  private async feedBdat(state: BdatState, buf: Buffer, pos: number): Promise<number> {
    const take = Math.min(state.remaining, buf.length - pos);
    if (take > 0) {
      const piece = buf.subarray(pos, pos + take);
      state.remaining -= take;
      const chunking = state.tx?.chunking;
      if (chunking && state.refusal === null) {
        chunking.size += take;
        if (chunking.size > this.limits.maxMessageBytes) {
          // RFC 3030 §2 / RFC 1870: too big; the transaction fails, the bytes are still read.
          state.refusal = replies.tooBig(this.limits.maxMessageBytes);
          chunking.sink.abort();
        } else {
          chunking.scanner.scan(piece);
          chunking.sink.write(piece);
        }
      }
    }
    if (state.remaining === 0) {
      await this.endChunk(state);
      this.checkErrors();
    }
    return pos + take;
  }

  private async endChunk(state: BdatState): Promise<void> {
    const { tx } = state;
    if (state.refusal || !tx || !tx.chunking) {
      const refusal = state.refusal ?? replies.needMail;
      this.verb = 'BDAT';
      if (tx?.chunking) return this.refuseMessage(tx, tx.chunking.sink, tx.chunking.size, refusal);
      this.state = { phase: state.resume };
      return this.send(refusal);
    }
    const chunking = tx.chunking;
    if (!state.last) {
      this.state = { phase: 'mail', tx };
      return this.send(replies.chunkOk(state.octets));
    }
    // No BINARYMIME: a bare CR or LF anywhere refuses the message at BDAT LAST (RFC 5321 §2.3.8).
    if (chunking.scanner.finish()) return this.refuseMessage(tx, chunking.sink, chunking.size, replies.bareLineEnding);
    return this.commitMessage(tx, chunking.sink, chunking.size);
  }

  // ---- SessionCore: what the command handlers use ----

  info(greeting: Greeting | null = this.greeting): SessionInfo {
    const { context, role } = this.options;
    return {
      sessionId: context.sessionId,
      role,
      remoteAddress: context.remoteAddress,
      helo: greeting?.helo ?? null,
      esmtp: greeting?.esmtp ?? false,
      tls: this.tlsInfo,
      identity: this.identity,
    };
  }

  saslContext(): SaslContext {
    return { protocol: 'smtp', remoteAddress: this.options.context.remoteAddress, isTls: this.tlsInfo !== null };
  }

  newTransactionId(): string {
    if (this.options.newTransactionId) return this.options.newTransactionId();
    this.transactions++;
    return `${this.options.context.sessionId}.${this.transactions}`;
  }

  send(r: Reply): void {
    // RFC 5321 §4.5.3.1.10: 452 for recipients over the limit asks the client to send them in another
    // transaction; it is flow control, not a client error, so it does not count towards maxErrors.
    if (r.code >= 400 && r.code !== 421 && r !== replies.tooManyRecipients) {
      this.errors++;
      this.options.hooks.onProtocolError?.(this.info(), { command: this.verb, code: r.code, enhancedCode: r.enhancedCode });
    }
    this.out.push(formatReply(r));
  }

  finish(step: 'starttls' | 'close'): void {
    this.step = step;
  }

  resetTransaction(): void {
    const state = this.state;
    switch (state.phase) {
      case 'mail':
        state.tx.chunking?.sink.abort();
        this.endTransaction(state.tx, false);
        break;
      case 'data':
        state.sink.abort();
        // A client gone while its message commits does not end the transaction: the commit's outcome
        // does, reported by finishTransaction (the message may well be stored).
        if (!state.tx.committing) this.endTransaction(state.tx, false);
        break;
      case 'bdat':
        state.tx?.chunking?.sink.abort();
        if (state.tx && !state.tx.committing) this.endTransaction(state.tx, false);
        break;
      default:
        return;
    }
    this.state = { phase: 'greeted' };
  }

  /** Tells the app a transaction is over (once: the state leaves the transaction right after). */
  private endTransaction(tx: Transaction, accepted: boolean): void {
    const end = this.options.hooks.endTransaction;
    if (!end) return;
    try {
      end(this.info(), { transactionId: tx.id, accepted });
    } catch (err) {
      this.report('endTransaction', err);
    }
  }

  async ask<T>(what: string, run: () => Promise<T>): Promise<T | Reply> {
    try {
      return await run();
    } catch (err) {
      this.report(what, err);
      return replies.localError;
    }
  }

  /** RFC 5321 §4.1.1.4 / §6.1: the only place a message is acknowledged, after the sink committed it. */
  async commitMessage(tx: Transaction, sink: GuardedSink, size: number): Promise<void> {
    let answer: Reply;
    if (sink.failed) {
      sink.abort();
      answer = replies.storageFailure;
    } else {
      try {
        tx.committing = true;
        const verdict = await sink.commit();
        if (verdict.ok) answer = verdict.text ? reply(250, '2.0.0', verdict.text) : replies.queued(tx.id);
        else answer = reply(verdict.code, verdict.enhancedCode, verdict.text);
      } catch (err) {
        this.report('sink.commit', err);
        answer = replies.storageFailure;
      }
    }
    this.finishTransaction(tx, size, answer);
  }

  refuseMessage(tx: Transaction, sink: GuardedSink, size: number, answer: Reply): void {
    sink.abort();
    this.finishTransaction(tx, size, answer);
  }

  private finishTransaction(tx: Transaction, size: number, answer: Reply): void {
    this.verb = tx.chunking ? 'BDAT' : 'DATA';
    this.endTransaction(tx, answer.code >= 200 && answer.code < 300);
    const onTransaction = this.options.hooks.onTransaction;
    if (onTransaction) {
      try {
        onTransaction({ envelope: envelopeOf(this, tx), size, code: answer.code, enhancedCode: answer.enhancedCode, text: answer.lines.join(' ') });
      } catch (err) {
        this.report('onTransaction', err);
      }
    }
    this.state = { phase: 'greeted' };
    this.send(answer);
  }

  report(where: string, err: unknown): void {
    try {
      this.options.hooks.onInternalError?.(this.info(), where, err);
    } catch {
      // The reporter itself failed; there is nowhere left to tell.
    }
  }

  // ---- the rest of StreamEngine ----

  tlsStarted(info: TlsInfo): void {
    // RFC 3207 §4.2: forget everything learned before TLS; the client must EHLO again.
    this.tlsInfo = info;
    this.greeting = null;
    this.identity = null;
    this.state = { phase: 'fresh' };
    this.pending = null;
    this.discardingLine = false;
  }

  idleTimeout(): EngineOutput {
    this.resetTransaction();
    this.state = { phase: 'closing' };
    return { data: [formatReply(replies.timeout(this.options.hostname))], then: 'close' };
  }

  shutdown(): EngineOutput {
    this.resetTransaction();
    this.state = { phase: 'closing' };
    return { data: [formatReply(replies.shuttingDown(this.options.hostname))], then: 'close' };
  }

  closed(): void {
    this.resetTransaction();
    this.state = { phase: 'closing' };
    this.pending = null;
    this.unwatchLogin?.();
    this.unwatchLogin = null;
  }
}
