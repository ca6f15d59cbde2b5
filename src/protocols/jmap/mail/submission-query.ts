/**
 * EmailSubmission/query's filter conditions and sorts (RFC 8621 §7.3) over the account's submissions.
 */
import { z } from 'zod';
import { MethodError } from '../method-error.ts';
import { utcDateSchema } from '../standard/primitives.ts';
import { checkSort, type Comparator, type Filter } from '../standard/query.ts';
import type { EmailSubmissionRecord } from './submission-backend.ts';

export const submissionConditionSchema = z.object({
  identityIds: z.array(z.string()).optional(),
  emailIds: z.array(z.string()).optional(),
  threadIds: z.array(z.string()).optional(),
  undoStatus: z.enum(['pending', 'final', 'canceled']).optional(),
  before: utcDateSchema.optional(),
  after: utcDateSchema.optional(),
}).strict();
export type SubmissionCondition = z.infer<typeof submissionConditionSchema>;

/** RFC 8621 §7.3: the properties EmailSubmission/query sorts by ("sentAt" is the sendAt property). */
export const SUBMISSION_SORTS = ['emailId', 'threadId', 'sentAt'];

function matchesCondition(s: EmailSubmissionRecord, c: SubmissionCondition): boolean {
  if (c.identityIds && !c.identityIds.includes(s.identityId)) return false;
  if (c.emailIds && !c.emailIds.includes(s.emailId)) return false;
  if (c.threadIds && !c.threadIds.includes(s.threadId)) return false;
  if (c.undoStatus && c.undoStatus !== s.undoStatus) return false;
  // RFC 8621 §7.3: before is sendAt < date, after is sendAt >= date.
  if (c.before && !(Date.parse(s.sendAt) < Date.parse(c.before))) return false;
  if (c.after && !(Date.parse(s.sendAt) >= Date.parse(c.after))) return false;
  return true;
}

export function matchesSubmission(s: EmailSubmissionRecord, filter: Filter<SubmissionCondition> | null): boolean {
  if (filter === null) return true;
  if ('operator' in filter) {
    const results = filter.conditions.map((f) => matchesSubmission(s, f));
    if (filter.operator === 'AND') return results.every(Boolean);
    if (filter.operator === 'OR') return results.some(Boolean);
    return !results.some(Boolean);
  }
  return matchesCondition(s, filter as SubmissionCondition);
}

/** Ids are "E<n>"/"T<n>": compared by number, so E9 sorts before E10. */
function idNumber(id: string): number {
  return Number(id.slice(1)) || 0;
}

/** The matching submissions in the requested order; ties (and no sort) go by creation order. */
export function querySubmissions(list: readonly EmailSubmissionRecord[], filter: Filter<SubmissionCondition> | null, sort: readonly Comparator[] | null): string[] {
  checkSort(sort, SUBMISSION_SORTS, ['i;ascii-numeric', 'i;ascii-casemap', 'i;unicode-casemap']);
  const key = (s: EmailSubmissionRecord, property: string): number => (property === 'emailId' ? idNumber(s.emailId) : property === 'threadId' ? idNumber(s.threadId) : Date.parse(s.sendAt));
  const matching = list.filter((s) => matchesSubmission(s, filter));
  matching.sort((a, b) => {
    for (const c of sort ?? []) {
      const d = key(a, c.property) - key(b, c.property);
      if (d !== 0) return c.isAscending ? d : -d;
    }
    return idNumber(a.id) - idNumber(b.id);
  });
  return matching.map((s) => s.id);
}

/** RFC 8620 §5.5 unsupportedFilter is answered by the schema; this guards the recursion depth of operators. */
export function checkFilterDepth(filter: unknown, depth = 0): void {
  if (depth > 16) throw new MethodError('unsupportedFilter', 'filter nested too deeply');
  if (filter && typeof filter === 'object' && 'conditions' in filter) for (const f of (filter as { conditions: unknown[] }).conditions) checkFilterDepth(f, depth + 1);
}
