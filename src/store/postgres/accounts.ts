/**
 * AccountStore on PostgreSQL: domains, accounts (with their default mailboxes), app passwords and aliases.
 * Account and app password ids come from sequences (never reused); every change is on the feed.
 */
import type pg from 'pg';
import type { AccountPatch, AccountRecord, AccountStore, AliasRecord, AppPasswordRecord, ScramCredentials } from '../types.ts';
import { DEFAULT_MAILBOXES, patchEvent } from '../sqlite/accounts.ts';
import type { PgChangeFeed } from './change-feed.ts';
import { pgAdminRoleStore } from './admin-roles.ts';
import { createMailbox } from './mailboxes.ts';

interface AccountRow {
  id: number;
  address: string;
  password_hash: string;
  scram: string | null;
  disabled: boolean;
  quota_bytes: number | null;
  send_as_domains: string;
  created_at: number;
}

function toAccount(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    address: row.address,
    passwordHash: row.password_hash,
    scram: row.scram ? (JSON.parse(row.scram) as ScramCredentials) : null,
    disabled: row.disabled,
    quotaBytes: row.quota_bytes,
    sendAsDomains: JSON.parse(row.send_as_domains) as string[],
    createdAt: new Date(row.created_at),
  };
}

interface AppPasswordRow {
  id: number;
  account_id: number;
  label: string;
  password_hash: string;
  scram: string | null;
  lookup_tag: string | null;
  created_at: number;
  last_used_at: number | null;
}

function toAppPassword(row: AppPasswordRow): AppPasswordRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    label: row.label,
    passwordHash: row.password_hash,
    scram: row.scram ? (JSON.parse(row.scram) as ScramCredentials) : null,
    lookupTag: row.lookup_tag,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  };
}

interface AliasRow {
  address: string;
  targets: string;
  created_at: number;
}

