/**
 * The IMAP4rev2/IMAP4rev1 server session (RFC 9051, RFC 3501): a pure StreamEngine fed bytes by the
 * connection driver. Owns framing, the state machine, dispatch through the command table, the
 * SASL/IDLE sub-modes and the reporting of other sessions' changes (RFC 9051 §7.5).
 */
import type { EngineOutput, OutputPart, StreamEngine, TlsInfo } from '../engine.ts';
import type { AuthIdentity, SaslContext } from '../sasl/types.ts';
import { ImapBackendError, type ImapAccount, type ImapAppendSink, type ImapChange } from './backend.ts';
import { COMMANDS } from './commands/index.ts';
import type { CommandContext, CommandResult, DeferredResult, StateKind } from './command.ts';
import { Args } from './parser/args.ts';
import { CommandFramer, tagOf, type CommandFrame, type LiteralAnnouncement, type LiteralDecision } from './parser/framer.ts';
import { ImapSyntaxError, tokenizeCommand } from './parser/tokenizer.ts';
import { formatTagged } from './response.ts';
import { holdInflight, type InflightBytes } from './budgeted-append.ts';
import { holdBinary } from './binary-append.ts';
import { handleSaslLine } from './commands/authenticate.ts';
import { handleIdleLine } from './commands/idle.ts';
import { refreshSearchUpdates } from './commands/search-updates.ts';
import { newMessageFetches, notifyLines } from './commands/notify.ts';
import type { NotifyState } from './notify-state.ts';
import {
  DEFAULT_IMAP_LIMITS,
  type ImapLimits,
  type ImapMode,
  type ImapSessionCore,
  type ImapSessionOptions,
  type ImapState,
} from './session-state.ts';

/** The commands whose non-UID form takes message numbers (RFC 9586 §3). */
const MESSAGE_NUMBER_COMMANDS = new Set(['FETCH', 'STORE', 'SEARCH', 'COPY', 'MOVE', 'SORT', 'THREAD', 'REPLACE']);

export class ImapSession implements StreamEngine, ImapSessionCore {
  state: ImapState = { kind: 'not-authenticated' };
  mode: ImapMode = { kind: 'command' };
  readonly enabled = new Set<string>();
  tls: TlsInfo | null;
  compressed = false;
  authFailures = 0;
  /** The APPEND messages streamed by the framer (more than one with MULTIAPPEND), until the APPEND command runs. */
  pendingAppends: ImapAppendSink[] = [];
  /** RFC 5182 SEARCHRES: UIDs saved by SEARCH RETURN (SAVE), referenced as `$`. */
  savedSearch: number[] | null = null;
  readonly limits: ImapLimits;
  private readonly inflight: InflightBytes | null;
  readonly options: ImapSessionOptions;
  private framer: CommandFramer;
  private lock: Promise<unknown> = Promise.resolve();
  /** Set while a deferred command's output is still being produced: the next command waits for it. */
  private hold: Promise<void> | null = null;
  private closedFlag = false;
  /**
   * Settles true once every write this session ran so far is durable, false if one of them could not be made
   * durable; null when nothing is waiting. While it is pending, every output is held behind it (see release()).
   */
  private barrier: Promise<boolean> | null = null;
  /** A write of this session could not be made durable: the session ends (see storageFailure()). */
  private storageFailed = false;
  /** When the previous command's answer was released (its time counts from then, see reportTime()). */
  private lastAnswerAt = 0;

