/**
 * State strings of the Mail data types and the shared /changes logic (RFC 8620 §5.2) over the account's
 * change history: one modseq per account is the state of Mailbox, Email and Thread (docs/decisions/0008).
 */
import { formatObjectId, type ObjectKind } from '../../../core/object-ids.ts';
import { MethodError } from '../method-error.ts';
import { changesResponse, type ChangesArgs, type ChangesResponse } from '../standard/changes.ts';
import type { JmapMailBackend, MailObjectType } from './backend.ts';

/** Changes returned by one /changes at most when the client gives no maxChanges. */
export const MAX_CHANGES = 5000;

export function formatState(modSeq: number): string {
  return String(modSeq);
}

/** RFC 8620 §5.2: a state the server does not know (malformed, or from the future) is cannotCalculateChanges. */
export function parseState(state: string, current: number): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(state)) throw new MethodError('cannotCalculateChanges', 'unknown state');
  const n = Number(state);
  if (n > current) throw new MethodError('cannotCalculateChanges', 'unknown state');
  return n;
}

const KIND: Record<MailObjectType, ObjectKind> = { Mailbox: 'mailbox', Email: 'email', Thread: 'thread' };

export async function mailChanges(backend: JmapMailBackend, accountId: string, type: MailObjectType, args: ChangesArgs): Promise<ChangesResponse> {
  const current = await backend.mailState(accountId);
  return pagedChanges(args, current, async (since, limit) => (await backend.changes(accountId, type, since, limit)).map((r) => ({ ...r, id: formatObjectId(KIND[type], r.id) })));
}

/**
 * RFC 8620 §5.2 over a history of changes with ascending state numbers: at most maxChanges ids (the
 * server's MAX_CHANGES without one), and a page that ends between two states so the client can go on.
 */
export async function pagedChanges(args: ChangesArgs, current: number, read: (since: number, limit: number) => Promise<{ id: string; modSeq: number; created: boolean; destroyed: boolean }[]>): Promise<ChangesResponse> {
  const since = parseState(args.sinceState, current);
  const limit = Math.min(args.maxChanges ?? MAX_CHANGES, MAX_CHANGES);
  let rows = (await read(since, limit)).filter((r) => r.modSeq <= current);
  let newState = current;
  let hasMoreChanges = false;
  if (rows.length > limit) {
    hasMoreChanges = true;
    // A page ends between two modseqs: the client resumes from the last one it saw complete.
    const boundary = rows[limit]!.modSeq;
    rows = rows.slice(0, limit).filter((r) => r.modSeq < boundary);
    if (rows.length === 0) throw new MethodError('cannotCalculateChanges', 'more changes at one state than maxChanges');
    newState = rows[rows.length - 1]!.modSeq;
  }
  return changesResponse({
    accountId: args.accountId,
    oldState: args.sinceState,
    newState: formatState(newState),
    hasMoreChanges,
    created: rows.filter((r) => r.created && !r.destroyed).map((r) => r.id),
    updated: rows.filter((r) => !r.created && !r.destroyed).map((r) => r.id),
    destroyed: rows.filter((r) => r.destroyed).map((r) => r.id),
  });
}
