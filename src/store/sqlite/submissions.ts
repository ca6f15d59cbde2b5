/**
 * EmailSubmission and Identity objects (RFC 8621 §6, §7) on SQLite: one row each, a state counter per account
 * and type, and destroyed rows kept as tombstones for `/changes`. Rows go with their account.
 */
import type { AccountObjectType, EmailSubmissionRecord, IdentityInput, IdentityRecord, ObjectChange, SubmissionDeliveryStatus, SubmissionStore } from '../types.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';

export interface IdentityRow {
  id: number;
  account_id: number;
  is_primary: number | boolean;
  email: string;
  name: string;
  reply_to: string | null;
  bcc: string | null;
  text_signature: string;
  html_signature: string;
}

export interface SubmissionRow {
  id: number;
  account_id: number;
  identity_id: string;
  email_id: number;
  thread_id: number;
  envelope: string;
  send_at: number;
  undo_status: string;
  delivery_status: string | null;
  queue_id: string | null;
  created_at: number;
}

export function toIdentity(row: IdentityRow): IdentityRecord {
  return {
    accountId: Number(row.account_id), id: Number(row.id), primary: row.is_primary === true || row.is_primary === 1, email: row.email, name: row.name,
    replyTo: row.reply_to === null ? null : JSON.parse(row.reply_to), bcc: row.bcc === null ? null : JSON.parse(row.bcc),
    textSignature: row.text_signature, htmlSignature: row.html_signature,
  };
}

export function toSubmission(row: SubmissionRow): EmailSubmissionRecord {
  return {
    accountId: Number(row.account_id), id: Number(row.id), identityId: row.identity_id, emailId: Number(row.email_id), threadId: Number(row.thread_id),
    envelope: JSON.parse(row.envelope), sendAt: new Date(Number(row.send_at)), undoStatus: row.undo_status as EmailSubmissionRecord['undoStatus'],
    deliveryStatus: row.delivery_status === null ? null : JSON.parse(row.delivery_status), queueId: row.queue_id, createdAt: new Date(Number(row.created_at)),
  };
}

/** The delivery status after an outcome: the recipients reported replace theirs, the others keep theirs. */
export function mergeDeliveryStatus(before: string | null, statuses: Record<string, SubmissionDeliveryStatus>): string {
  const current = (before === null ? {} : JSON.parse(before)) as Record<string, SubmissionDeliveryStatus>;
  const byLower = new Map(Object.keys(current).map((k) => [k.toLowerCase(), k]));
  // Keyed by the envelope's recipients: a queue recipient that is none of them (an alias's target) is left out.
  for (const [address, status] of Object.entries(statuses)) {
    const key = byLower.get(address.toLowerCase());
    if (key !== undefined) current[key] = status;
  }
  return JSON.stringify(current);
}

export const EVENT_OF: Record<AccountObjectType, 'submission' | 'identity'> = { EmailSubmission: 'submission', Identity: 'identity' };
export const TABLE_OF: Record<AccountObjectType, string> = { EmailSubmission: 'email_submissions', Identity: 'identities' };

