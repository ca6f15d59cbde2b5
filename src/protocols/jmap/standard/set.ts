/**
 * The standard /set method (RFC 8620 §5.3): arguments, response shape, ifInState, maxObjectsInSet, the
 * update/destroy overlap, and PatchObject checking and application, for every data type's /set.
 */
import { z } from 'zod';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { idOrCreationRefSchema, idSchema } from './primitives.ts';

const creationIdSchema = idSchema;

export const setArgsSchema = z.object({
  accountId: idSchema,
  ifInState: z.string().nullable().default(null),
  create: z.record(creationIdSchema, z.record(z.string(), z.unknown())).nullable().default(null),
  update: z.record(idOrCreationRefSchema, z.record(z.string(), z.unknown())).nullable().default(null),
  destroy: z.array(idOrCreationRefSchema).nullable().default(null),
});
export type SetArgs = z.infer<typeof setArgsSchema>;

export interface SetResponse<T = Record<string, unknown>> {
  accountId: string;
  oldState: string | null;
  newState: string;
  created: Record<string, T> | null;
  updated: Record<string, T | null> | null;
  destroyed: string[] | null;
  notCreated: Record<string, SetError> | null;
  notUpdated: Record<string, SetError> | null;
  notDestroyed: Record<string, SetError> | null;
}

/**
 * RFC 8620 §5.3: the server MUST reject a /set whose create, update and destroy together exceed
 * maxObjectsInSet with requestTooLarge, and one whose ifInState is not the current state with stateMismatch,
 * before changing anything.
 */
export function checkSetPreconditions(args: Pick<SetArgs, 'ifInState' | 'create' | 'update' | 'destroy'>, currentState: string, maxObjectsInSet: number): void {
  const count = Object.keys(args.create ?? {}).length + Object.keys(args.update ?? {}).length + (args.destroy?.length ?? 0);
  if (count > maxObjectsInSet) throw new MethodError('requestTooLarge', `at most ${maxObjectsInSet} objects per /set`);
  if (args.ifInState !== null && args.ifInState !== currentState) throw new MethodError('stateMismatch');
}

/**
 * RFC 8620 §5.3 willDestroy: an id both updated and destroyed in one /set keeps only the destroy; the
 * update is answered with this SetError.
 */
export function splitWillDestroy(update: Record<string, unknown> | null, destroy: readonly string[] | null): { update: Record<string, unknown>; notUpdated: Record<string, SetError> } {
  const destroying = new Set(destroy ?? []);
  const kept: Record<string, unknown> = {};
  const notUpdated: Record<string, SetError> = {};
  for (const [id, patch] of Object.entries(update ?? {})) {
    if (destroying.has(id)) notUpdated[id] = setError('willDestroy');
    else kept[id] = patch;
  }
  return { update: kept, notUpdated };
}

/** RFC 8620 §5.3: each of created/updated/destroyed/not* is null when empty. */
export function setResponse<T>(input: {
  accountId: string;
  oldState: string | null;
  newState: string;
  created?: Record<string, T>;
  updated?: Record<string, T | null>;
  destroyed?: string[];
  notCreated?: Record<string, SetError>;
  notUpdated?: Record<string, SetError>;
  notDestroyed?: Record<string, SetError>;
}): SetResponse<T> {
  const orNull = <V>(v: Record<string, V> | undefined): Record<string, V> | null => (v && Object.keys(v).length > 0 ? v : null);
  return {
    accountId: input.accountId,
    oldState: input.oldState,
    newState: input.newState,
    created: orNull(input.created),
    updated: orNull(input.updated),
    destroyed: input.destroyed && input.destroyed.length > 0 ? input.destroyed : null,
    notCreated: orNull(input.notCreated),
    notUpdated: orNull(input.notUpdated),
    notDestroyed: orNull(input.notDestroyed),
  };
}

export type PatchOutcome = { ok: true; value: Record<string, unknown> } | { ok: false; error: SetError };

/**
 * Applies a PatchObject (RFC 8620 §5.3) to a copy of `record`. Keys are JSON Pointers without the leading "/";
 * a patch that points into an array, through a missing parent, or whose keys are prefixes of one another is
 * invalidPatch; null removes the property (the data type maps it to a default where it has one).
 */
export function applyPatch(record: Record<string, unknown>, patch: Record<string, unknown>): PatchOutcome {
  const invalid = (description: string): PatchOutcome => ({ ok: false, error: setError('invalidPatch', { description }) });
  const paths = Object.keys(patch).map((key) => ({ key, tokens: key.split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~')) }));
  // RFC 8620 §5.3: no pointer may be a prefix of another ("alerts/1/offset" and "alerts").
  for (const a of paths) {
    for (const b of paths) {
      if (a !== b && a.tokens.length < b.tokens.length && a.tokens.every((t, i) => t === b.tokens[i])) return invalid(`"${a.key}" is a prefix of "${b.key}"`);
    }
  }
  const out = structuredClone(record);
  for (const { key, tokens } of paths) {
    if (/~(?![01])/.test(key)) return invalid(`"${key}" is not a JSON Pointer`);
    let parent: Record<string, unknown> = out;
    for (const token of tokens.slice(0, -1)) {
      const next = Object.prototype.hasOwnProperty.call(parent, token) ? parent[token] : undefined;
      // RFC 8620 §5.3: every part before the last must already exist, and none may be an array.
      if (next === null || typeof next !== 'object') return invalid(`"${key}" goes through a missing property`);
      if (Array.isArray(next)) return invalid(`"${key}" points inside an array`);
      parent = next as Record<string, unknown>;
    }
    const last = tokens[tokens.length - 1]!;
    const value = patch[key];
    if (value === null) delete parent[last];
    else Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, value: out };
}
