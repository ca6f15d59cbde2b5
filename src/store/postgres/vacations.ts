/**
 * Vacation responses and the senders they answered on PostgreSQL (the SQLite backend's vacations.ts, table
 * for table): shared by every node, so a sender answered through one node is not answered by another.
 */
import type pg from 'pg';
import type { VacationRecord, VacationStore } from '../types.ts';
import { forgetsReplies, toVacation } from '../sqlite/vacations.ts';
import type { PgChangeFeed } from './change-feed.ts';

export function pgVacationStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): VacationStore {
  const { pool, changes } = deps;
  return {
    async getVacation(accountId) {
      return toVacation(accountId, (await pool.query('SELECT * FROM vacation_responses WHERE account_id = $1', [accountId])).rows[0]);
    },
    async setVacation(accountId, input) {
      return changes.write(async (c, log) => {
        // The row lock orders two writers of one account, so states only grow.
        const exists = await c.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [accountId]);
        if (exists.rows.length === 0) throw new Error(`account ${accountId} does not exist`);
        const before = toVacation(accountId, (await c.query('SELECT * FROM vacation_responses WHERE account_id = $1', [accountId])).rows[0]);
        const after: VacationRecord = { accountId, ...input, state: before.state + 1 };
        await c.query(`INSERT INTO vacation_responses (account_id, is_enabled, from_date, to_date, subject, text_body, html_body, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
          ON CONFLICT (account_id) DO UPDATE SET is_enabled = excluded.is_enabled, from_date = excluded.from_date, to_date = excluded.to_date,
          subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body, state = excluded.state`,
        [accountId, after.isEnabled, after.fromDate?.getTime() ?? null, after.toDate?.getTime() ?? null, after.subject, after.textBody, after.htmlBody, after.state]);
        if (forgetsReplies(before, after) || !after.isEnabled) await c.query('DELETE FROM vacation_replies WHERE account_id = $1', [accountId]);
        log.push({ kind: 'account', accountId, event: 'vacation' });
        return after;
      });
    },
    async listEnabledVacations() {
      return (await pool.query<{ account_id: string }>('SELECT account_id FROM vacation_responses WHERE is_enabled')).rows.map((r) => Number(r.account_id));
    },
    async claimVacationReply(accountId, sender, now, notBefore) {
      // The period is checked in the statement itself, so two nodes delivering at once cannot both claim a sender.
      return changes.write(async (c) => ((await c.query(`INSERT INTO vacation_replies (account_id, sender, sent_at) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, sender) DO UPDATE SET sent_at = excluded.sent_at WHERE vacation_replies.sent_at < $4`,
      [accountId, sender.toLowerCase(), now.getTime(), notBefore.getTime()])).rowCount ?? 0) > 0);
    },
  };
}
