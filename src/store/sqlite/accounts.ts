/**
 * AccountStore on SQLite: domains, accounts (with their default mailboxes), app passwords and aliases.
 * Account and app password ids come from high-water marks (never reused); every change is on the feed.
 */
import type { AccountChange, AccountPatch, AccountRecord, AccountStore, AdminRoles, AliasRecord, AppPasswordRecord, DomainRecord, ScramCredentials, SpecialUse } from '../types.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';
import type { MailboxTable } from './mailboxes.ts';

/** RFC 6154 special-use mailboxes every new account gets, beside INBOX. */
export const DEFAULT_MAILBOXES: { name: string; specialUse: SpecialUse | null }[] = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

interface AccountRow {
  id: number;
  address: string;
  password_hash: string;
  scram: string | null;
  disabled: number;
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
    disabled: row.disabled !== 0,
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

function toAlias(row: { address: string; targets: string; created_at: number }): AliasRecord {
  return { address: row.address, targets: JSON.parse(row.targets) as string[], createdAt: new Date(row.created_at) };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** What an account patch means to sessions holding a login: credentials and disabling end them. */
export function patchEvent(patch: AccountPatch): AccountChange['event'] {
  if (patch.disabled === true) return 'disabled';
  if (patch.passwordHash !== undefined || patch.scram !== undefined) return 'credentials';
  if (patch.disabled === false) return 'enabled';
  return 'settings';
}

export function sqliteAccountStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed; mailboxes: MailboxTable }): AccountStore {
  const { db, changes, mailboxes } = deps;
  const q = {
    addDomain: db.prepare('INSERT INTO domains (name, created_at) VALUES (?, ?)'),
    getDomain: db.prepare('SELECT name, created_at FROM domains WHERE name = ?'),
    listDomains: db.prepare('SELECT name, created_at FROM domains ORDER BY name'),
    countAccountsInDomain: db.prepare('SELECT count(*) AS n FROM accounts WHERE domain = ?'),
    removeDomain: db.prepare('DELETE FROM domains WHERE name = ?'),
    removeDomainAliases: db.prepare('DELETE FROM aliases WHERE domain = ?'),
    // Never an id a removed account had (migration 6): sessions hold the id they logged in as.
    nextAccountId: db.prepare('UPDATE account_id_high SET value = value + 1 WHERE id = 1 RETURNING value AS v').pluck(),
    addAccount: db.prepare('INSERT INTO accounts (id, address, domain, password_hash, scram, quota_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    accountIdOf: db.prepare('SELECT id FROM accounts WHERE address = ?').pluck(),
    getAccount: db.prepare('SELECT * FROM accounts WHERE address = ?'),
    getAccountById: db.prepare('SELECT * FROM accounts WHERE id = ?'),
    listAccounts: db.prepare('SELECT * FROM accounts ORDER BY domain, address'),
    listAccountsInDomain: db.prepare('SELECT * FROM accounts WHERE domain = ? ORDER BY address'),
    removeAccount: db.prepare('DELETE FROM accounts WHERE address = ?'),
    nextAppPasswordId: db.prepare('UPDATE app_password_id_high SET value = value + 1 WHERE id = 1 RETURNING value AS v').pluck(),
    addAppPassword: db.prepare('INSERT INTO app_passwords (id, account_id, label, password_hash, scram, lookup_tag, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    findAppPassword: db.prepare('SELECT * FROM app_passwords WHERE account_id = ? AND lookup_tag = ?'),
    getAppPassword: db.prepare('SELECT * FROM app_passwords WHERE id = ?'),
    listAppPasswords: db.prepare('SELECT * FROM app_passwords WHERE account_id = ? ORDER BY id'),
    removeAppPassword: db.prepare('DELETE FROM app_passwords WHERE account_id = ? AND id = ?'),
    touchAppPassword: db.prepare('UPDATE app_passwords SET last_used_at = ?, lookup_tag = coalesce(lookup_tag, ?) WHERE id = ?'),
    addAlias: db.prepare('INSERT INTO aliases (address, domain, targets, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(address) DO UPDATE SET targets = excluded.targets'),
    getAlias: db.prepare('SELECT * FROM aliases WHERE address = ?'),
    listAliases: db.prepare('SELECT * FROM aliases ORDER BY domain, address'),
    listAliasesInDomain: db.prepare('SELECT * FROM aliases WHERE domain = ? ORDER BY address'),
    removeAlias: db.prepare('DELETE FROM aliases WHERE address = ?'),
    serverAdmin: db.prepare('SELECT server_admin FROM accounts WHERE id = ?').pluck(),
    setServerAdmin: db.prepare('UPDATE accounts SET server_admin = ? WHERE id = ?'),
    adminDomains: db.prepare('SELECT domain FROM domain_admins WHERE account_id = ? ORDER BY domain').pluck(),
    listAdmins: db.prepare(`SELECT id, address, server_admin FROM accounts
      WHERE server_admin = 1 OR id IN (SELECT account_id FROM domain_admins) ORDER BY address`),
    addDomainAdmin: db.prepare('INSERT INTO domain_admins (account_id, domain) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    removeDomainAdmin: db.prepare('DELETE FROM domain_admins WHERE account_id = ? AND domain = ?'),
  };
  const rolesOf = (accountId: number): AdminRoles => ({
    serverAdmin: q.serverAdmin.get(accountId) === 1,
    domains: q.adminDomains.all(accountId) as string[],
  });

  return {
    async addDomain(name) {
      const now = Date.now();
      await changes.write((log) => {
        q.addDomain.run(name.toLowerCase(), now);
        log.push({ kind: 'directory' });
      });
      return { name: name.toLowerCase(), createdAt: new Date(now) };
    },
    async removeDomain(name) {
      return changes.write((log) => {
        const n = (q.countAccountsInDomain.get(name.toLowerCase()) as { n: number }).n;
        if (n > 0) throw new Error(`domain ${name} still has ${n} account(s)`);
        q.removeDomainAliases.run(name.toLowerCase());
        const removed = q.removeDomain.run(name.toLowerCase()).changes > 0;
        if (removed) log.push({ kind: 'directory' });
        return removed;
      });
    },
    async listDomains(): Promise<DomainRecord[]> {
      return (q.listDomains.all() as { name: string; created_at: number }[]).map((r) => ({ name: r.name, createdAt: new Date(r.created_at) }));
    },
    async hasDomain(name) {
      return q.getDomain.get(name.toLowerCase()) !== undefined;
    },
    async addAccount(input) {
      const address = input.address.toLowerCase();
      const id = await changes.write((log) => {
        const accountId = q.nextAccountId.get() as number;
        q.addAccount.run(accountId, address, domainOf(address), input.passwordHash, input.scram ? JSON.stringify(input.scram) : null, input.quotaBytes ?? null, Date.now());
        for (const mailbox of DEFAULT_MAILBOXES) mailboxes.create(accountId, mailbox.name, mailbox.specialUse, { subscribe: true });
        log.push({ kind: 'account', accountId, event: 'added' });
        return accountId;
      });
      return toAccount(q.getAccountById.get(id) as AccountRow);
    },
    async getAccount(address) {
      const row = q.getAccount.get(address.toLowerCase()) as AccountRow | undefined;
      return row ? toAccount(row) : null;
    },
    async getAccountById(id) {
      const row = q.getAccountById.get(id) as AccountRow | undefined;
      return row ? toAccount(row) : null;
    },
    async listAccounts(domain) {
      const rows = (domain ? q.listAccountsInDomain.all(domain.toLowerCase()) : q.listAccounts.all()) as AccountRow[];
      return rows.map(toAccount);
    },
    async updateAccount(address, patch: AccountPatch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      if (patch.passwordHash !== undefined) { sets.push('password_hash = ?'); values.push(patch.passwordHash); }
      if (patch.scram !== undefined) { sets.push('scram = ?'); values.push(patch.scram ? JSON.stringify(patch.scram) : null); }
      if (patch.disabled !== undefined) { sets.push('disabled = ?'); values.push(patch.disabled ? 1 : 0); }
      if (patch.quotaBytes !== undefined) { sets.push('quota_bytes = ?'); values.push(patch.quotaBytes); }
      if (patch.sendAsDomains !== undefined) { sets.push('send_as_domains = ?'); values.push(JSON.stringify(patch.sendAsDomains)); }
      if (sets.length > 0) {
        await changes.write((log) => {
          const accountId = q.accountIdOf.get(address.toLowerCase()) as number | undefined;
          if (accountId === undefined) return;
          db.prepare(`UPDATE accounts SET ${sets.join(', ')} WHERE id = ?`).run(...values, accountId);
          log.push({ kind: 'account', accountId, event: patchEvent(patch) });
        });
      }
      const row = q.getAccount.get(address.toLowerCase()) as AccountRow | undefined;
      return row ? toAccount(row) : null;
    },
    async removeAccount(address) {
      return changes.write((log) => {
        const accountId = q.accountIdOf.get(address.toLowerCase()) as number | undefined;
        if (accountId === undefined || q.removeAccount.run(address.toLowerCase()).changes === 0) return false;
        log.push({ kind: 'account', accountId, event: 'removed' });
        return true;
      });
    },
    async addAppPassword(input) {
      const id = await changes.write((log) => {
        // Never an id a removed app password had: a session that logged in with one holds its id.
        const appId = q.nextAppPasswordId.get() as number;
        q.addAppPassword.run(appId, input.accountId, input.label, input.passwordHash, input.scram ? JSON.stringify(input.scram) : null, input.lookupTag ?? null, Date.now());
        log.push({ kind: 'account', accountId: input.accountId, event: 'settings' });
        return appId;
      });
      return toAppPassword(q.getAppPassword.get(id) as AppPasswordRow);
    },
    async listAppPasswords(accountId) {
      return (q.listAppPasswords.all(accountId) as AppPasswordRow[]).map(toAppPassword);
    },
    async findAppPassword(accountId, lookupTag) {
      const row = q.findAppPassword.get(accountId, lookupTag) as AppPasswordRow | undefined;
      return row ? toAppPassword(row) : null;
    },
    async removeAppPassword(accountId, id) {
      return changes.write((log) => {
        if (q.removeAppPassword.run(accountId, id).changes === 0) return false;
        log.push({ kind: 'account', accountId, event: 'credentials' });
        return true;
      });
    },
    async touchAppPassword(id, lookupTag) {
      // Last use is information only: no change on the feed (every login with an app password writes it).
      await changes.write(() => q.touchAppPassword.run(Date.now(), lookupTag ?? null, id));
    },
    async getAdminRoles(accountId) {
      return rolesOf(accountId);
    },
    async listAdmins() {
      return (q.listAdmins.all() as { id: number; address: string }[]).map((r) => ({ accountId: r.id, address: r.address, ...rolesOf(r.id) }));
    },
    async setServerAdmin(accountId, serverAdmin) {
      return changes.write((log) => {
        if (q.setServerAdmin.run(serverAdmin ? 1 : 0, accountId).changes === 0) return false;
        log.push({ kind: 'account', accountId, event: 'settings' });
        return true;
      });
    },
    async addDomainAdmin(accountId, domain) {
      return changes.write((log) => {
        if (q.addDomainAdmin.run(accountId, domain.toLowerCase()).changes === 0) return false;
        log.push({ kind: 'account', accountId, event: 'settings' });
        return true;
      });
    },
    async removeDomainAdmin(accountId, domain) {
      return changes.write((log) => {
        if (q.removeDomainAdmin.run(accountId, domain.toLowerCase()).changes === 0) return false;
        log.push({ kind: 'account', accountId, event: 'settings' });
        return true;
      });
    },
    async addAlias(address, targets) {
      const key = address.toLowerCase();
      const now = Date.now();
      await changes.write((log) => {
        q.addAlias.run(key, domainOf(key), JSON.stringify(targets), now);
        log.push({ kind: 'directory' });
      });
      return toAlias(q.getAlias.get(key) as { address: string; targets: string; created_at: number });
    },
    async getAlias(address) {
      const row = q.getAlias.get(address.toLowerCase()) as { address: string; targets: string; created_at: number } | undefined;
      return row ? toAlias(row) : null;
    },
    async listAliases(domain) {
      const rows = (domain ? q.listAliasesInDomain.all(domain.toLowerCase()) : q.listAliases.all()) as { address: string; targets: string; created_at: number }[];
      return rows.map(toAlias);
    },
    async removeAlias(address) {
      return changes.write((log) => {
        if (q.removeAlias.run(address.toLowerCase()).changes === 0) return false;
        log.push({ kind: 'directory' });
        return true;
      });
    },
  };
}
