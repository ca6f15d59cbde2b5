/**
 * The standard /get method (RFC 8620 §5.1): its arguments schema, response shape and the rules every data
 * type's /get shares (maxObjectsInGet, duplicate ids, property selection).
 */
import { z } from 'zod';
import { MethodError } from '../method-error.ts';
import { idOrCreationRefSchema, idSchema } from './primitives.ts';

export const getArgsSchema = z.object({
  accountId: idSchema,
  /** null asks for every record, when the type allows it and there are at most maxObjectsInGet. */
  ids: z.array(idOrCreationRefSchema).nullable().default(null),
  properties: z.array(z.string()).nullable().default(null),
});
export type GetArgs = z.infer<typeof getArgsSchema>;

export interface GetResponse<T> {
  accountId: string;
  state: string;
  list: T[];
  notFound: string[];
}

/**
 * RFC 8620 §5.1: more ids than maxObjectsInGet is requestTooLarge; an id listed twice is answered once (in list
 * or notFound), so the ids are de-duplicated in order.
 */
export function checkGetIds(ids: readonly string[] | null, maxObjectsInGet: number): string[] | null {
  if (ids === null) return null;
  const unique = [...new Set(ids)];
  if (unique.length > maxObjectsInGet) throw new MethodError('requestTooLarge', `at most ${maxObjectsInGet} ids per /get`);
  return unique;
}

/**
 * RFC 8620 §5.1 properties: null means all of them; a property the type does not have is invalidArguments;
 * "id" is always returned even if not asked for.
 */
export function selectProperties(requested: readonly string[] | null, known: readonly string[], defaults: readonly string[] = known): Set<string> {
  if (requested === null) return new Set(['id', ...defaults]);
  const unknown = requested.filter((p) => !known.includes(p));
  if (unknown.length > 0) throw new MethodError('invalidArguments', `unknown properties: ${unknown.slice(0, 5).join(', ')}`);
  return new Set(['id', ...requested]);
}

/** Keeps only the selected properties of a record. */
export function pickProperties<T extends Record<string, unknown>>(record: T, properties: ReadonlySet<string>): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const p of properties) if (Object.prototype.hasOwnProperty.call(record, p)) out[p] = record[p];
  return out as Partial<T>;
}

/** RFC 8620 §5.1: ids null returns every record only when there are at most maxObjectsInGet; else requestTooLarge. */
export function checkGetAll(recordCount: number, maxObjectsInGet: number): void {
  if (recordCount > maxObjectsInGet) throw new MethodError('requestTooLarge', `more than ${maxObjectsInGet} records; ask for ids`);
}
