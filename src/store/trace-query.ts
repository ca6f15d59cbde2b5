/**
 * The SQL of a message trace search and the row mapping, shared by the backends (only the placeholders
 * differ): every criterion must match some event of a message; the answer is the newest matching messages'
 * queue ids.
 */
import type { TraceEventInput, TraceEventKind, TraceEventRecord, TraceQuery } from './types.ts';

export const DEFAULT_TRACE_LIMIT = 50;

/** The search for a backend: parameters as `?` and `instr` on SQLite, `$n` and `strpos` on PostgreSQL. */
export function traceSearchSql(query: TraceQuery, dialect: 'sqlite' | 'postgres'): { text: string; values: (string | number)[] } {
  const values: (string | number)[] = [];
  const param = (v: string | number): string => {
    values.push(v);
    return dialect === 'sqlite' ? '?' : `$${values.length}`;
  };
  const matches: string[] = [];
  const pick = (cond: string): void => void matches.push(`SELECT queue_id FROM message_trace WHERE ${cond}`);
  if (query.queueId) pick(`queue_id = ${param(query.queueId)}`);
  if (query.messageId) pick(`message_id = ${param(query.messageId.replace(/^<|>$/g, ''))}`);
  if (query.sender !== undefined) pick(`sender = ${param(query.sender.toLowerCase())}`);
  // Recipients are kept as a JSON array of lower-case addresses: an exact address is `"addr"` in it.
  if (query.recipient) pick(`${dialect === 'sqlite' ? 'instr' : 'strpos'}(recipients, ${param(JSON.stringify(query.recipient.toLowerCase()))}) > 0`);
  if (query.result) pick(`result = ${param(query.result)}`);
  if (query.since) pick(`at >= ${param(query.since.getTime())}`);
  if (query.until) pick(`at < ${param(query.until.getTime())}`);
  // Who may read what is a criterion like the others: LIMIT then counts only messages the reader may see.
  if (query.domains) pick(domainCondition(query.domains, param, dialect));
  if (query.submitter !== undefined) pick(`event = 'received' AND ${userOf(dialect)} = ${param(query.submitter)}`);
  const where = matches.length > 0 ? `WHERE queue_id IN (${matches.join(' INTERSECT ')})` : '';
  const limit = param(Math.max(1, Math.min(query.limit ?? DEFAULT_TRACE_LIMIT, 10_000)));
  return { text: `SELECT queue_id FROM message_trace ${where} GROUP BY queue_id ORDER BY max(at) DESC, queue_id LIMIT ${limit}`, values };
}

/** The authenticated user of an event (the submitter, on a `received` row). */
function userOf(dialect: 'sqlite' | 'postgres'): string {
  return dialect === 'sqlite' ? `json_extract(data, '$.user')` : `(data::jsonb ->> 'user')`;
}

/**
 * Some event of the message has its sender, one of its recipients or its submitter at one of `domains`
 * (addresses are stored in lower case; a recipient `a@d` is `"a@d"` in the JSON array, so `@d"` ends it
 * exactly). As the queue's admin view: a domain admin sees what their domains send and receive.
 */
function domainCondition(domains: readonly string[], param: (v: string) => string, dialect: 'sqlite' | 'postgres'): string {
  const conds: string[] = [];
  for (const domain of domains) {
    const at = `@${domain.toLowerCase()}`;
    // A new parameter per use: SQLite's `?` are positional.
    const endsWithDomain = (): string => `LIKE ${param(`%${at.replace(/[\\%_]/g, (c) => `\\${c}`)}`)} ESCAPE '\\'`;
    conds.push(`sender ${endsWithDomain()}`);
    conds.push(`(event = 'received' AND lower(${userOf(dialect)}) ${endsWithDomain()})`);
    conds.push(`${dialect === 'sqlite' ? 'instr' : 'strpos'}(recipients, ${param(JSON.stringify(at).slice(1))}) > 0`);
  }
  return conds.length > 0 ? `(${conds.join(' OR ')})` : '1 = 0';
}

export interface TraceRow {
  id: number;
  at: number;
  queue_id: string;
  event: string;
  result: string;
  reason: string | null;
  message_id: string | null;
  sender: string | null;
  recipients: string;
  data: string;
}

export function toTraceRecord(row: TraceRow): TraceEventRecord {
  return {
    id: Number(row.id),
    at: new Date(Number(row.at)),
    queueId: row.queue_id,
    event: row.event as TraceEventKind,
    result: row.result,
    reason: row.reason,
    messageId: row.message_id,
    sender: row.sender,
    recipients: JSON.parse(row.recipients) as string[],
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/** The column values of one event, in the order at, queue_id, event, result, reason, message_id, sender, recipients, data. */
export function traceValues(e: TraceEventInput): (string | number | null)[] {
  return [
    e.at.getTime(), e.queueId, e.event, e.result ?? e.event, e.reason ?? null, e.messageId ?? null,
    e.sender === undefined || e.sender === null ? null : e.sender.toLowerCase(), JSON.stringify((e.recipients ?? []).map((r) => r.toLowerCase())), JSON.stringify(e.data ?? {}),
  ];
}

/** `alice@example.org/INBOX` → `alice@example.org`. */
function accountOfLabel(label: string): string {
  const slash = label.indexOf('/');
  return slash < 0 ? label : label.slice(0, slash);
}

/**
 * An accepted message is one `received` row whose data names its mailbox copies (`stored`, `folder`) and its
 * queued recipients (`queued`): read back, those are the `stored` and `queued` steps of its timeline.
 */
export function expandAcceptance(r: TraceEventRecord): TraceEventRecord[] {
  if (r.event !== 'received' || (r.data.stored === undefined && r.data.queued === undefined)) return [r];
  const { stored, folder, queued, ...data } = r.data as { stored?: string[]; folder?: string; queued?: string[] } & Record<string, unknown>;
  const out: TraceEventRecord[] = [{ ...r, data }];
  if (stored) out.push({ ...r, event: 'stored', result: 'stored', reason: null, recipients: [...new Set(stored.map(accountOfLabel))], data: { mailboxes: stored, folder: folder ?? 'inbox' } });
  if (queued) out.push({ ...r, event: 'queued', result: 'queued', reason: null, recipients: queued, data: {} });
  return out;
}
