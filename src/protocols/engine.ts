/**
 * The contract between a pure protocol engine (SMTP, IMAP, POP3 sessions) and the one connection
 * driver in transport/. An engine is fed bytes and answers with what to write and what to do next;
 * it never touches a socket, a file or the store.
 */

/** A piece of output: text is written as UTF-8; an async iterable is streamed with backpressure (big FETCH/RETR). */
export type OutputPart = string | Buffer | AsyncIterable<Buffer>;

export interface EngineOutput {
  data: OutputPart[];
  /**
   * What the driver does after writing `data`:
   * - 'starttls': discard every byte already received or buffered (RFC 3207 §4.2 / CVE-2011-0411), upgrade to TLS,
   *   then call `tlsStarted`.
   * - 'deflate': switch both directions to raw DEFLATE (RFC 4978) after the write.
   * - 'close': end the connection after the write.
   */
  then?: 'starttls' | 'deflate' | 'close';
}

export interface TlsInfo {
  protocol: string; // 'TLSv1.3'
  cipher: string;
  servername?: string;
}

export interface EngineContext {
  sessionId: string;
  remoteAddress: string;
  /** True when the connection started with TLS (implicit TLS ports) or after STARTTLS. */
  tls: TlsInfo | null;
  /** Unsolicited output (IMAP IDLE updates, BYE on shutdown); written in order with everything else. */
  push(output: EngineOutput): void;
}

export interface StreamEngine {
  /** The greeting; called once when the connection opens. */
  start(): Promise<EngineOutput>;
  /**
   * Bytes from the client. The driver never calls this concurrently: it waits for the promise and
   * pauses reading meanwhile, so an engine keeps its own partial-line buffer.
   */
  receive(chunk: Buffer): Promise<EngineOutput>;
  /** The TLS handshake after 'starttls' succeeded; the engine resets to its post-TLS state. */
  tlsStarted(info: TlsInfo): void;
  /** The idle timeout fired: what to send before the driver closes (e.g. `421 4.4.2 ... timeout`). */
  idleTimeout(): EngineOutput;
  /** The server is shutting down: what to send before closing (e.g. `421 4.3.2`, `* BYE`). */
  shutdown(): EngineOutput;
  /** The connection is gone (either side); release locks and resources. */
  closed(): void;
  /** Current idle timeout; engines change it by state (SMTP DATA vs command, IMAP IDLE 30 min). */
  readonly idleTimeoutMs: number;
  /**
   * No logged-in user and no transaction under way: closing the connection now costs the client nothing
   * but a reconnect. When every connection slot is taken, the oldest such idle connection makes room.
   */
  readonly anonymous?: boolean;
}
