/**
 * Vacation responses (RFC 8621 §8) and the senders they answered (RFC 3834 §2: one reply per sender per
 * period) on SQLite; both go with their account.
 */
import type { VacationRecord, VacationStore } from '../types.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';

interface VacationRow {
  account_id: number;
  is_enabled: number;
  from_date: number | null;
  to_date: number | null;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
  state: number;
}

export function toVacation(accountId: number, row: Omit<VacationRow, 'is_enabled'> & { is_enabled: number | boolean } | undefined): VacationRecord {
  if (!row) return { accountId, isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null, state: 0 };
  const date = (ms: number | string | null): Date | null => (ms === null ? null : new Date(Number(ms)));
  return {
    accountId,
    isEnabled: row.is_enabled === true || row.is_enabled === 1,
    fromDate: date(row.from_date),
    toDate: date(row.to_date),
    subject: row.subject,
    textBody: row.text_body,
    htmlBody: row.html_body,
    state: Number(row.state),
  };
}

/** RFC 5230 §4.2: the senders answered are remembered per response; a new text or enabling it again starts afresh. */
export function forgetsReplies(before: VacationRecord, after: Pick<VacationRecord, 'isEnabled' | 'subject' | 'textBody' | 'htmlBody'>): boolean {
  return (after.isEnabled && !before.isEnabled) || before.subject !== after.subject || before.textBody !== after.textBody || before.htmlBody !== after.htmlBody;
}

export function sqliteVacationStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed }): VacationStore {
  const { db, changes } = deps;
  const q = {
    get: db.prepare('SELECT * FROM vacation_responses WHERE account_id = ?'),
    put: db.prepare(`INSERT INTO vacation_responses (account_id, is_enabled, from_date, to_date, subject, text_body, html_body, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (account_id) DO UPDATE SET is_enabled = excluded.is_enabled, from_date = excluded.from_date, to_date = excluded.to_date,
      subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body, state = excluded.state`),
    forget: db.prepare('DELETE FROM vacation_replies WHERE account_id = ?'),
    enabled: db.prepare('SELECT account_id FROM vacation_responses WHERE is_enabled = 1'),
    accountExists: db.prepare('SELECT 1 FROM accounts WHERE id = ?'),
    // The period is checked in the statement itself, so two deliveries at once cannot both claim a sender.
    claim: db.prepare(`INSERT INTO vacation_replies (account_id, sender, sent_at) VALUES (?, ?, ?)
      ON CONFLICT (account_id, sender) DO UPDATE SET sent_at = excluded.sent_at WHERE vacation_replies.sent_at < ?`),
  };
  return {
    async getVacation(accountId) {
      return toVacation(accountId, q.get.get(accountId) as VacationRow | undefined);
    },
    async setVacation(accountId, input) {
      return changes.write((log) => {
        if (q.accountExists.get(accountId) === undefined) throw new Error(`account ${accountId} does not exist`);
        const before = toVacation(accountId, q.get.get(accountId) as VacationRow | undefined);
        const after: VacationRecord = { accountId, ...input, state: before.state + 1 };
        q.put.run(accountId, after.isEnabled ? 1 : 0, after.fromDate?.getTime() ?? null, after.toDate?.getTime() ?? null, after.subject, after.textBody, after.htmlBody, after.state);
        if (forgetsReplies(before, after) || !after.isEnabled) q.forget.run(accountId);
        log.push({ kind: 'account', accountId, event: 'vacation' });
        return after;
      });
    },
    async listEnabledVacations() {
      return (q.enabled.all() as { account_id: number }[]).map((r) => r.account_id);
    },
    async claimVacationReply(accountId, sender, now, notBefore) {
      return changes.write(() => q.claim.run(accountId, sender.toLowerCase(), now.getTime(), notBefore.getTime()).changes > 0);
    },
  };
}