  constructor(options: ImapSessionOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_IMAP_LIMITS, ...options.limits };
    this.inflight = options.inflight ?? null;
    this.tls = options.context.tls;
    this.framer = this.newFramer();
  }

  get idleTimeoutMs(): number {
    return this.state.kind === 'not-authenticated' ? this.limits.preAuthTimeoutMs : this.limits.idleTimeoutMs;
  }

  get anonymous(): boolean {
    return this.state.kind === 'not-authenticated' && this.mode.kind === 'command';
  }

  get saslContext(): SaslContext {
    return { protocol: 'imap', remoteAddress: this.options.context.remoteAddress, isTls: this.tls !== null };
  }

  get canLoginPlaintext(): boolean {
    return this.tls !== null || this.options.allowPlaintextAuth === true;
  }

  get utf8Names(): boolean {
    return this.enabled.has('IMAP4REV2') || this.enabled.has('UTF8=ACCEPT');
  }

  /**
   * A CONDSTORE-enabling command (FETCH/SEARCH MODSEQ, STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ). RFC
   * 7162 §3.1: when that first enables CONDSTORE with a mailbox selected, the server sends its HIGHESTMODSEQ.
   */
  enableCondstore(untagged: (line: string) => void): void {
    if (this.enabled.has('CONDSTORE')) return;
    this.enabled.add('CONDSTORE');
    if (this.state.kind === 'selected') untagged(`OK [HIGHESTMODSEQ ${this.state.mailbox.knownModSeq}] Highest`);
  }

  /** RFC 9586 UIDONLY: no message numbers in commands or responses. */
  get uidOnly(): boolean {
    return this.enabled.has('UIDONLY');
  }

  /** Expunges are reported as VANISHED: with QRESYNC (RFC 7162 §3.2.10) or UIDONLY (RFC 9586 §3). */
  get vanishedExpunges(): boolean {
    return this.enabled.has('QRESYNC') || this.enabled.has('UIDONLY');
  }

  /** A session that did not ENABLE IMAP4rev2 follows RFC 3501 (\Recent, RECENT responses). */
  get rev1(): boolean {
    return !this.enabled.has('IMAP4REV2');
  }

  get account(): ImapAccount | null {
    return this.state.kind === 'authenticated' || this.state.kind === 'selected' ? this.state.account : null;
  }

  capabilities(): string[] {
    const caps = ['IMAP4rev2', 'IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ENABLE', 'ID', 'IDLE'];
    if (this.state.kind === 'not-authenticated') {
      if (this.tls === null && this.options.starttlsAvailable === true) caps.push('STARTTLS');
      if (!this.canLoginPlaintext) caps.push('LOGINDISABLED');
      for (const m of this.options.sasl.mechanisms(this.saslContext)) caps.push(`AUTH=${m}`);
      return caps;
    }
    caps.push(
      'UIDPLUS', 'MOVE', 'SPECIAL-USE', 'NAMESPACE', 'UNSELECT', 'CHILDREN', 'LIST-EXTENDED', 'LIST-STATUS',
      'ESEARCH', 'SEARCHRES', 'CONDSTORE', 'QRESYNC', 'STATUS=SIZE', `APPENDLIMIT=${this.limits.appendLimit}`,
      'QUOTA', 'QUOTA=RES-STORAGE', 'SORT', 'MULTIAPPEND', 'ESORT', 'CONTEXT=SEARCH', 'CONTEXT=SORT', 'SORT=DISPLAY',
      'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES', 'BINARY', 'CATENATE', 'PREVIEW', 'REPLACE', 'OBJECTID', 'METADATA', 'METADATA-SERVER',
      'SAVEDATE', 'UIDONLY', 'NOTIFY',
    );
    if (!this.compressed) caps.push('COMPRESS=DEFLATE');
    return caps;
  }

  async start(): Promise<EngineOutput> {
    const host = this.options.hostname ?? 'Postamt';
    return { data: [`* OK [CAPABILITY ${this.capabilities().join(' ')}] ${host} IMAP4rev2 service ready\r\n`] };
  }

  receive(chunk: Buffer): Promise<EngineOutput> {
    return this.exclusive(() => this.process(chunk, { flushEach: true }).catch((err: unknown) => this.internalError(err)));
  }

  /** Nothing escapes the engine: an unexpected failure ends the connection with BYE. */
  private internalError(err: unknown): EngineOutput {
    this.options.logger?.error({ err, event: 'imap.internal_error', sessionId: this.options.context.sessionId });
    return { data: ['* BYE Internal server error\r\n'], then: 'close' };
  }

  tlsStarted(info: TlsInfo): void {
    this.tls = info;
    this.framer = this.newFramer();
  }

  idleTimeout(): EngineOutput {
    return { data: ['* BYE Autologout; idle for too long\r\n'], then: 'close' };
  }

  shutdown(): EngineOutput {
    return { data: ['* BYE Server shutting down\r\n'], then: 'close' };
  }

  closed(): void {
    this.closedFlag = true;
    this.abortPendingAppends();
    if (this.state.kind === 'authenticated' || this.state.kind === 'selected') this.state.unwatch();
    this.state = { kind: 'logout' };
  }

  abortPendingAppends(): void {
    for (const sink of this.pendingAppends) sink.abort();
    this.pendingAppends = [];
  }

  /** Starts watching the login that just succeeded; returns the function that stops watching. */
  watchLogin(identity: AuthIdentity): () => void {
    const logins = this.options.logins;
    if (logins === undefined) return () => undefined;
    return logins.watch(identity, { protocol: 'imap', sessionId: this.options.context.sessionId }, (reason) => this.revoke(reason));
  }

  /**
   * The login stopped being valid: after the command in progress, if any, the session ends with BYE
   * (RFC 9051 §7.1.5) and nothing more is read; commands that arrive meanwhile are not run.
   */
  revoke(reason: string): void {
    if (this.closedFlag || this.state.kind === 'logout') return;
    void this.exclusive(async () => {
      if (this.closedFlag || this.state.kind === 'logout') return;
      this.abortPendingAppends();
      if (this.state.kind === 'authenticated' || this.state.kind === 'selected') this.state.unwatch();
      this.state = { kind: 'logout' };
      this.mode = { kind: 'command' };
      this.pushOutput({ data: [`* BYE Session ended: ${reason}\r\n`], then: 'close' });
    }).catch((err: unknown) => this.options.logger?.warn({ err, event: 'imap.revoke_failed' }));
  }

  /** Runs `fn` after everything queued before it: receive() and IDLE pushes never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn);
    const drain = (): Promise<void> | undefined => {
      const h = this.hold;
      this.hold = null;
      return h ?? undefined;
    };
    this.lock = p.then(drain, drain);
    return p;
  }

  /** Changes seen while a SELECT loads its snapshot; replayed into the new selection. */
  selectBuffer: ImapChange[] | null = null;

  /** RFC 5465 NOTIFY SET in force, or null. */
  notify: NotifyState | null = null;

  /** Called by the account watcher (set up at login) for every change in the account. */
  onAccountChange(change: ImapChange): void {
    if (this.selectBuffer !== null && this.selectBuffer.length < 10_000) this.selectBuffer.push(change);
    if (this.state.kind === 'selected') this.state.mailbox.onChange(change);
    if (this.notify !== null) {
      const selectedId = this.state.kind === 'selected' ? this.state.mailbox.id : -1;
      // The mailbox list (names, subscriptions) is compared as a whole: noted under id 0.
      if (change.kind === 'reset' || change.kind === 'mailbox') this.notify.note({ mailboxId: 0, kind: change.kind });
      else if (change.kind === 'metadata' || change.mailboxId !== selectedId) this.notify.note(change);
      if (this.notify.held > this.limits.maxNotifyPending) this.notifyOverflow(this.notify);
      else this.scheduleNotify(this.notify);
    }
    if (this.mode.kind !== 'idle' || this.state.kind !== 'selected' || !this.state.mailbox.hasPending) return;
    void this.exclusive(async () => {
      if (this.closedFlag || this.mode.kind !== 'idle') return;
      const lines = await this.syncSelected({ allowExpunge: true });
      if (lines.length > 0) this.pushOutput({ data: [lines.map((l) => `* ${l}\r\n`).join('')] });
    }).catch((err: unknown) => this.options.logger?.warn({ err, event: 'imap.idle_sync_failed' }));
  }

  /**
   * RFC 5465 §5.8: more notifications pending than the session keeps (a long command, a burst of changes):
   * the client is told with OK [NOTIFICATIONOVERFLOW] and the session goes on as after NOTIFY NONE.
   */
  private notifyOverflow(state: NotifyState): void {
    this.notify = null;
    const held = state.held;
    state.pending.clear();
    state.metadata.clear();
    const account = this.state.kind === 'selected' || this.state.kind === 'authenticated' ? this.state.identity.address : null;
    this.options.logger?.info({ event: 'imap.notify_overflow', sessionId: this.options.context.sessionId, account, held, limit: this.limits.maxNotifyPending }, 'NOTIFY ended: more notifications pending than the session keeps');
    void this.exclusive(async () => {
      if (this.closedFlag || this.state.kind === 'logout') return;
      this.pushOutput({ data: ['* OK [NOTIFICATIONOVERFLOW] Too many notifications pending; NOTIFY is off\r\n'] });
    }).catch((err: unknown) => this.options.logger?.warn({ err, event: 'imap.notify_failed' }));
  }

  /**
   * RFC 5465: with NOTIFY, changes are reported when they happen, between commands too: STATUS and LIST
   * for other mailboxes, and with a SELECTED group the selected mailbox's EXISTS/EXPUNGE/FETCH (expunges
   * held back under SELECTED-DELAYED), then the FETCH attributes MessageNew asked for. One flush per burst.
   */
  private scheduleNotify(state: NotifyState): void {
    if (state.scheduled) return;
    state.scheduled = true;
    void this.exclusive(async () => {
      state.scheduled = false;
      if (this.closedFlag || this.notify !== state || (this.state.kind !== 'authenticated' && this.state.kind !== 'selected')) return;
      if (this.mode.kind === 'sasl') return;
      const out: OutputPart[] = [];
      await notifyLines(this, state, (l) => out.push(`* ${l}\r\n`));
      const group = state.selectedGroup;
      if (group !== null && this.state.kind === 'selected' && this.mode.kind === 'command') {
        const mailbox = this.state.mailbox;
        const last = mailbox.lastUid;
        for (const l of await this.syncSelected({ allowExpunge: group.filter === 'SELECTED' })) out.push(`* ${l}\r\n`);
        if (group.fetchAtts !== null && mailbox.lastUid > last) out.push(...await newMessageFetches(this, group.fetchAtts, last + 1, mailbox.lastUid));
      }
      if (out.length > 0) this.pushOutput({ data: out });
    }).catch((err: unknown) => this.options.logger?.warn({ err, event: 'imap.notify_failed' }));
  }

  async syncSelected(options: { allowExpunge: boolean }): Promise<string[]> {
    if (this.state.kind !== 'selected') return [];
    const mailbox = this.state.mailbox;
    const updating = mailbox.searchUpdates.size > 0 && (mailbox.hasPending || mailbox.searchUpdatesDirty);
    if (!mailbox.hasPending && !updating) return [];
    // RFC 5267 §4.2: messages that left an updating search are reported before the expunges (their
    // numbers are still valid), the ones that joined it after the EXISTS that announces them.
    const out = updating ? await refreshSearchUpdates(this, mailbox) : [];
    if (mailbox.hasPending) {
      out.push(...await mailbox.sync(this.state.account, {
        allowExpunge: options.allowExpunge,
        vanished: this.vanishedExpunges,
        uidOnly: this.uidOnly,
        condstore: this.enabled.has('CONDSTORE'),
        rev1: this.rev1,
      }));
      if (updating) out.push(...await refreshSearchUpdates(this, mailbox));
    }
    return out;
  }

  private newFramer(): CommandFramer {
    return new CommandFramer({ maxLineBytes: this.limits.maxLineBytes, literalMinus: false }, (a) => this.decideLiteral(a));
  }

  private decideLiteral(a: LiteralAnnouncement): LiteralDecision {
    const tag = tagOf(a.textSoFar);
    // APPEND, and REPLACE (RFC 8508) whose message follows a message number and a mailbox as APPEND's does.
    const m = /^\S+ (?:APPEND|(?:UID )?REPLACE \S+) (.*)$/is.exec(a.textSoFar);
    // The APPEND message is the literal after the mailbox name; a mailbox-name literal is buffered.
    const isMessage = m !== null && this.account !== null && !(a.index === 0 && /^~?\{\d+[+-]?\}$/.test(m[1]!));
    // RFC 4469 §5: a CATENATE TEXT literal is one piece of a message, put together when APPEND runs.
    if (isMessage && /\bCATENATE\s*\(/i.test(m[1]!) && /\bTEXT ~?\{\d+[+-]?\}$/i.test(a.textSoFar)) {
      if (a.literalBytesSoFar + a.size > this.limits.appendLimit) return { action: 'reject', response: `${tag} NO [TOOBIG] Message exceeds APPENDLIMIT ${this.limits.appendLimit}` };
      return { action: 'buffer' };
    }
    if (isMessage) {
      // RFC 3502: MULTIAPPEND sends several messages; their number is bounded (each holds a spool).
      if (this.pendingAppends.length >= this.limits.maxAppendMessages) {
        return { action: 'reject', response: `${tag} NO [LIMIT] At most ${this.limits.maxAppendMessages} messages per APPEND` };
      }
      // RFC 7889 §3 / RFC 9051 §7.1: TOOBIG before the client sends the bytes.
      if (a.size > this.limits.appendLimit) return { action: 'reject', response: `${tag} NO [TOOBIG] Message exceeds APPENDLIMIT ${this.limits.appendLimit}` };
      // RFC 5530 §3 LIMIT: the server-wide budget for messages in transit is spent; the client may retry later.
      if (this.inflight && !this.inflight.take(a.size)) return { action: 'reject', response: `${tag} NO [LIMIT] Too much mail in transit, try again later` };
      const begun = this.account!.beginAppend();
      const counted = this.inflight ? holdInflight(begun, this.inflight, a.size) : begun;
      // RFC 3516 §4.4: a literal8 message is converted once it has arrived whole.
      const sink = /~\{\d+[+-]?\}$/.test(a.textSoFar) ? holdBinary(counted, this.limits.mime) : counted;
      this.pendingAppends.push(sink);
      return { action: 'stream', sink };
    }
    const maxLiteralBytes = this.account === null ? this.limits.preAuthLiteralBytes : this.limits.maxLiteralBytes;
    if (a.literalBytesSoFar + a.size > maxLiteralBytes) {
      return { action: 'reject', response: `${tag} BAD [TOOBIG] Literal too big` };
    }
    return { action: 'buffer' };
  }

  /**
   * `flushEach`: the answers of completed commands are handed to the driver as soon as the next pipelined
   * command waits for I/O, so a quick FETCH is not held back until a STORE behind it is durable (imaptest
   * pipelines FETCH, STORE and EXPUNGE). Not for the commands run at the end of a deferred output: that output is still
   * being written, and what is pushed would overtake its tail: there `oneCommand` returns after one command
   * (`ranOne`: one ran, was not deferred and asked for no step), and the deferred output writes each answer.
   */
  private async process(chunk: Buffer, options: { flushEach?: boolean; oneCommand?: boolean } = {}): Promise<EngineOutput & { ranOne?: boolean }> {
    const out: OutputPart[] = [];
    if (this.state.kind === 'logout' || this.storageFailed) return { data: [] };
    this.framer.feed(chunk);
    for (;;) {
      if (this.storageFailed) break;
      if (this.mode.kind !== 'command') {
        const line = this.framer.nextLine();
        if (line === null) break;
        if (typeof line !== 'string') {
          out.push('* BAD Line too long\r\n');
          continue;
        }
        if (this.mode.kind === 'idle') {
          await handleIdleLine(this, line, out);
          continue;
        }
        const then = await handleSaslLine(this, line, out);
        if (then !== undefined) return { data: out, then };
        continue;
      }
      const event = this.framer.next();
      if (event === null) break;
      if (event.kind === 'continue') out.push('+ Ready for literal data\r\n');
      else if (event.kind === 'response') {
        this.abortPendingAppends();
        out.push(event.text + '\r\n');
      } else {
        // Answers already made wait for this command only while it computes: once it waits for I/O (a
        // write's disk sync, a read), they go out. Quick pipelined commands still share one write.
        const early = options.flushEach === true && out.length > 0 ? setImmediate(() => this.options.context.push({ data: out.splice(0) })) : null;
        const then = await this.execute(event.frame, out);
        if (early !== null) clearImmediate(early);
        if (then === 'deferred') return { data: out };
        if (then !== undefined) {
          // RFC 3207-style rule for STARTTLS and COMPRESS: bytes pipelined after the command are discarded.
          this.framer = this.newFramer();
          return { data: out, then };
        }
        if (options.oneCommand === true) return { data: out, ranOne: true };
      }
    }
    return { data: out };
  }

  private async execute(frame: CommandFrame, out: OutputPart[]): Promise<EngineOutput['then'] | 'deferred'> {
    const startedAt = performance.now();
    // The command's own output, handed on whole when it ends (held back if a write is not yet durable).
    const own: OutputPart[] = [];
    const durables: Promise<void>[] = [];
    let tag = tagOf(frame.texts[0] ?? '');
    let verb: string | null = null;
    let result: CommandResult | DeferredResult | null;
    let allowExpunge = true;
    try {
      const cmd = tokenizeCommand(frame, { maxDepth: this.limits.maxDepth });
      tag = cmd.tag;
      const spec = Object.hasOwn(COMMANDS, cmd.verb) ? COMMANDS[cmd.verb] : undefined;
      // Only the table's own names are reported: a client cannot make up new ones.
      if (spec !== undefined) verb = cmd.verb;
      if (spec === undefined) result = { status: 'BAD', text: 'Unknown command' };
      else if (!spec.states.includes(this.state.kind as StateKind)) {
        result = { status: 'BAD', text: `${cmd.verb} not allowed now` };
      } else if (this.uidOnly && MESSAGE_NUMBER_COMMANDS.has(cmd.verb)) {
        // RFC 9586 §3: once UIDONLY is enabled, commands that take message numbers are refused.
        result = { status: 'BAD', code: 'UIDREQUIRED', text: `Use UID ${cmd.verb}: message numbers are not used in this session` };
      } else {
        allowExpunge = !(spec.noExpungeAfter === true && !cmd.verb.startsWith('UID '));
        const ctx: CommandContext = {
          tag,
          verb: cmd.verb,
          isUid: cmd.verb.startsWith('UID '),
          session: this,
          untagged: (line) => own.push(`* ${line}\r\n`),
          raw: (...parts) => own.push(...parts),
          committed: (durable) => {
            // Awaited later (release(), deferredOutput()); a failure before then is not an unhandled rejection.
            durable.catch(() => undefined);
            durables.push(durable);
          },
        };
        result = await spec.handle(ctx, new Args(cmd.args));
      }
    } catch (err) {
      result = this.errorResult(err);
    } finally {
      this.abortPendingAppends();
    }
    if (result === null) {
      // AUTHENTICATE / IDLE continue in a sub-mode
      out.push(...this.release(own, durables, tag, null));
      return undefined;
    }
    const timed = verb === null ? null : { verb, startedAt };
    if (result.status === 'DEFERRED') {
      own.push(this.deferredOutput(tag, result, allowExpunge, timed, durables));
      out.push(...this.release(own, durables, tag, null));
      return 'deferred';
    }
    await this.finish(tag, result, allowExpunge, own);
    out.push(...this.release(own, durables, tag, timed));
    return result.then;
  }

  /**
   * A command's time: from its start, or from the release of the answer before it when that came later (a
   * command run while the write before it was made durable waited for nothing of its own until then).
   */
  private reportTime(timed: { verb: string; startedAt: number } | null): void {
    if (timed === null) return;
    const now = performance.now();
    this.options.commandTimed?.(timed.verb, now - Math.max(timed.startedAt, this.lastAnswerAt));
    this.lastAnswerAt = now;
  }

  /**
   * Hands on a command's output. A write may return once committed (its effects visible to the next
   * command) and before it is durable: the next pipelined command runs at once, but nothing is sent that
   * acknowledges the write or depends on it before it is durable. The rule (RFC 9051 §5.5: the server
   * answers as if it ran the commands one after the other, and an OK says the command completed): while
   * a write of this session is not durable, every output of the session, the write's own untagged and
   * tagged responses and whatever follows them (answers, IDLE and NOTIFY updates, BYE), is held, in order,
   * until it is. Other sessions hear of the write through the change feed, which tells them only once it is
   * durable. If it cannot be made durable, the write is answered NO, the session ends with BYE, and what
   * followed it is never sent (the client could not tell which later answer depended on it).
   */
  private release(parts: OutputPart[], durables: Promise<void>[], tag: string, timed: { verb: string; startedAt: number } | null): OutputPart[] {
    if (durables.length === 0 && this.barrier === null) {
      this.reportTime(timed);
      return parts;
    }
    const own = durables.length === 0 ? null : durables.length === 1 ? durables[0]! : Promise.all(durables);
    own?.catch(() => undefined);
    const previous = this.barrier ?? Promise.resolve(true);
    const outcome = previous.then(async (ok): Promise<'ok' | 'failed' | 'dropped'> => {
      if (!ok) return 'dropped';
      try {
        await own;
        return 'ok';
      } catch (err) {
        this.storageFailure(err, tag);
        return 'failed';
      }
    });
    const barrier = outcome.then((o) => o === 'ok');
    this.barrier = barrier;
    void barrier.then((ok) => {
      if (ok && this.barrier === barrier) this.barrier = null;
    });
    const self = this;
    async function* held(): AsyncGenerator<Buffer> {
      const o = await outcome;
      if (o === 'ok') {
        self.reportTime(timed);
        yield* chunks(parts);
      } else if (o === 'failed') {
        yield notDurableAnswer(tag);
        // After this answer, which the driver is writing now: what is queued behind it is dropped (see above).
        self.options.context.push({ data: [], then: 'close' });
      }
    }
    return [held()];
  }

  /** A write of this session was not made durable: nothing more is run or sent (the connection closes after its NO). */
  private storageFailure(err: unknown, tag: string): void {
    if (this.storageFailed) return;
    this.storageFailed = true;
    const account = this.state.kind === 'selected' || this.state.kind === 'authenticated' ? this.state.identity.address : null;
    this.options.logger?.error({ err, event: 'imap.write_not_durable', sessionId: this.options.context.sessionId, account, tag }, 'a write could not be made durable: answered NO, session closed');
  }

  /** Unsolicited output (IDLE and NOTIFY updates, BYE), held like the commands' while a write is not durable. */
  private pushOutput(output: EngineOutput): void {
    if (this.storageFailed) return;
    this.options.context.push(this.barrier === null ? output : { ...output, data: this.release(output.data, [], '*', null) });
  }

  /** Pending changes (RFC 9051 §7.5), then the tagged status. */
  private async finish(tag: string, result: CommandResult, allowExpunge: boolean, out: OutputPart[]): Promise<void> {
    if (this.state.kind === 'selected' && result.then === undefined) {
      try {
        for (const l of await this.syncSelected({ allowExpunge })) out.push(`* ${l}\r\n`);
      } catch (err) {
        this.options.logger?.warn({ err, event: 'imap.sync_failed' });
      }
    }
    out.push(formatTagged(tag, result));
  }

  /**
   * The output of a deferred command as a stream the driver pulls with backpressure. Commands
   * pipelined behind it are run when it ends, so responses stay in order and state stays consistent.
   */
  private deferredOutput(tag: string, deferred: DeferredResult, allowExpunge: boolean, timed: { verb: string; startedAt: number } | null, durables: Promise<void>[]): AsyncIterable<Buffer> {
    let release!: () => void;
    this.hold = new Promise((resolve) => (release = resolve));
    const self = this;
    // The writes the command made while producing (FETCH setting \Seen, RFC 9051 §6.4.5): the same rule as
    // release()'s, applied as it streams: nothing from a write on is sent before the write is durable.
    let settled = 0;
    const durable = async (): Promise<boolean> => {
      while (settled < durables.length) {
        const upTo = durables.length;
        try {
          await Promise.all(durables.slice(settled, upTo));
        } catch (err) {
          self.storageFailure(err, tag);
          return false;
        }
        settled = upTo;
      }
      return true;
    };
    async function* stream(): AsyncGenerator<Buffer> {
      try {
        let result: CommandResult;
        const gen = deferred.produce();
        try {
          for (;;) {
            const n = await gen.next();
            if (n.done === true) {
              result = n.value;
              break;
            }
            if (!(await durable())) {
              yield notDurableAnswer(tag);
              self.options.context.push({ data: [], then: 'close' });
              return;
            }
            yield typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
          }
        } catch (err) {
          result = self.errorResult(err);
        }
        if (!(await durable())) {
          yield notDurableAnswer(tag);
          self.options.context.push({ data: [], then: 'close' });
          return;
        }
        let tail: OutputPart[] = [];
        let then: EngineOutput['then'];
        try {
          await self.finish(tag, result, allowExpunge, tail);
          self.reportTime(timed);
        } catch (err) {
          const bye = self.internalError(err);
          tail = bye.data;
          then = bye.then;
        }
        yield* chunks(tail);
        // The commands pipelined behind it, each answer written as it is ready (a STORE waiting for the
        // disk does not hold back the answers before it); a deferred one carries on with the rest itself.
        let more = then === undefined;
        while (more && self.framer.bufferedBytes > 0) {
          try {
            const next = await self.process(Buffer.alloc(0), { oneCommand: true });
            yield* chunks(next.data);
            then = next.then;
            more = next.ranOne === true;
          } catch (err) {
            const bye = self.internalError(err);
            yield* chunks(bye.data);
            then = bye.then;
            more = false;
          }
        }
        if (then !== undefined) self.pushOutput({ data: [], then });
      } finally {
        release();
      }
    }
    return stream();
  }

  errorResult(err: unknown): CommandResult {
    if (err instanceof ImapSyntaxError) return { status: 'BAD', text: err.message, ...(err.code !== undefined ? { code: err.code } : {}) };
    if (err instanceof ImapBackendError) return { status: 'NO', code: err.code, text: err.message };
    this.options.logger?.error({ err, event: 'imap.command_failed' });
    return { status: 'NO', code: 'UNAVAILABLE', text: 'Internal error, try again later' };
  }
}

/** Output parts as the bytes a deferred output yields: text and buffers of a run joined into one write. */
async function* chunks(data: OutputPart[]): AsyncGenerator<Buffer> {
  let run: Buffer[] = [];
  for (const part of data) {
    if (typeof part === 'string') run.push(Buffer.from(part));
    else if (Buffer.isBuffer(part)) run.push(part);
    else {
      if (run.length > 0) yield run.length === 1 ? run[0]! : Buffer.concat(run);
      run = [];
      yield* part;
    }
  }
  if (run.length > 0) yield run.length === 1 ? run[0]! : Buffer.concat(run);
}

/** The answer to a write that could not be made durable; the session closes after it (see release()). */
function notDurableAnswer(tag: string): Buffer {
  return Buffer.from(`${tag} NO [UNAVAILABLE] Storage failure: the change may not have been saved\r\n* BYE Storage failure\r\n`);
}
