/**
 * Test support for the SMTP server engine: a session with in-memory hooks and sink, a fake SASL
 * authenticator, and a `say()` that feeds text and returns the replies as one string.
 */
import type { EngineContext, EngineOutput, TlsInfo } from '../engine.ts';
import type { SaslAuthenticator, SaslStep } from '../sasl/types.ts';
import type { Envelope, MessageSink, SmtpServerHooks, TransactionRecord, Verdict } from './hooks.ts';
import { SmtpServerSession } from './server-session.ts';
import type { SmtpServerLimits, SmtpServerOptions } from './session-state.ts';

export interface RecordedMessage {
  envelope: Envelope;
  chunks: Buffer[];
  state: 'open' | 'committed' | 'aborted';
  readonly body: string;
}

/** PLAIN (user "alice", password "secret") and a two-step "TWOSTEP" mechanism; offered only under TLS. */
export function fakeSasl(options: { plaintextAllowed?: boolean; throttled?: boolean } = {}): SaslAuthenticator {
  const identity = { accountId: 1, address: 'alice@example.org' };
  return {
    mechanisms: (ctx) => (ctx.isTls || options.plaintextAllowed ? ['PLAIN', 'TWOSTEP'] : []),
    start(mechanism) {
      if (mechanism === 'PLAIN') {
        return {
          async step(response): Promise<SaslStep> {
            if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
            if (options.throttled) return { kind: 'failure', reason: 'throttled' };
            const [, user, pass] = response.toString('utf8').split('\0');
            return user === 'alice' && pass === 'secret' ? { kind: 'success', identity } : { kind: 'failure', reason: 'invalid-credentials' };
          },
        };
      }
      if (mechanism === 'TWOSTEP') {
        let round = 0;
        return {
          async step(response): Promise<SaslStep> {
            round++;
            if (round === 1) return { kind: 'challenge', data: Buffer.from('who?') };
            if (response?.toString() !== 'alice') return { kind: 'failure', reason: 'invalid-credentials' };
            return { kind: 'success', identity, serverFinal: Buffer.from('v=final') };
          },
        };
      }
      return null;
    },
    checkPassword: async () => ({ kind: 'failure', reason: 'invalid-credentials' }),
  };
}

export interface SmtpTestHarness {
  session: SmtpServerSession;
  messages: RecordedMessage[];
  transactions: TransactionRecord[];
  internalErrors: string[];
  /** Feeds text (or bytes) and returns all reply text produced. */
  say(input: string | Buffer): Promise<string>;
  sayFull(input: string | Buffer): Promise<EngineOutput>;
  start(): Promise<string>;
  startTls(): void;
}

export function outputText(output: EngineOutput): string {
  return output.data.map((p) => (typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('utf8') : '')).join('');
}

export function smtpHarness(
  options: {
    role?: 'mx' | 'submission';
    limits?: Partial<SmtpServerLimits>;
    hooks?: Partial<SmtpServerHooks>;
    tls?: TlsInfo | null;
    starttlsAvailable?: boolean;
    requireTlsForAuth?: boolean;
    commit?: (message: RecordedMessage) => Promise<Verdict>;
    sasl?: SaslAuthenticator | null;
  } = {},
): SmtpTestHarness {
  const messages: RecordedMessage[] = [];
  const transactions: TransactionRecord[] = [];
  const internalErrors: string[] = [];
  const hooks: SmtpServerHooks = {
    checkMailFrom: async () => ({ ok: true }),
    checkRcptTo: async (_info, forwardPath) =>
      forwardPath.localPart === 'nobody' ? { ok: false, code: 550, enhancedCode: '5.1.1', text: 'No such user here' } : { ok: true },
    async beginMessage(envelope): Promise<MessageSink> {
      const message: RecordedMessage = {
        envelope,
        chunks: [],
        state: 'open',
        get body() {
          return Buffer.concat(this.chunks).toString('utf8');
        },
      };
      messages.push(message);
      return {
        write(chunk) {
          if (message.state !== 'open') throw new Error(`write after ${message.state}`);
          message.chunks.push(Buffer.from(chunk));
        },
        async commit() {
          if (message.state !== 'open') throw new Error(`commit after ${message.state}`);
          const verdict = options.commit ? await options.commit(message) : { ok: true as const };
          message.state = 'committed';
          return verdict;
        },
        abort() {
          message.state = 'aborted';
        },
      };
    },
    onTransaction: (record) => transactions.push(record),
    onInternalError: (_info, where, err) => internalErrors.push(`${where}: ${err instanceof Error ? err.message : String(err)}`),
    ...(options.sasl === null ? {} : { sasl: options.sasl ?? fakeSasl() }),
    ...options.hooks,
  };
  const context: EngineContext = {
    sessionId: 'S1',
    remoteAddress: '192.0.2.7',
    tls: options.tls ?? null,
    push: () => undefined,
  };
  const sessionOptions: SmtpServerOptions = {
    context,
    hostname: 'mx.example.org',
    role: options.role ?? 'mx',
    hooks,
    limits: options.limits,
    starttlsAvailable: options.starttlsAvailable ?? true,
    requireTlsForAuth: options.requireTlsForAuth,
  };
  const session = new SmtpServerSession(sessionOptions);
  return {
    session,
    messages,
    transactions,
    internalErrors,
    async say(input) {
      return outputText(await session.receive(typeof input === 'string' ? Buffer.from(input, 'utf8') : input));
    },
    sayFull: (input) => session.receive(typeof input === 'string' ? Buffer.from(input, 'utf8') : input),
    async start() {
      return outputText(await session.start());
    },
    startTls() {
      session.tlsStarted({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' });
    },
  };
}
