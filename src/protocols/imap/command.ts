/**
 * The typed command table's vocabulary: which states a command is allowed in and what a handler
 * returns (a tagged status, possibly a next step for the driver).
 */
import type { OutputPart } from '../engine.ts';
import type { ImapWriteOptions } from './backend.ts';
import type { Args } from './parser/args.ts';
import type { TaggedResponse } from './response.ts';
import type { ImapSessionCore } from './session-state.ts';

export type StateKind = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export interface CommandResult extends TaggedResponse {
  then?: 'starttls' | 'deflate' | 'close';
}

/**
 * A command whose untagged output is produced lazily while the driver writes it (FETCH of many
 * or big messages): memory stays bounded by one message. The generator returns the tagged status.
 */
export interface DeferredResult {
  status: 'DEFERRED';
  produce(): AsyncGenerator<string | Buffer, CommandResult, void>;
}

export interface CommandContext {
  tag: string;
  /** Upper-case verb, `UID FETCH` for UID commands. */
  verb: string;
  isUid: boolean;
  session: ImapSessionCore;
  /** Adds an untagged response line (without `* ` and CRLF) or raw parts (already framed). */
  untagged(line: string): void;
  raw(...parts: OutputPart[]): void;
  /**
   * Passed as a write's `committed` option (ImapWriteOptions): the write may return before it is durable,
   * and the session holds the command's answer, and everything after it, until it is.
   */
  committed?(durable: Promise<void>): void;
}

export interface CommandSpec {
  states: readonly StateKind[];
  /**
   * RFC 9051 §7.5.1: EXPUNGE responses are not sent after FETCH, STORE and SEARCH (non-UID forms),
   * since the client relies on sequence numbers staying put.
   */
  noExpungeAfter?: boolean;
  /** null: the command continues in a sub-mode (AUTHENTICATE challenge, IDLE). */
  handle(ctx: CommandContext, args: Args): Promise<CommandResult | DeferredResult | null>;
}

export const ok = (text = 'completed', code?: string): CommandResult => ({ status: 'OK', text, ...(code ? { code } : {}) });
export const no = (text: string, code?: string): CommandResult => ({ status: 'NO', text, ...(code ? { code } : {}) });
export const bad = (text: string, code?: string): CommandResult => ({ status: 'BAD', text, ...(code ? { code } : {}) });

/**
 * The options of a write a command makes: it may return once committed, and the session holds the
 * command's answer, and everything after it, until the write is durable (see CommandContext.committed).
 */
export function writeOptions(ctx: CommandContext): ImapWriteOptions {
  return ctx.committed !== undefined ? { committed: ctx.committed } : {};
}
