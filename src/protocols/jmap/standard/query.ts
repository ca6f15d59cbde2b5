/**
 * The standard /query method (RFC 8620 §5.5): filter, sort and paging arguments, the response shape, and the
 * position/anchor/limit rules every data type's /query applies to its sorted result ids.
 */
import { z } from 'zod';
import { MethodError } from '../method-error.ts';
import { idSchema, intSchema, unsignedIntSchema } from './primitives.ts';

export type FilterOperator<C> = { operator: 'AND' | 'OR' | 'NOT'; conditions: Filter<C>[] };
export type Filter<C> = FilterOperator<C> | C;

/**
 * RFC 8620 §5.5: a filter is a FilterOperator (operator + conditions) or a data type's FilterCondition; an
 * object with an "operator" member is read as a FilterOperator. The request's depth limit bounds the recursion.
 */
export function filterSchema<C>(condition: z.ZodType<C>): z.ZodType<Filter<C>> {
  const filter: z.ZodType<Filter<C>> = z.lazy(() =>
    z.union([
      z.object({ operator: z.enum(['AND', 'OR', 'NOT']), conditions: z.array(filter) }),
      condition.refine((c) => c === null || typeof c !== 'object' || !Object.prototype.hasOwnProperty.call(c, 'operator'), 'not a FilterOperator'),
    ]),
  ) as z.ZodType<Filter<C>>;
  return filter;
}

/** RFC 8620 §5.5: a Comparator; isAscending defaults to true. */
export const comparatorSchema = z.object({
  property: z.string(),
  isAscending: z.boolean().default(true),
  collation: z.string().optional(),
});
export type Comparator = z.infer<typeof comparatorSchema>;

export function queryArgsSchema<C>(condition: z.ZodType<C>) {
  return z.object({
    accountId: idSchema,
    filter: filterSchema(condition).nullable().default(null),
    sort: z.array(comparatorSchema).nullable().default(null),
    position: intSchema.default(0),
    anchor: idSchema.nullable().default(null),
    anchorOffset: intSchema.default(0),
    // RFC 8620 §5.5: a negative limit MUST be rejected with invalidArguments (UnsignedInt does that).
    limit: unsignedIntSchema.nullable().default(null),
    calculateTotal: z.boolean().default(false),
  });
}
export type QueryArgs<C> = z.infer<ReturnType<typeof queryArgsSchema<C>>>;

export interface QueryResponse {
  accountId: string;
  queryState: string;
  canCalculateChanges: boolean;
  position: number;
  ids: string[];
  total?: number;
  limit?: number;
}

/**
 * RFC 8620 §5.5 paging over the full sorted result list:
 * - with an anchor, position is ignored; the anchor's index plus anchorOffset (clamped to 0) is the start,
 *   and an anchor not in the results is anchorNotFound;
 * - a negative position is added to the total and clamped to 0;
 * - a start past the end gives no ids, which is not an error;
 * - a limit above the server's maximum (or none) is clamped and the clamped limit is returned.
 */
export function pageQuery(
  ids: readonly string[],
  args: { position: number; anchor: string | null; anchorOffset: number; limit: number | null; calculateTotal: boolean },
  options: { maxLimit?: number } = {},
): { position: number; ids: string[]; total?: number; limit?: number } {
  let start: number;
  if (args.anchor !== null) {
    const index = ids.indexOf(args.anchor);
    if (index === -1) throw new MethodError('anchorNotFound');
    start = Math.max(0, index + args.anchorOffset);
  } else if (args.position < 0) {
    start = Math.max(0, ids.length + args.position);
  } else {
    start = args.position;
  }
  let limit = args.limit;
  let clamped: number | undefined;
  if (options.maxLimit !== undefined && (limit === null || limit > options.maxLimit)) {
    limit = options.maxLimit;
    clamped = options.maxLimit;
  }
  const page = start >= ids.length ? [] : ids.slice(start, limit === null ? undefined : start + limit);
  const out: { position: number; ids: string[]; total?: number; limit?: number } = { position: start, ids: page };
  if (args.calculateTotal) out.total = ids.length;
  if (clamped !== undefined) out.limit = clamped;
  return out;
}

/** RFC 8620 §5.5 unsupportedSort: a property the type cannot sort by, or a collation the server does not know. */
export function checkSort(sort: readonly Comparator[] | null, sortable: readonly string[], collations: readonly string[]): void {
  for (const c of sort ?? []) {
    if (!sortable.includes(c.property)) throw new MethodError('unsupportedSort', `cannot sort by ${JSON.stringify(c.property)}`);
    if (c.collation !== undefined && !collations.includes(c.collation)) throw new MethodError('unsupportedSort', `unknown collation ${JSON.stringify(c.collation)}`);
  }
}
