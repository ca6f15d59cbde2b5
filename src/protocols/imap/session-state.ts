/**
 * IMAP session state (RFC 9051 §3: not authenticated, authenticated, selected, logout) as a
 * discriminated union, the session's limits and options, and the narrow view of the session that
 * command handlers work on (ImapSessionCore): they see state, not the framer or the output queue.
 */
import type { EngineContext, TlsInfo } from '../engine.ts';
import type { AuthIdentity, LoginWatcher, SaslAuthenticator, SaslContext, SaslExchange } from '../sasl/types.ts';
import type { Logger } from '../../core/log.ts';
import type { ImapAccount, ImapAppendSink, ImapBackend, ImapChange } from './backend.ts';
import type { SelectedMailbox } from './selected.ts';
import type { NotifyState } from './notify-state.ts';
import type { MimeTreeOptions } from '../../message/mime-tree.ts';
import type { InflightBytes } from './budgeted-append.ts';
import type { TaggedResponse } from './response.ts';

export interface ImapLimits {
  /** Command text per command, literals excluded. */
  maxLineBytes: number;
  /** Literals of a command other than an APPEND message, in total. */
  maxLiteralBytes: number;
  /** The same before login: only LOGIN arguments need literals then, so many idle clients stay cheap. */
  preAuthLiteralBytes: number;
  /** Bounds on MIME parsing for BODYSTRUCTURE, BODY[section] and SEARCH. */
  mime: MimeTreeOptions;
  /** APPEND message size (advertised as APPENDLIMIT, RFC 7889). */
  appendLimit: number;
  maxDepth: number;
  /** RFC 9051 §5.4: at least 30 minutes once authenticated. */
  idleTimeoutMs: number;
  preAuthTimeoutMs: number;
  /** Failed LOGIN/AUTHENTICATE attempts before the connection is closed. */
  maxAuthFailures: number;
  /** Mailboxes one account may have (CREATE's implied parents count too). */
  maxMailboxes: number;
  /** Levels of a mailbox name (`a/b/c` has 3). */
  maxMailboxLevels: number;
  /** Messages in one APPEND (RFC 3502 MULTIAPPEND). */
  maxAppendMessages: number;
  /** RFC 5464 METADATA: entries on the server or on one mailbox, and the size of one value. */
  maxMetadataEntries: number;
  maxMetadataValueBytes: number;
  /** RFC 5465 §5.8: NOTIFY notifications held undelivered before NOTIFICATIONOVERFLOW. */
  maxNotifyPending: number;
}

export const DEFAULT_IMAP_LIMITS: ImapLimits = {
  maxLineBytes: 64 * 1024,
  maxLiteralBytes: 1024 * 1024,
  preAuthLiteralBytes: 8 * 1024,
  mime: {},
  appendLimit: 50 * 1024 * 1024,
  maxDepth: 32,
  idleTimeoutMs: 30 * 60_000,
  preAuthTimeoutMs: 5 * 60_000,
  maxAuthFailures: 5,
  maxMailboxes: 10_000,
  maxMailboxLevels: 32,
  maxAppendMessages: 20,
  maxMetadataEntries: 100,
  maxMetadataValueBytes: 64 * 1024,
  maxNotifyPending: 1000,
};

export interface ImapSessionOptions {
  backend: ImapBackend;
  sasl: SaslAuthenticator;
  context: EngineContext;
  hostname?: string;
  logger?: Logger;
  /** Allow LOGIN / plaintext mechanisms without TLS (e.g. loopback); otherwise LOGINDISABLED. */
  allowPlaintextAuth?: boolean;
  /** STARTTLS is offered when the listener has a TLS context and the connection is not TLS yet. */
  starttlsAvailable?: boolean;
  limits?: Partial<ImapLimits>;
  /** The server-wide budget for bytes of messages being received; an APPEND that does not fit gets NO [LIMIT]. */
  inflight?: InflightBytes;
  now?: () => Date;
  /** Ends the session when its login stops being valid (account removed or disabled, password changed). */
  logins?: LoginWatcher;
  /**
   * Called when a command's tagged response is ready (a streamed FETCH: when its last byte was produced)
   * with the command name and the milliseconds since the command began to run. Not for IDLE and
   * AUTHENTICATE, whose length is the client's.
   */
  commandTimed?: (verb: string, ms: number) => void;
}

export type ImapState =
  | { kind: 'not-authenticated' }
  | { kind: 'authenticated'; identity: AuthIdentity; account: ImapAccount; unwatch: () => void }
  | { kind: 'selected'; identity: AuthIdentity; account: ImapAccount; unwatch: () => void; mailbox: SelectedMailbox }
  | { kind: 'logout' };

export type ImapMode =
  | { kind: 'command' }
  | { kind: 'idle'; tag: string }
  /** `pendingSuccess`: the server-final data was sent as a challenge; the client's empty line completes it. */
  | { kind: 'sasl'; tag: string; exchange: SaslExchange; pendingSuccess?: AuthIdentity };

/** What a command handler may read and change in its session. */
export interface ImapSessionCore {
  state: ImapState;
  mode: ImapMode;
  /** Extensions turned on by ENABLE (upper-case names) or implicitly (CONDSTORE). */
  readonly enabled: Set<string>;
  readonly tls: TlsInfo | null;
  compressed: boolean;
  authFailures: number;
  /** The APPEND messages streamed by the framer (more than one with MULTIAPPEND), until the APPEND command runs. */
  pendingAppends: ImapAppendSink[];
  /** RFC 5182 SEARCHRES: UIDs saved by SEARCH RETURN (SAVE), referenced as `$`. */
  savedSearch: number[] | null;
  /** Changes seen while a SELECT loads its snapshot; replayed into the new selection. */
  selectBuffer: ImapChange[] | null;
  /** RFC 5465 NOTIFY SET in force, or null (none, or NOTIFY NONE). */
  notify: NotifyState | null;
  readonly limits: ImapLimits;
  readonly options: ImapSessionOptions;
  readonly saslContext: SaslContext;
  readonly canLoginPlaintext: boolean;
  /** UTF-8 mailbox names and quoted strings (IMAP4rev2 or UTF8=ACCEPT enabled). */
  readonly utf8Names: boolean;
  /** A session that did not ENABLE IMAP4rev2 follows RFC 3501 (\Recent, RECENT responses). */
  readonly rev1: boolean;
  /** RFC 9586 UIDONLY enabled: UIDFETCH instead of FETCH, VANISHED instead of EXPUNGE, no message numbers. */
  readonly uidOnly: boolean;
  /** Expunges are reported as VANISHED (QRESYNC or UIDONLY enabled). */
  readonly vanishedExpunges: boolean;
  readonly account: ImapAccount | null;
  capabilities(): string[];
  /** Turns CONDSTORE on (RFC 7162 §3.1), announcing HIGHESTMODSEQ through `untagged` when a mailbox is selected. */
  enableCondstore(untagged: (line: string) => void): void;
  /** The selected mailbox's pending changes as untagged lines (RFC 9051 §7.5). */
  syncSelected(options: { allowExpunge: boolean }): Promise<string[]>;
  /** Starts watching the login that just succeeded; returns the function that stops watching. */
  watchLogin(identity: AuthIdentity): () => void;
  /** Called by the account watcher (set up at login) for every change in the account. */
  onAccountChange(change: ImapChange): void;
  /** The session is over (LOGOUT): pending APPENDs are aborted and watchers stopped. */
  closed(): void;
  /** The tagged answer for an error thrown by a handler (BAD for syntax, NO for backend refusals). */
  errorResult(err: unknown): TaggedResponse;
}
