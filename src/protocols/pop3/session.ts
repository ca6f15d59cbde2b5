/**
 * The POP3 server engine (RFC 1939, RFC 2449, RFC 2595, RFC 5034): bytes in, replies out. It frames
 * lines, dispatches through the command table, and owns the maildrop lock for the life of the session.
 */
import type { Logger } from '../../core/log.ts';
import type { EngineContext, EngineOutput, OutputPart, StreamEngine, TlsInfo } from '../engine.ts';
import type { AuthIdentity, LoginWatcher, SaslAuthenticator, SaslContext } from '../sasl/types.ts';
import { handleSaslResponse } from './auth.ts';
import type { Pop3Backend } from './backend.ts';
import { COMMANDS, isPop3Verb } from './commands.ts';
import { LineReader, type LineItem } from './line-reader.ts';
import { err, errorReply, ok, type CommandResult, type Pop3Runtime, type Pop3State } from './state.ts';

export interface Pop3Limits {
  /**
   * Longest accepted line, CRLF included. RFC 2449 §4 limits commands to 255 octets, but SASL responses
   * (RFC 5034 §4) and long addresses or passwords exceed that, so we accept more by default.
   */
  lineBytes: number;
  /** Bad commands and failed logins before the connection is closed. */
  maxErrors: number;
}

export const DEFAULT_POP3_LIMITS: Pop3Limits = { lineBytes: 1024, maxErrors: 20 };

/** RFC 1939 §3: the autologout timer is at least 10 minutes. */
export const DEFAULT_POP3_IDLE_TIMEOUT_MS = 10 * 60 * 1000;

export interface Pop3SessionOptions {
  context: EngineContext;
  hostname: string;
  backend: Pop3Backend;
  sasl: SaslAuthenticator;
  /** STLS may be offered (a certificate is configured and this is not an implicit-TLS port). */
  starttlsAvailable: boolean;
  /** Allow USER/PASS and plaintext SASL mechanisms without TLS (e.g. on loopback). */
  allowPlaintextAuth: boolean;
  limits?: Partial<Pop3Limits>;
  idleTimeoutMs?: number;
  /** Idle time allowed before login (AUTHORIZATION state); default: idleTimeoutMs. */
  loginTimeoutMs?: number;
  logger?: Logger;
  /** Ends the session when its login stops being valid (account removed or disabled, password changed). */
  logins?: LoginWatcher;
}

const PLAINTEXT_MECHANISMS = new Set(['PLAIN', 'LOGIN']);

export class Pop3Session implements StreamEngine, Pop3Runtime {
  state: Pop3State = { phase: 'authorization', user: null };
  readonly hostname: string;
  readonly starttlsAvailable: boolean;
  readonly backend: Pop3Backend;
  readonly sasl: SaslAuthenticator;
  readonly logger: Logger | undefined;
  private readonly sessionTimeoutMs: number;
  private readonly loginTimeoutMs: number;
  private readonly context: EngineContext;
  private readonly allowPlaintextAuth: boolean;
  private readonly limits: Pop3Limits;
  private readonly reader: LineReader;
  private tls: TlsInfo | null;
  private errors = 0;
  private readonly logins: LoginWatcher | undefined;
  private unwatchLogin: (() => void) | null = null;

  constructor(options: Pop3SessionOptions) {
    this.context = options.context;
    this.hostname = options.hostname;
    this.backend = options.backend;
    this.sasl = options.sasl;
    this.starttlsAvailable = options.starttlsAvailable;
    this.allowPlaintextAuth = options.allowPlaintextAuth;
    this.limits = { ...DEFAULT_POP3_LIMITS, ...options.limits };
    this.sessionTimeoutMs = options.idleTimeoutMs ?? DEFAULT_POP3_IDLE_TIMEOUT_MS;
    this.loginTimeoutMs = Math.min(options.loginTimeoutMs ?? this.sessionTimeoutMs, this.sessionTimeoutMs);
    this.logger = options.logger;
    this.logins = options.logins;
    this.tls = options.context.tls;
    this.reader = new LineReader(this.limits.lineBytes);
  }

  /** RFC 1939 §3 asks for 10 minutes of autologout; before login the wait is shorter (idle connection floods). */
  get idleTimeoutMs(): number {
    return this.state.phase === 'authorization' || this.state.phase === 'sasl' ? this.loginTimeoutMs : this.sessionTimeoutMs;
  }

  get anonymous(): boolean {
    return this.state.phase === 'authorization';
  }

  get isTls(): boolean {
    return this.tls !== null;
  }

  get canPlaintextAuth(): boolean {
    return this.isTls || this.allowPlaintextAuth;
  }

  saslContext(): SaslContext {
    return { protocol: 'pop3', remoteAddress: this.context.remoteAddress, isTls: this.isTls };
  }

  mechanisms(): string[] {
    const offered = this.sasl.mechanisms(this.saslContext());
    return this.canPlaintextAuth ? offered : offered.filter((mechanism) => !PLAINTEXT_MECHANISMS.has(mechanism));
  }