function toAlias(row: AliasRow): AliasRecord {
  return { address: row.address, targets: JSON.parse(row.targets) as string[], createdAt: new Date(row.created_at) };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

function scramText(scram: ScramCredentials | null | undefined): string | null {
  return scram ? JSON.stringify(scram) : null;
}

export function pgAccountStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): AccountStore {
  const { pool, changes } = deps;
  const one = async <T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<T | undefined> => (await pool.query<T>(text, values)).rows[0];
  const all = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => (await pool.query<T>(text, values)).rows;

  return {
    ...pgAdminRoleStore({ pool, changes }),
    async addDomain(name) {
      const now = Date.now();
      await changes.write(async (c, log) => {
        await c.query('INSERT INTO domains (name, created_at) VALUES ($1, $2)', [name.toLowerCase(), now]);
        log.push({ kind: 'directory' });
      });
      return { name: name.toLowerCase(), createdAt: new Date(now) };
    },
    async removeDomain(name) {
      const domain = name.toLowerCase();
      return changes.write(async (c, log) => {
        const n = (await c.query<{ n: number }>('SELECT count(*) AS n FROM accounts WHERE domain = $1', [domain])).rows[0]!.n;
        if (n > 0) throw new Error(`domain ${name} still has ${n} account(s)`);
        await c.query('DELETE FROM aliases WHERE domain = $1', [domain]);
        const removed = ((await c.query('DELETE FROM domains WHERE name = $1', [domain])).rowCount ?? 0) > 0;
        if (removed) log.push({ kind: 'directory' });
        return removed;
      });
    },
    async listDomains() {
      return (await all<{ name: string; created_at: number }>('SELECT name, created_at FROM domains ORDER BY name')).map((r) => ({ name: r.name, createdAt: new Date(r.created_at) }));
    },
    async hasDomain(name) {
      return (await one('SELECT 1 FROM domains WHERE name = $1', [name.toLowerCase()])) !== undefined;
    },
    async addAccount(input) {
      const address = input.address.toLowerCase();
      return changes.write(async (c, log) => {
        // Never an id a removed account had: sessions hold the id they logged in as.
        const row = (await c.query<AccountRow>(
          "INSERT INTO accounts (id, address, domain, password_hash, scram, quota_bytes, created_at) VALUES (nextval('account_ids'), $1, $2, $3, $4, $5, $6) RETURNING *",
          [address, domainOf(address), input.passwordHash, scramText(input.scram), input.quotaBytes ?? null, Date.now()],
        )).rows[0]!;
        for (const mailbox of DEFAULT_MAILBOXES) await createMailbox(c, row.id, mailbox.name, mailbox.specialUse, { subscribe: true });
        log.push({ kind: 'account', accountId: row.id, event: 'added' });
        return toAccount(row);
      });
    },
    async getAccount(address) {
      const row = await one<AccountRow>('SELECT * FROM accounts WHERE address = $1', [address.toLowerCase()]);
      return row ? toAccount(row) : null;
    },
    async getAccountById(id) {
      const row = await one<AccountRow>('SELECT * FROM accounts WHERE id = $1', [id]);
      return row ? toAccount(row) : null;
    },
    async listAccounts(domain) {
      const rows = domain ? await all<AccountRow>('SELECT * FROM accounts WHERE domain = $1 ORDER BY address', [domain.toLowerCase()]) : await all<AccountRow>('SELECT * FROM accounts ORDER BY domain, address');
      return rows.map(toAccount);
    },
    async updateAccount(address, patch: AccountPatch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      const set = (column: string, value: unknown): void => {
        values.push(value);
        sets.push(`${column} = $${values.length}`);
      };
      if (patch.passwordHash !== undefined) set('password_hash', patch.passwordHash);
      if (patch.scram !== undefined) set('scram', scramText(patch.scram));
      if (patch.disabled !== undefined) set('disabled', patch.disabled);
      if (patch.quotaBytes !== undefined) set('quota_bytes', patch.quotaBytes);
      if (patch.sendAsDomains !== undefined) set('send_as_domains', JSON.stringify(patch.sendAsDomains));
      if (sets.length > 0) {
        await changes.write(async (c, log) => {
          const row = (await c.query<{ id: number }>(`UPDATE accounts SET ${sets.join(', ')} WHERE address = $${values.length + 1} RETURNING id`, [...values, address.toLowerCase()])).rows[0];
          if (row) log.push({ kind: 'account', accountId: row.id, event: patchEvent(patch) });
        });
      }
      const row = await one<AccountRow>('SELECT * FROM accounts WHERE address = $1', [address.toLowerCase()]);
      return row ? toAccount(row) : null;
    },
    async removeAccount(address) {
      return changes.write(async (c, log) => {
        const row = (await c.query<{ id: number }>('DELETE FROM accounts WHERE address = $1 RETURNING id', [address.toLowerCase()])).rows[0];
        if (!row) return false;
        log.push({ kind: 'account', accountId: row.id, event: 'removed' });
        return true;
      });
    },
    async addAppPassword(input) {
      return changes.write(async (c, log) => {
        // Never an id a removed app password had: a session that logged in with one holds its id.
        const row = (await c.query<AppPasswordRow>(
          "INSERT INTO app_passwords (id, account_id, label, password_hash, scram, lookup_tag, created_at) VALUES (nextval('app_password_ids'), $1, $2, $3, $4, $5, $6) RETURNING *",
          [input.accountId, input.label, input.passwordHash, scramText(input.scram), input.lookupTag ?? null, Date.now()],
        )).rows[0]!;
        log.push({ kind: 'account', accountId: input.accountId, event: 'settings' });
        return toAppPassword(row);
      });
    },
    async listAppPasswords(accountId) {
      return (await all<AppPasswordRow>('SELECT * FROM app_passwords WHERE account_id = $1 ORDER BY id', [accountId])).map(toAppPassword);
    },
    async findAppPassword(accountId, lookupTag) {
      const row = await one<AppPasswordRow>('SELECT * FROM app_passwords WHERE account_id = $1 AND lookup_tag = $2', [accountId, lookupTag]);
      return row ? toAppPassword(row) : null;
    },
    async removeAppPassword(accountId, id) {
      return changes.write(async (c, log) => {
        if (((await c.query('DELETE FROM app_passwords WHERE account_id = $1 AND id = $2', [accountId, id])).rowCount ?? 0) === 0) return false;
        log.push({ kind: 'account', accountId, event: 'credentials' });
        return true;
      });
    },
    async touchAppPassword(id, lookupTag) {
      // Last use is information only: no change on the feed (every login with an app password writes it).
      await changes.write((c) => c.query('UPDATE app_passwords SET last_used_at = $1, lookup_tag = coalesce(lookup_tag, $2) WHERE id = $3', [Date.now(), lookupTag ?? null, id]));
    },
    async addAlias(address, targets) {
      const key = address.toLowerCase();
      return changes.write(async (c, log) => {
        const row = (await c.query<AliasRow>(
          'INSERT INTO aliases (address, domain, targets, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (address) DO UPDATE SET targets = excluded.targets RETURNING *',
          [key, domainOf(key), JSON.stringify(targets), Date.now()],
        )).rows[0]!;
        log.push({ kind: 'directory' });
        return toAlias(row);
      });
    },
    async getAlias(address) {
      const row = await one<AliasRow>('SELECT * FROM aliases WHERE address = $1', [address.toLowerCase()]);
      return row ? toAlias(row) : null;
    },
    async listAliases(domain) {
      const rows = domain ? await all<AliasRow>('SELECT * FROM aliases WHERE domain = $1 ORDER BY address', [domain.toLowerCase()]) : await all<AliasRow>('SELECT * FROM aliases ORDER BY domain, address');
      return rows.map(toAlias);
    },
    async removeAlias(address) {
      return changes.write(async (c, log) => {
        if (((await c.query('DELETE FROM aliases WHERE address = $1', [address.toLowerCase()])).rowCount ?? 0) === 0) return false;
        log.push({ kind: 'directory' });
        return true;
      });
    },
  };
}
