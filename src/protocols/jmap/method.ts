/**
 * The shape of one entry in a JMAP method table: the capability it belongs to, its arguments schema, whether
 * it names an account (and may change it), and a handler that sees only a narrow per-call context.
 */
import type { z } from 'zod';
import type { JmapAccount, JmapBackend, JmapIdentity } from './backend.ts';
import type { JmapLimits } from './capabilities.ts';
import type { CreatedIds } from './creation-ids.ts';

export type MethodArguments = Record<string, unknown>;

export interface MethodContext<B extends JmapBackend = JmapBackend> {
  readonly identity: JmapIdentity;
  readonly backend: B;
  readonly limits: Readonly<JmapLimits>;
  /** The request's `using` (RFC 8620 §3.3): e.g. Mail methods return extra properties only if asked for. */
  readonly using: ReadonlySet<string>;
  readonly callId: string;
  /** The checked account when the spec has `account` set (the arguments' `accountId`). */
  readonly accountId: string | null;
  readonly account: JmapAccount | null;
  /** Creation ids of this request (RFC 8620 §3.3, §5.3): record successful creates, resolve "#k" references. */
  readonly createdIds: CreatedIds;
  /**
   * An implicit extra response after this call's own, with the same call id (RFC 8620 §5.4: /copy with
   * onSuccessDestroyOriginal answers "Foo/copy" then "Foo/set").
   */
  followUp(name: string, args: MethodArguments): void;
}

export interface MethodSpec<B extends JmapBackend = JmapBackend> {
  /** The capability URN the client must list in `using` to call this method (RFC 8620 §3.6.2 unknownMethod). */
  capability: string;
  /**
   * 'read' or 'write' when the arguments carry an `accountId` the engine must check (accountNotFound,
   * accountNotSupportedByMethod; 'write' also accountReadOnly); 'none' for methods without one (Core/echo).
   */
  account: 'none' | 'read' | 'write';
  args: z.ZodType<MethodArguments>;
  handle(args: MethodArguments, ctx: MethodContext<B>): Promise<MethodArguments> | MethodArguments;
}

/** A method table entry with its handler typed by its schema; the table itself stores the erased form. */
export function defineMethod<S extends z.ZodType<MethodArguments>, B extends JmapBackend = JmapBackend>(spec: {
  capability: string;
  account: 'none' | 'read' | 'write';
  args: S;
  handle(args: z.output<S>, ctx: MethodContext<B>): Promise<MethodArguments> | MethodArguments;
}): MethodSpec<B> {
  return spec as unknown as MethodSpec<B>;
}

export type MethodTable<B extends JmapBackend = JmapBackend> = Readonly<Record<string, MethodSpec<B>>>;
