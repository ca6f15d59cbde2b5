/**
 * The SQLite schema as numbered migrations, applied in order at open (PRAGMA user_version tracks progress).
 * Blob reference counts are kept by triggers, so every path that adds or removes a message stays correct.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE domains (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  address TEXT NOT NULL UNIQUE,
  domain TEXT NOT NULL REFERENCES domains(name),
  password_hash TEXT NOT NULL,
  scram TEXT,
  disabled INTEGER NOT NULL DEFAULT 0,
  quota_bytes INTEGER,
  send_as_domains TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain);
CREATE TABLE app_passwords (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  scram TEXT,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);
CREATE INDEX app_passwords_account ON app_passwords(account_id);
CREATE TABLE aliases (
  address TEXT PRIMARY KEY,
  domain TEXT NOT NULL,
  targets TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX aliases_domain ON aliases(domain);
CREATE TABLE mailboxes (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  uid_validity INTEGER NOT NULL,
  uid_next INTEGER NOT NULL DEFAULT 1,
  highest_mod_seq INTEGER NOT NULL DEFAULT 1,
  special_use TEXT,
  subscribed INTEGER NOT NULL DEFAULT 1,
  UNIQUE (account_id, name)
);
CREATE TABLE blobs (
  id INTEGER PRIMARY KEY,
  size INTEGER NOT NULL,
  refs INTEGER NOT NULL DEFAULT 0,
  data BLOB
);
CREATE TABLE blob_chunks (
  blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (blob_id, seq)
);
CREATE TABLE messages (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  blob_id INTEGER NOT NULL,
  blob_offset INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL,
  internal_date INTEGER NOT NULL,
  flags TEXT NOT NULL DEFAULT '',
  mod_seq INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX messages_modseq ON messages(mailbox_id, mod_seq);
CREATE TABLE expunged (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  mod_seq INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE TABLE subscriptions (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
CREATE TABLE queue_messages (
  id TEXT PRIMARY KEY,
  blob_id INTEGER NOT NULL,
  blob_offset INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL,
  sender TEXT NOT NULL,
  envid TEXT,
  ret TEXT,
  origin TEXT NOT NULL,
  submitter TEXT,
  created_at INTEGER NOT NULL
);
CREATE TABLE queue_recipients (
  id INTEGER PRIMARY KEY,
  queue_id TEXT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  domain TEXT NOT NULL,
  orcpt TEXT,
  notify TEXT,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_result TEXT,
  updated_at INTEGER NOT NULL
);
CREATE INDEX queue_recipients_due ON queue_recipients(state, next_attempt_at);
CREATE INDEX queue_recipients_queue ON queue_recipients(queue_id);
CREATE TABLE suppressions (
  address TEXT PRIMARY KEY,
  reason TEXT,
  created_at INTEGER NOT NULL
);

CREATE TRIGGER messages_ref AFTER INSERT ON messages BEGIN
  UPDATE blobs SET refs = refs + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER messages_unref AFTER DELETE ON messages BEGIN
  UPDATE blobs SET refs = refs - 1 WHERE id = OLD.blob_id;
  DELETE FROM blobs WHERE id = OLD.blob_id AND refs <= 0;
END;
CREATE TRIGGER queue_ref AFTER INSERT ON queue_messages BEGIN
  UPDATE blobs SET refs = refs + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER queue_unref AFTER DELETE ON queue_messages BEGIN
  UPDATE blobs SET refs = refs - 1 WHERE id = OLD.blob_id;
  DELETE FROM blobs WHERE id = OLD.blob_id AND refs <= 0;
END;
`,
  },
  {
    version: 2,
    name: 'queue due index',
    // The runner asks for due recipients constantly: a partial index in (next_attempt_at, id) order lets
    // SQLite stop after LIMIT rows instead of sorting every due row each time.
    sql: `
CREATE INDEX queue_recipients_due_order ON queue_recipients(next_attempt_at, id) WHERE state IN ('queued', 'deferred');
`,
  },
  {
    version: 3,
    name: 'uidvalidity high-water mark, expunged by modseq',
    // RFC 9051 §2.3.1.1: a mailbox re-created under a name must get a larger UIDVALIDITY than the one
    // before; the largest given so far was only known from the mailboxes that still exist. And the
    // changes since a modseq (QRESYNC VANISHED, SELECT snapshots) look up expunged UIDs by modseq.
    sql: `
CREATE TABLE uid_validity_high (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO uid_validity_high (id, value) SELECT 1, coalesce(max(uid_validity), 0) FROM mailboxes;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, mod_seq);
`,
  },
  {
    version: 4,
    name: 'mailbox ids never reused',
    // SQLite gives a new row max(id) + 1, so a deleted newest mailbox's id went to the next one, possibly
    // another account's; sessions and caches that hold an id (ownership checked once, SELECT snapshots)
    // must never see it mean another mailbox. Ids now come from a high-water mark, like UIDVALIDITY.
    sql: `
CREATE TABLE mailbox_id_high (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO mailbox_id_high (id, value) SELECT 1, coalesce(max(id), 0) FROM mailboxes;
`,
  },
  {
    version: 5,
    name: 'app password lookup tags',
    // A login finds the one app password a candidate can be by this indexed tag, instead of running scrypt
    // against every app password of the account. Older rows have none until their next successful use.
    sql: `
ALTER TABLE app_passwords ADD COLUMN lookup_tag TEXT;
CREATE INDEX app_passwords_lookup ON app_passwords(account_id, lookup_tag);
`,
  },
  {
    version: 6,
    name: 'account ids never reused, change log',
    // Sessions hold the account id they logged in as (and the app password id): a removed newest account's
    // id given to the next new account made an open session of the old one read and send as the new one.
    // Ids now come from high-water marks, like mailbox ids. The change log carries every write's changes to
    // the other processes on this database (store/sqlite/change-feed.ts, docs/decisions/0006); AUTOINCREMENT
    // so that a sequence number is never given twice, even after the log was pruned.
    sql: `
CREATE TABLE account_id_high (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO account_id_high (id, value) SELECT 1, coalesce(max(id), 0) FROM accounts;
CREATE TABLE app_password_id_high (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO app_password_id_high (id, value) SELECT 1, coalesce(max(id), 0) FROM app_passwords;
CREATE TABLE change_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL,
  at INTEGER NOT NULL,
  changes TEXT NOT NULL
);
CREATE INDEX change_log_at ON change_log(at);
`,
  },
  {
    version: 7,
    name: 'admin roles',
    // Who may administer what: a server admin everything, a domain admin the accounts, aliases, DKIM keys and
    // queue entries of the domains listed for them. A role goes with its account, a domain grant with its domain.
    sql: `
ALTER TABLE accounts ADD COLUMN server_admin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE domain_admins (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
  PRIMARY KEY (account_id, domain)
) WITHOUT ROWID;
CREATE INDEX domain_admins_domain ON domain_admins(domain);
`,
  },
];
