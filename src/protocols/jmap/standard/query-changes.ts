/**
 * The standard /queryChanges method (RFC 8620 §5.6): arguments, response shape and the maxChanges rule
 * shared by every data type's /queryChanges.
 */
import { z } from 'zod';
import { MethodError } from '../method-error.ts';
import { idSchema, unsignedIntSchema } from './primitives.ts';
import { comparatorSchema, filterSchema } from './query.ts';

export function queryChangesArgsSchema<C>(condition: z.ZodType<C>) {
  return z.object({
    accountId: idSchema,
    filter: filterSchema(condition).nullable().default(null),
    sort: z.array(comparatorSchema).nullable().default(null),
    sinceQueryState: z.string(),
    maxChanges: unsignedIntSchema.nullable().default(null),
    upToId: idSchema.nullable().default(null),
    calculateTotal: z.boolean().default(false),
  });
}
export type QueryChangesArgs<C> = z.infer<ReturnType<typeof queryChangesArgsSchema<C>>>;

/** RFC 8620 §5.6: an id added at `index` of the new results. */
export interface AddedItem {
  id: string;
  index: number;
}

export interface QueryChangesResponse {
  accountId: string;
  oldQueryState: string;
  newQueryState: string;
  total?: number;
  removed: string[];
  added: AddedItem[];
}

/** RFC 8620 §5.6 tooManyChanges: removed plus added would exceed the client's maxChanges. */
export function checkQueryChangesCount(removed: number, added: number, maxChanges: number | null): void {
  if (maxChanges !== null && removed + added > maxChanges) throw new MethodError('tooManyChanges');
}
