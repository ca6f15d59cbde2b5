/**
 * Admin roles on PostgreSQL (the AccountStore part): a server admin flag on the account and the domains an
 * account administers. Grants go with their account and their domain (foreign keys cascade).
 */
import type pg from 'pg';
import type { AccountStore, AdminRoles } from '../types.ts';
import type { PgChangeFeed } from './change-feed.ts';

type AdminRoleStore = Pick<AccountStore, 'getAdminRoles' | 'listAdmins' | 'setServerAdmin' | 'addDomainAdmin' | 'removeDomainAdmin'>;

export function pgAdminRoleStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): AdminRoleStore {
  const { pool, changes } = deps;
  const rolesOf = async (accountId: number): Promise<AdminRoles> => {
    const row = (await pool.query<{ server_admin: boolean | null; domains: string[] | null }>(
      'SELECT (SELECT server_admin FROM accounts WHERE id = $1) AS server_admin, (SELECT array_agg(domain ORDER BY domain) FROM domain_admins WHERE account_id = $1) AS domains',
      [accountId],
    )).rows[0]!;
    return { serverAdmin: row.server_admin === true, domains: row.domains ?? [] };
  };
  /** Runs a grant change; `settings` on the feed when a row changed. */
  const grant = (accountId: number, sql: string, values: unknown[]): Promise<boolean> => changes.write(async (c, log) => {
    if (((await c.query(sql, values)).rowCount ?? 0) === 0) return false;
    log.push({ kind: 'account', accountId, event: 'settings' });
    return true;
  });
  return {
    getAdminRoles: rolesOf,
    async listAdmins() {
      const rows = (await pool.query<{ id: number; address: string; server_admin: boolean; domains: string[] | null }>(`SELECT a.id, a.address, a.server_admin,
        (SELECT array_agg(domain ORDER BY domain) FROM domain_admins d WHERE d.account_id = a.id) AS domains
        FROM accounts a WHERE a.server_admin OR a.id IN (SELECT account_id FROM domain_admins) ORDER BY a.address`)).rows;
      return rows.map((r) => ({ accountId: r.id, address: r.address, serverAdmin: r.server_admin, domains: r.domains ?? [] }));
    },
    setServerAdmin: (accountId, serverAdmin) => grant(accountId, 'UPDATE accounts SET server_admin = $1 WHERE id = $2', [serverAdmin, accountId]),
    addDomainAdmin: (accountId, domain) => grant(accountId, 'INSERT INTO domain_admins (account_id, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING', [accountId, domain.toLowerCase()]),
    removeDomainAdmin: (accountId, domain) => grant(accountId, 'DELETE FROM domain_admins WHERE account_id = $1 AND domain = $2', [accountId, domain.toLowerCase()]),
  };
}