export function sqliteSubmissionStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed }): SubmissionStore {
  const { db, changes } = deps;
  const q = {
    state: db.prepare('SELECT seq FROM account_object_seqs WHERE account_id = ? AND type = ?'),
    bump: db.prepare(`INSERT INTO account_object_seqs (account_id, type, seq) VALUES (?, ?, 1)
      ON CONFLICT (account_id, type) DO UPDATE SET seq = seq + 1 RETURNING seq`),
    accountExists: db.prepare('SELECT 1 FROM accounts WHERE id = ?'),
    identities: db.prepare('SELECT * FROM identities WHERE account_id = ? AND NOT destroyed ORDER BY id'),
    identity: db.prepare('SELECT * FROM identities WHERE account_id = ? AND id = ? AND NOT destroyed'),
    primary: db.prepare('SELECT * FROM identities WHERE account_id = ? AND is_primary'),
    insertIdentity: db.prepare(`INSERT INTO identities (account_id, is_primary, email, name, reply_to, bcc, text_signature, html_signature, created_seq, mod_seq)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    updateIdentity: db.prepare(`UPDATE identities SET email = ?, name = ?, reply_to = ?, bcc = ?, text_signature = ?, html_signature = ?, mod_seq = ?
      WHERE account_id = ? AND id = ? AND NOT destroyed RETURNING *`),
    destroyIdentity: db.prepare('UPDATE identities SET destroyed = 1, mod_seq = ? WHERE account_id = ? AND id = ? AND NOT destroyed AND NOT is_primary'),
    insertSubmission: db.prepare(`INSERT INTO email_submissions (account_id, identity_id, email_id, thread_id, envelope, send_at, undo_status, delivery_status, queue_id, created_at, created_seq, mod_seq)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    submissions: db.prepare('SELECT * FROM email_submissions WHERE account_id = ? AND NOT destroyed ORDER BY id'),
    submissionsById: db.prepare('SELECT * FROM email_submissions WHERE account_id = ? AND NOT destroyed AND id IN (SELECT value FROM json_each(?)) ORDER BY id'),
    submission: db.prepare('SELECT * FROM email_submissions WHERE account_id = ? AND id = ? AND NOT destroyed'),
    byQueue: db.prepare('SELECT * FROM email_submissions WHERE queue_id = ? AND NOT destroyed'),
    setSubmission: db.prepare('UPDATE email_submissions SET undo_status = ?, delivery_status = ?, mod_seq = ? WHERE id = ? RETURNING *'),
    destroySubmission: db.prepare('UPDATE email_submissions SET destroyed = 1, mod_seq = ? WHERE account_id = ? AND id = ? AND NOT destroyed'),
  };
  const changesSql = (type: AccountObjectType): string =>
    `SELECT id, mod_seq, created_seq > ? AS created, destroyed FROM ${TABLE_OF[type]} WHERE account_id = ? AND mod_seq > ? AND NOT (destroyed AND created_seq > ?) ORDER BY mod_seq, id LIMIT ?`;
  const changesOf = { EmailSubmission: db.prepare(changesSql('EmailSubmission')), Identity: db.prepare(changesSql('Identity')) };
  const bump = (accountId: number, type: AccountObjectType): number => Number((q.bump.get(accountId, type) as { seq: number }).seq);
  const json = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

  return {
    async objectState(accountId, type) {
      return Number((q.state.get(accountId, type) as { seq: number } | undefined)?.seq ?? 0);
    },
    async accountObjectChanges(accountId, type, sinceState, limit): Promise<ObjectChange[]> {
      return (changesOf[type].all(sinceState, accountId, sinceState, sinceState, limit + 1) as { id: number; mod_seq: number; created: number; destroyed: number }[])
        .map((r) => ({ id: Number(r.id), modSeq: Number(r.mod_seq), created: Boolean(r.created), destroyed: Boolean(r.destroyed) }));
    },
    async listIdentities(accountId) {
      return (q.identities.all(accountId) as IdentityRow[]).map(toIdentity);
    },
    async createIdentity(accountId, input) {
      return changes.write((log) => {
        if (q.accountExists.get(accountId) === undefined) throw new Error(`account ${accountId} does not exist`);
        const seq = bump(accountId, 'Identity');
        const row = q.insertIdentity.get(accountId, 0, input.email, input.name, json(input.replyTo), json(input.bcc), input.textSignature, input.htmlSignature, seq, seq) as IdentityRow;
        log.push({ kind: 'account', accountId, event: 'identity' });
        return toIdentity(row);
      });
    },
    async updateIdentity(accountId, id, input: IdentityInput) {
      return changes.write((log) => {
        if (q.accountExists.get(accountId) === undefined) return null;
        const existing = id === 'primary' ? (q.primary.get(accountId) as IdentityRow | undefined) : (q.identity.get(accountId, id) as IdentityRow | undefined);
        if (id !== 'primary' && !existing) return null;
        const seq = bump(accountId, 'Identity');
        const row = existing
          ? (q.updateIdentity.get(input.email, input.name, json(input.replyTo), json(input.bcc), input.textSignature, input.htmlSignature, seq, accountId, existing.id) as IdentityRow)
          : (q.insertIdentity.get(accountId, 1, input.email, input.name, json(input.replyTo), json(input.bcc), input.textSignature, input.htmlSignature, seq, seq) as IdentityRow);
        log.push({ kind: 'account', accountId, event: 'identity' });
        return toIdentity(row);
      });
    },
    async destroyIdentity(accountId, id) {
      return changes.write((log) => {
        const row = q.identity.get(accountId, id) as IdentityRow | undefined;
        if (row === undefined || toIdentity(row).primary) return false;
        q.destroyIdentity.run(bump(accountId, 'Identity'), accountId, id);
        log.push({ kind: 'account', accountId, event: 'identity' });
        return true;
      });
    },
    async addSubmission(input) {
      return changes.write((log) => {
        if (q.accountExists.get(input.accountId) === undefined) throw new Error(`account ${input.accountId} does not exist`);
        const seq = bump(input.accountId, 'EmailSubmission');
        const row = q.insertSubmission.get(input.accountId, input.identityId, input.emailId, input.threadId, JSON.stringify(input.envelope), input.sendAt.getTime(),
          input.undoStatus, json(input.deliveryStatus), input.queueId, Date.now(), seq, seq) as SubmissionRow;
        log.push({ kind: 'account', accountId: input.accountId, event: 'submission' });
        return toSubmission(row);
      });
    },
    async listSubmissions(accountId, ids) {
      const rows = ids === undefined ? q.submissions.all(accountId) : q.submissionsById.all(accountId, JSON.stringify(ids));
      return (rows as SubmissionRow[]).map(toSubmission);
    },
    async updateSubmission(accountId, id, patch) {
      return changes.write((log) => {
        const row = q.submission.get(accountId, id) as SubmissionRow | undefined;
        if (!row) return null;
        const deliveryStatus = patch.deliveryStatus === undefined ? row.delivery_status : json(patch.deliveryStatus);
        const updated = q.setSubmission.get(patch.undoStatus ?? row.undo_status, deliveryStatus, bump(accountId, 'EmailSubmission'), id) as SubmissionRow;
        log.push({ kind: 'account', accountId, event: 'submission' });
        return toSubmission(updated);
      });
    },
    async destroySubmissions(accountId, ids) {
      return changes.write((log) => {
        const done: number[] = [];
        for (const id of ids) {
          if (q.submission.get(accountId, id) === undefined) continue;
          q.destroySubmission.run(bump(accountId, 'EmailSubmission'), accountId, id);
          done.push(id);
        }
        if (done.length > 0) log.push({ kind: 'account', accountId, event: 'submission' });
        return done;
      });
    },
    async recordSubmissionDelivery(queueId, statuses) {
      // Most queued mail has no submission (SMTP submission, forwards): one index read, no write.
      if (q.byQueue.get(queueId) === undefined) return;
      await changes.write((log) => {
        for (const row of q.byQueue.all(queueId) as SubmissionRow[]) {
          // RFC 8621 §7: once a recipient was attempted, the message cannot be recalled (final).
          const undo = row.undo_status === 'canceled' ? 'canceled' : 'final';
          q.setSubmission.run(undo, mergeDeliveryStatus(row.delivery_status, statuses), bump(row.account_id, 'EmailSubmission'), row.id);
          log.push({ kind: 'account', accountId: Number(row.account_id), event: 'submission' });
        }
      });
    },
  };
}
