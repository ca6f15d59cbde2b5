/**
 * The search index on PostgreSQL: one row per email with the lower-cased texts of the JMAP text conditions,
 * GIN trigram indexes (pg_trgm) answering `LIKE '%term%'` where the extension could be created, and an
 * exact `strpos` test on top; written with plain statements, outside the delivery commits.
 */
import type pg from 'pg';
import type { SearchIndexStore, SearchTerm } from '../types.ts';

const COLUMN = { from: 'f_from', to: 'f_to', cc: 'f_cc', bcc: 'f_bcc', subject: 'f_subject', body: 'f_body' } as const;
const PRUNE_BATCH = 2000;

/** A LIKE pattern for "contains `value`" (backslash is LIKE's default escape). */
function containsPattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function pgSearchIndexStore(deps: { pool: pg.Pool }): SearchIndexStore {
  const { pool } = deps;

  async function matching(accountId: number, term: SearchTerm): Promise<number[]> {
    const ids = async (text: string, values: unknown[]): Promise<number[]> => (await pool.query<{ email_id: number }>(text, values)).rows.map((r) => Number(r.email_id));
    switch (term.kind) {
      case 'hasAttachment': return ids('SELECT email_id FROM email_search WHERE account_id = $1 AND has_attachment = $2', [accountId, term.value]);
      case 'header': return ids(`SELECT email_id FROM email_search WHERE account_id = $1
        AND EXISTS (SELECT 1 FROM jsonb_array_elements(headers) j WHERE j ->> 0 = $2 AND ($3::text IS NULL OR strpos(j ->> 1, $3) > 0))`, [accountId, term.name, term.value]);
      case 'text': {
        // Documents hold no NUL (PostgreSQL text cannot), so a term with one matches nothing indexed.
        if (term.value.includes('\0')) return [];
        const test = term.fields.map((f) => `(${COLUMN[f]} LIKE $2 AND strpos(${COLUMN[f]}, $3) > 0)`).join(' OR ');
        return ids(`SELECT email_id FROM email_search WHERE account_id = $1 AND (${test})`, [accountId, containsPattern(term.value), term.value]);
      }
    }
  }

  return {
    async unindexedEmails(options) {
      const r = await pool.query<{ id: number; account_id: number }>(`SELECT e.id, e.account_id FROM emails e
        WHERE e.id > $1 AND NOT EXISTS (SELECT 1 FROM email_search s WHERE s.email_id = e.id) ORDER BY e.id LIMIT $2`, [options.afterEmailId, options.limit]);
      return r.rows.map((row) => ({ emailId: Number(row.id), accountId: Number(row.account_id) }));
    },
    async writeSearchDocuments(documents) {
      if (documents.length === 0) return;
      const values: unknown[] = [];
      const rows = documents.map((d) => {
        const at = values.length;
        values.push(d.emailId, d.accountId, d.from, d.to, d.cc, d.bcc, d.subject, d.body, d.hasAttachment, JSON.stringify(d.headers), d.summary);
        const p = (i: number): string => `$${at + i}`;
        return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}::jsonb, ${p(11)})`;
      });
      await pool.query(`INSERT INTO email_search (email_id, account_id, f_from, f_to, f_cc, f_bcc, f_subject, f_body, has_attachment, headers, summary)
        VALUES ${rows.join(', ')} ON CONFLICT (email_id) DO NOTHING`, values);
    },
    async searchEmails(accountId, terms) {
      // The unindexed first: a document found then stays until its email is gone, so a term read afterwards
      // sees every email not listed (one indexed in between is listed and read by the caller: still exact).
      const unindexed = await pool.query<{ id: number }>('SELECT e.id FROM emails e WHERE e.account_id = $1 AND NOT EXISTS (SELECT 1 FROM email_search s WHERE s.email_id = e.id)', [accountId]);
      const matches = await Promise.all(terms.map((t) => matching(accountId, t)));
      return { unindexed: unindexed.rows.map((r) => Number(r.id)), matches: matches.map((m) => new Set(m)) };
    },
    async emailSummaries(accountId, emailIds) {
      const out = new Map<number, string>();
      if (emailIds.length === 0) return out;
      const r = await pool.query<{ email_id: number; summary: string }>('SELECT email_id, summary FROM email_search WHERE account_id = $1 AND email_id = ANY($2::bigint[])', [accountId, emailIds]);
      for (const row of r.rows) out.set(Number(row.email_id), row.summary);
      return out;
    },
    async pruneSearchDocuments() {
      let removed = 0;
      for (;;) {
        const r = await pool.query(`DELETE FROM email_search WHERE email_id IN (SELECT s.email_id FROM email_search s
          WHERE NOT EXISTS (SELECT 1 FROM emails e WHERE e.id = s.email_id) LIMIT ${PRUNE_BATCH})`);
        removed += r.rowCount ?? 0;
        if ((r.rowCount ?? 0) < PRUNE_BATCH) return removed;
      }
    },
  };
}
