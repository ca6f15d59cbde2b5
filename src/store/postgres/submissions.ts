/**
 * EmailSubmission and Identity objects on PostgreSQL (the SQLite backend's submissions.ts, table for table):
 * shared by every node; the state counter's row lock orders writers of one account, so states only grow.
 */
import type pg from 'pg';
import type { AccountObjectType, IdentityInput, ObjectChange, SubmissionStore } from '../types.ts';
import { mergeDeliveryStatus, TABLE_OF, toIdentity, toSubmission, type IdentityRow, type SubmissionRow } from '../sqlite/submissions.ts';
import type { PgChangeFeed } from './change-feed.ts';

async function bump(c: pg.PoolClient, accountId: number, type: AccountObjectType): Promise<number> {
  const r = await c.query<{ seq: string }>(`INSERT INTO account_object_seqs (account_id, type, seq) VALUES ($1, $2, 1)
    ON CONFLICT (account_id, type) DO UPDATE SET seq = account_object_seqs.seq + 1 RETURNING seq`, [accountId, type]);
  return Number(r.rows[0]!.seq);
}

const json = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

export function pgSubmissionStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): SubmissionStore {
  const { pool, changes } = deps;
  return {
    async objectState(accountId, type) {
      const r = await pool.query<{ seq: string }>('SELECT seq FROM account_object_seqs WHERE account_id = $1 AND type = $2', [accountId, type]);
      return Number(r.rows[0]?.seq ?? 0);
    },
    async accountObjectChanges(accountId, type, sinceState, limit): Promise<ObjectChange[]> {
      const r = await pool.query<{ id: string; mod_seq: string; created: boolean; destroyed: boolean }>(
        `SELECT id, mod_seq, created_seq > $2 AS created, destroyed FROM ${TABLE_OF[type]} WHERE account_id = $1 AND mod_seq > $2 AND NOT (destroyed AND created_seq > $2) ORDER BY mod_seq, id LIMIT $3`,
        [accountId, sinceState, limit + 1]);
      return r.rows.map((row) => ({ id: Number(row.id), modSeq: Number(row.mod_seq), created: row.created, destroyed: row.destroyed }));
    },
    async listIdentities(accountId) {
      return (await pool.query<IdentityRow>('SELECT * FROM identities WHERE account_id = $1 AND NOT destroyed ORDER BY id', [accountId])).rows.map(toIdentity);
    },
    async createIdentity(accountId, input) {
      return changes.write(async (c, log) => {
        if ((await c.query('SELECT 1 FROM accounts WHERE id = $1', [accountId])).rows.length === 0) throw new Error(`account ${accountId} does not exist`);
        const seq = await bump(c, accountId, 'Identity');
        const row = (await c.query<IdentityRow>(`INSERT INTO identities (account_id, is_primary, email, name, reply_to, bcc, text_signature, html_signature, created_seq, mod_seq)
          VALUES ($1, false, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *`, [accountId, input.email, input.name, json(input.replyTo), json(input.bcc), input.textSignature, input.htmlSignature, seq])).rows[0]!;
        log.push({ kind: 'account', accountId, event: 'identity' });
        return toIdentity(row);
      });
    },
    async updateIdentity(accountId, id, input: IdentityInput) {
      return changes.write(async (c, log) => {
        if ((await c.query('SELECT 1 FROM accounts WHERE id = $1', [accountId])).rows.length === 0) return null;
        // The counter's row lock is taken first, so two nodes writing the primary identity do not both insert it.
        const seq = await bump(c, accountId, 'Identity');
        const existing = id === 'primary'
          ? (await c.query<IdentityRow>('SELECT * FROM identities WHERE account_id = $1 AND is_primary', [accountId])).rows[0]
          : (await c.query<IdentityRow>('SELECT * FROM identities WHERE account_id = $1 AND id = $2 AND NOT destroyed', [accountId, id])).rows[0];
        if (id !== 'primary' && !existing) throw new NoSuchObject();
        const values = [input.email, input.name, json(input.replyTo), json(input.bcc), input.textSignature, input.htmlSignature, seq];
        const row = existing
          ? (await c.query<IdentityRow>(`UPDATE identities SET email = $1, name = $2, reply_to = $3, bcc = $4, text_signature = $5, html_signature = $6, mod_seq = $7
              WHERE id = $8 RETURNING *`, [...values, existing.id])).rows[0]!
          : (await c.query<IdentityRow>(`INSERT INTO identities (email, name, reply_to, bcc, text_signature, html_signature, created_seq, mod_seq, account_id, is_primary)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, true) RETURNING *`, [...values, accountId])).rows[0]!;
        log.push({ kind: 'account', accountId, event: 'identity' });
        return toIdentity(row);
      }).catch((err: unknown) => {
        if (err instanceof NoSuchObject) return null;
        throw err;
      });
    },
    async destroyIdentity(accountId, id) {
      return changes.write(async (c, log) => {
        const found = await c.query('SELECT 1 FROM identities WHERE account_id = $1 AND id = $2 AND NOT destroyed AND NOT is_primary', [accountId, id]);
        if (found.rows.length === 0) return false;
        await c.query('UPDATE identities SET destroyed = true, mod_seq = $1 WHERE id = $2', [await bump(c, accountId, 'Identity'), id]);
        log.push({ kind: 'account', accountId, event: 'identity' });
        return true;
      });
    },
    async addSubmission(input) {
      return changes.write(async (c, log) => {
        if ((await c.query('SELECT 1 FROM accounts WHERE id = $1', [input.accountId])).rows.length === 0) throw new Error(`account ${input.accountId} does not exist`);
        const seq = await bump(c, input.accountId, 'EmailSubmission');
        const row = (await c.query<SubmissionRow>(`INSERT INTO email_submissions (account_id, identity_id, email_id, thread_id, envelope, send_at, undo_status, delivery_status, queue_id, created_at, created_seq, mod_seq)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *`,
        [input.accountId, input.identityId, input.emailId, input.threadId, JSON.stringify(input.envelope), input.sendAt.getTime(), input.undoStatus, json(input.deliveryStatus), input.queueId, Date.now(), seq])).rows[0]!;
        log.push({ kind: 'account', accountId: input.accountId, event: 'submission' });
        return toSubmission(row);
      });
    },
    async listSubmissions(accountId, ids) {
      const r = ids === undefined
        ? await pool.query<SubmissionRow>('SELECT * FROM email_submissions WHERE account_id = $1 AND NOT destroyed ORDER BY id', [accountId])
        : await pool.query<SubmissionRow>('SELECT * FROM email_submissions WHERE account_id = $1 AND NOT destroyed AND id = ANY($2::bigint[]) ORDER BY id', [accountId, ids]);
      return r.rows.map(toSubmission);
    },
    async updateSubmission(accountId, id, patch) {
      return changes.write(async (c, log) => {
        const row = (await c.query<SubmissionRow>('SELECT * FROM email_submissions WHERE account_id = $1 AND id = $2 AND NOT destroyed FOR UPDATE', [accountId, id])).rows[0];
        if (!row) return null;
        const deliveryStatus = patch.deliveryStatus === undefined ? row.delivery_status : json(patch.deliveryStatus);
        const updated = (await c.query<SubmissionRow>('UPDATE email_submissions SET undo_status = $1, delivery_status = $2, mod_seq = $3 WHERE id = $4 RETURNING *',
          [patch.undoStatus ?? row.undo_status, deliveryStatus, await bump(c, accountId, 'EmailSubmission'), id])).rows[0]!;
        log.push({ kind: 'account', accountId, event: 'submission' });
        return toSubmission(updated);
      });
    },
    async destroySubmissions(accountId, ids) {
      return changes.write(async (c, log) => {
        const found = await c.query<{ id: string }>('SELECT id FROM email_submissions WHERE account_id = $1 AND NOT destroyed AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE', [accountId, ids]);
        const done: number[] = [];
        for (const { id } of found.rows) {
          await c.query('UPDATE email_submissions SET destroyed = true, mod_seq = $1 WHERE id = $2', [await bump(c, accountId, 'EmailSubmission'), id]);
          done.push(Number(id));
        }
        if (done.length > 0) log.push({ kind: 'account', accountId, event: 'submission' });
        return done;
      });
    },
    async recordSubmissionDelivery(queueId, statuses) {
      // Most queued mail has no submission (SMTP submission, forwards): one index read, no write.
      if ((await pool.query('SELECT 1 FROM email_submissions WHERE queue_id = $1 LIMIT 1', [queueId])).rows.length === 0) return;
      await changes.write(async (c, log) => {
        const rows = (await c.query<SubmissionRow>('SELECT * FROM email_submissions WHERE queue_id = $1 AND NOT destroyed FOR UPDATE', [queueId])).rows;
        for (const row of rows) {
          // RFC 8621 §7: once a recipient was attempted, the message cannot be recalled (final).
          const undo = row.undo_status === 'canceled' ? 'canceled' : 'final';
          const accountId = Number(row.account_id);
          await c.query('UPDATE email_submissions SET undo_status = $1, delivery_status = $2, mod_seq = $3 WHERE id = $4',
            [undo, mergeDeliveryStatus(row.delivery_status, statuses), await bump(c, accountId, 'EmailSubmission'), row.id]);
          log.push({ kind: 'account', accountId, event: 'submission' });
        }
      });
    },
  };
}

/** Thrown inside a write to leave it without changes when the identity to update is gone. */
class NoSuchObject extends Error {}