  watchLogin(identity: AuthIdentity): void {
    this.unwatchLogin?.();
    this.unwatchLogin = this.logins?.watch(identity, { protocol: 'pop3', sessionId: this.context.sessionId }, (reason) => this.revoke(reason)) ?? null;
  }

  /**
   * The login stopped being valid: `-ERR [AUTH]` and close, without entering UPDATE, so messages marked
   * with DELE stay (RFC 1939 §6). A QUIT already being carried out finishes.
   */
  revoke(reason: string): void {
    if (this.state.phase !== 'transaction') return;
    this.releaseMaildrop();
    this.context.push({ data: [err(`Session ended: ${reason}`, 'AUTH')], then: 'close' });
  }

  async start(): Promise<EngineOutput> {
    // No APOP timestamp: APOP needs clear-text passwords on the server, which we never store.
    return { data: [ok(`${this.hostname} POP3 server ready`)] };
  }

  async receive(chunk: Buffer): Promise<EngineOutput> {
    const data: OutputPart[] = [];
    if (this.state.phase === 'update' || this.state.phase === 'closed') return { data };
    // RFC 2449 §6.6 PIPELINING: every complete line is answered, in order.
    for (const item of this.reader.push(chunk)) {
      const result = await this.handleItem(item);
      data.push(...result.data);
      if (result.isError && ++this.errors >= this.limits.maxErrors) {
        this.logger?.info({ event: 'pop3.too_many_errors', session: this.context.sessionId }, 'closing after too many errors');
        data.push(err('Too many errors, closing connection'));
        return this.finish(data, 'close');
      }
      if (result.then) return this.finish(data, result.then);
    }
    return { data };
  }

  tlsStarted(info: TlsInfo): void {
    this.tls = info;
    // RFC 2595 §4: everything learned before TLS is forgotten; the session starts over in AUTHORIZATION.
    this.reader.clear();
    this.state = { phase: 'authorization', user: null };
  }

  idleTimeout(): EngineOutput {
    // RFC 1939 §3: on autologout the server closes without a response and without entering UPDATE.
    this.releaseMaildrop();
    return { data: [], then: 'close' };
  }

  shutdown(): EngineOutput {
    this.releaseMaildrop();
    return { data: [err('Server shutting down', 'SYS/TEMP')], then: 'close' };
  }

  closed(): void {
    // RFC 1939 §6: a connection lost in TRANSACTION removes nothing; the lock is released.
    this.releaseMaildrop();
  }

  private finish(data: OutputPart[], then: 'starttls' | 'close'): EngineOutput {
    // RFC 2595 §4: after STLS's +OK, anything the client pipelined is discarded (the driver drops its buffer too).
    this.reader.clear();
    if (then === 'close' && this.state.phase !== 'update') {
      this.releaseMaildrop();
      this.state = { phase: 'closed' };
    }
    return { data, then };
  }

  private releaseMaildrop(): void {
    this.unwatchLogin?.();
    this.unwatchLogin = null;
    const state = this.state;
    if (state.phase === 'transaction') {
      state.maildrop.release();
      this.state = { phase: 'closed' };
    } else if (state.phase === 'update' && !state.isStarted) {
      state.maildrop.release();
      this.state = { phase: 'closed' };
    }
  }

  private async handleItem(item: LineItem): Promise<CommandResult> {
    if (item.kind === 'too-long') {
      if (this.state.phase === 'sasl') this.state = { phase: 'authorization', user: null };
      return errorReply(`Line too long (limit ${this.limits.lineBytes} octets)`);
    }
    try {
      return await this.handleLine(item.line);
    } catch (error) {
      // Never throw out of the engine: an unexpected fault is logged and answered as our temporary fault.
      this.logger?.error({ event: 'pop3.internal_error', session: this.context.sessionId, err: error }, 'pop3 command failed');
      if (this.state.phase === 'sasl') this.state = { phase: 'authorization', user: null };
      return errorReply('Internal error, try again later', 'SYS/TEMP');
    }
  }

  private async handleLine(line: string): Promise<CommandResult> {
    const state = this.state;
    if (state.phase === 'sasl') return handleSaslResponse(this, line, state);
    // RFC 1939 §3: a case-insensitive keyword, then arguments separated by single spaces.
    const match = /^([A-Za-z]{1,8})(?: (.*))?$/.exec(line);
    if (!match) return errorReply('Unknown command');
    const verb = match[1].toUpperCase();
    if (!isPop3Verb(verb)) return errorReply('Unknown command');
    const spec = COMMANDS[verb];
    // PASS keeps its argument verbatim (spaces belong to the password); the others ignore trailing blanks.
    const args = verb === 'PASS' ? (match[2] ?? '') : (match[2] ?? '').trim();
    switch (state.phase) {
      case 'authorization':
        return spec.authorization ? spec.authorization(this, args, state) : errorReply(`${verb} is not valid before login`);
      case 'transaction':
        return spec.transaction ? spec.transaction(this, args, state) : errorReply(`${verb} is not valid after login`);
      case 'update':
      case 'closed':
        return { data: [] };
    }
  }
}
