/**
 * The standard /changes method (RFC 8620 §5.2): arguments, response shape and the rules for folding a
 * change history into created/updated/destroyed.
 */
import { z } from 'zod';
import { idSchema, unsignedIntSchema } from './primitives.ts';

export const changesArgsSchema = z.object({
  accountId: idSchema,
  sinceState: z.string(),
  // RFC 8620 §5.2: maxChanges, when given, MUST be greater than 0, else invalidArguments.
  maxChanges: unsignedIntSchema.min(1, 'maxChanges must be greater than 0').nullable().default(null),
});
export type ChangesArgs = z.infer<typeof changesArgsSchema>;

export interface ChangesResponse {
  accountId: string;
  oldState: string;
  newState: string;
  hasMoreChanges: boolean;
  created: string[];
  updated: string[];
  destroyed: string[];
}

/**
 * RFC 8620 §5.2: a record created and updated since sinceState is listed only as created; one created and
 * destroyed since then is not listed at all; each id appears once.
 */
export function changesResponse(input: { accountId: string; oldState: string; newState: string; hasMoreChanges: boolean; created: Iterable<string>; updated: Iterable<string>; destroyed: Iterable<string> }): ChangesResponse {
  const created = new Set(input.created);
  const destroyed = new Set(input.destroyed);
  for (const id of created) {
    if (destroyed.has(id)) {
      created.delete(id);
      destroyed.delete(id);
    }
  }
  const updated = new Set([...input.updated].filter((id) => !created.has(id) && !destroyed.has(id)));
  return {
    accountId: input.accountId,
    oldState: input.oldState,
    newState: input.newState,
    hasMoreChanges: input.hasMoreChanges,
    created: [...created],
    updated: [...updated],
    destroyed: [...destroyed],
  };
}
