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
  {
    version: 8,
    name: 'email and thread ids, account change sequence, tombstones',
    // JMAP (RFC 8621) and IMAP OBJECTID (RFC 8474) need ids that outlive a move, threads assigned at
    // delivery, and one per-account history that every state string reads (docs/decisions/0008).
    // `account_seq` is the account's modseq: mailbox HIGHESTMODSEQ values are drawn from it, so JMAP
    // states and IMAP MODSEQ are one counter. Triggers keep emails, threads and tombstones true on every
    // path that adds or removes a message row (delivery, copy, move, expunge, mailbox or account removal).
    // Messages stored before this version become one email and one thread each.
    sql: `
CREATE TABLE account_seq (
  account_id INTEGER PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO account_seq (account_id, value)
  SELECT a.id, coalesce((SELECT max(highest_mod_seq) FROM mailboxes m WHERE m.account_id = a.id), 0) FROM accounts a;
CREATE TRIGGER accounts_seq AFTER INSERT ON accounts BEGIN
  INSERT INTO account_seq (account_id, value) VALUES (NEW.id, 0);
END;

ALTER TABLE mailboxes ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE emails (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  thread_id INTEGER NOT NULL,
  created_seq INTEGER NOT NULL,
  mod_seq INTEGER NOT NULL,
  message_id TEXT,
  base_subject TEXT NOT NULL DEFAULT '',
  sent_at INTEGER,
  from_sort TEXT NOT NULL DEFAULT '',
  to_sort TEXT NOT NULL DEFAULT ''
);
CREATE INDEX emails_changes ON emails(account_id, mod_seq);
CREATE INDEX emails_thread ON emails(thread_id);
CREATE TABLE email_id_high (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
CREATE TABLE threads (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  created_seq INTEGER NOT NULL,
  mod_seq INTEGER NOT NULL
);
CREATE INDEX threads_changes ON threads(account_id, mod_seq);
CREATE TABLE thread_keys (
  account_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  thread_id INTEGER NOT NULL,
  PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
CREATE TABLE tombstones (
  account_id INTEGER NOT NULL,
  type TEXT NOT NULL,
  object_id INTEGER NOT NULL,
  mod_seq INTEGER NOT NULL,
  PRIMARY KEY (account_id, type, object_id)
) WITHOUT ROWID;
CREATE INDEX tombstones_changes ON tombstones(account_id, type, mod_seq);

ALTER TABLE messages ADD COLUMN email_id INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET email_id = r.n
  FROM (SELECT mailbox_id, uid, row_number() OVER (ORDER BY mailbox_id, uid) AS n FROM messages) AS r
  WHERE messages.mailbox_id = r.mailbox_id AND messages.uid = r.uid;
INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq)
  SELECT m.email_id, mb.account_id, m.email_id, 0, m.mod_seq FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id;
INSERT INTO threads (id, account_id, created_seq, mod_seq) SELECT id, account_id, 0, mod_seq FROM emails;
INSERT INTO email_id_high (id, value) SELECT 1, coalesce(max(email_id), 0) FROM messages;
CREATE INDEX messages_email ON messages(email_id);
CREATE INDEX messages_date ON messages(mailbox_id, internal_date);

-- An email's modseq is its newest row's; a flag change on any copy is a change of the email.
CREATE TRIGGER messages_email_insert AFTER INSERT ON messages BEGIN
  UPDATE emails SET mod_seq = max(mod_seq, NEW.mod_seq) WHERE id = NEW.email_id;
END;
CREATE TRIGGER messages_email_flags AFTER UPDATE OF flags, mod_seq ON messages BEGIN
  UPDATE emails SET mod_seq = max(mod_seq, NEW.mod_seq) WHERE id = NEW.email_id;
END;
-- A removed row changes its email at the account's current modseq (the writer advanced it first);
-- the email goes, with a tombstone, when no row is left.
CREATE TRIGGER messages_email_delete AFTER DELETE ON messages BEGIN
  UPDATE emails SET mod_seq = coalesce((SELECT value FROM account_seq s WHERE s.account_id = emails.account_id), mod_seq) WHERE id = OLD.email_id;
  DELETE FROM emails WHERE id = OLD.email_id AND NOT EXISTS (SELECT 1 FROM messages WHERE email_id = OLD.email_id);
END;
CREATE TRIGGER emails_insert AFTER INSERT ON emails BEGIN
  INSERT INTO threads (id, account_id, created_seq, mod_seq) VALUES (NEW.thread_id, NEW.account_id, NEW.created_seq, NEW.mod_seq)
    ON CONFLICT (id) DO UPDATE SET mod_seq = max(mod_seq, excluded.mod_seq);
END;
CREATE TRIGGER emails_delete AFTER DELETE ON emails BEGIN
  INSERT OR REPLACE INTO tombstones (account_id, type, object_id, mod_seq) VALUES (OLD.account_id, 'Email', OLD.id, OLD.mod_seq);
  UPDATE threads SET mod_seq = max(mod_seq, OLD.mod_seq) WHERE id = OLD.thread_id;
  DELETE FROM threads WHERE id = OLD.thread_id AND NOT EXISTS (SELECT 1 FROM emails WHERE thread_id = OLD.thread_id);
END;
CREATE TRIGGER threads_delete AFTER DELETE ON threads BEGIN
  INSERT OR REPLACE INTO tombstones (account_id, type, object_id, mod_seq) VALUES (OLD.account_id, 'Thread', OLD.id, OLD.mod_seq);
END;
-- No foreign keys on these tables: the rows of a removed account go last, after the cascades that fire the
-- triggers above (which would otherwise write tombstones for an account row already gone).
CREATE TRIGGER accounts_jmap_delete AFTER DELETE ON accounts BEGIN
  DELETE FROM emails WHERE account_id = OLD.id;
  DELETE FROM threads WHERE account_id = OLD.id;
  DELETE FROM thread_keys WHERE account_id = OLD.id;
  DELETE FROM tombstones WHERE account_id = OLD.id;
  DELETE FROM account_seq WHERE account_id = OLD.id;
END;
CREATE TRIGGER mailboxes_delete AFTER DELETE ON mailboxes BEGIN
  INSERT OR REPLACE INTO tombstones (account_id, type, object_id, mod_seq)
    SELECT OLD.account_id, 'Mailbox', OLD.id, value FROM account_seq WHERE account_id = OLD.account_id;
END;
`,
  },
  {
    version: 9,
    name: 'JMAP uploads and access tokens',
    // Uploaded blobs (RFC 8620 §6.1) belong to one account and expire; Email/import and Email/set read them
    // back by (account, blob id), so a blob id is worthless in another account. Access tokens of login
    // sessions are kept as SHA-256 hashes only, with the credential stamp they were issued under.
    sql: `
CREATE TABLE uploads (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  blob_id TEXT NOT NULL,
  type TEXT NOT NULL,
  size INTEGER NOT NULL,
  data BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uploads_blob ON uploads(account_id, blob_id);
CREATE INDEX uploads_expiry ON uploads(expires_at);
CREATE TABLE access_tokens (
  token_hash TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  credential TEXT NOT NULL,
  app_password_id INTEGER,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_account ON access_tokens(account_id);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
`,
  },
  {
    version: 10,
    name: 'message trace',
    // One row per step of a message's life (docs/operations.md, "Message trace"), kept for trace.retention.
    // Searches start from an index (queue id, Message-ID, sender, time); recipients are a JSON array searched
    // within the rows those leave, or by a scan for a recipient alone.
    sql: `
CREATE TABLE message_trace (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  queue_id TEXT NOT NULL,
  event TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT,
  message_id TEXT,
  sender TEXT,
  recipients TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX message_trace_queue ON message_trace(queue_id);
CREATE INDEX message_trace_at ON message_trace(at);
CREATE INDEX message_trace_message_id ON message_trace(message_id);
CREATE INDEX message_trace_sender ON message_trace(sender);
`,
  },
  {
    version: 11,
    name: 'admin settings, second factors, token scopes',
    // Run-time settings of the administration (JSON under a key), each admin's TOTP secret (gone with the
    // account), and what an access token opens: the JMAP API (webmail sessions) or the admin API.
    sql: `
CREATE TABLE admin_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE second_factors (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  secret TEXT NOT NULL,
  confirmed INTEGER NOT NULL,
  last_step INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
ALTER TABLE access_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'session';
`,
  },
  {
    version: 12,
    name: 'IMAP METADATA',
    // RFC 5464: server entries per account, mailbox entries per mailbox (deleted with it, kept on rename).
    sql: `
CREATE TABLE server_metadata (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  entry TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (account_id, entry)
);
CREATE TABLE mailbox_metadata (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  entry TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (mailbox_id, entry)
);
`,
  },
  {
    version: 13,
    name: 'vacation responses',
    // RFC 8621 §8 VacationResponse, one row per account that ever set one; the senders answered, one row
    // per (account, sender) with the time of the last reply (RFC 3834 §2: at most one per period).
    sql: `
CREATE TABLE vacation_responses (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  is_enabled INTEGER NOT NULL,
  from_date INTEGER,
  to_date INTEGER,
  subject TEXT,
  text_body TEXT,
  html_body TEXT,
  state INTEGER NOT NULL
);
CREATE INDEX vacation_responses_enabled ON vacation_responses(account_id) WHERE is_enabled = 1;
CREATE TABLE vacation_replies (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  sender TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, sender)
) WITHOUT ROWID;
`,
  },
  {
    version: 14,
    name: 'no idle writes at delivery',
    // A new message row of a new email already carries the email's modseq: the trigger skips rows whose
    // modseq would not move, so a delivery does not rewrite the email row (and its index entries) it has
    // just inserted. Same rule for flag changes that do not raise the modseq.
    sql: `
DROP TRIGGER messages_email_insert;
CREATE TRIGGER messages_email_insert AFTER INSERT ON messages BEGIN
  UPDATE emails SET mod_seq = NEW.mod_seq WHERE id = NEW.email_id AND mod_seq < NEW.mod_seq;
END;
DROP TRIGGER messages_email_flags;
CREATE TRIGGER messages_email_flags AFTER UPDATE OF flags, mod_seq ON messages BEGIN
  UPDATE emails SET mod_seq = NEW.mod_seq WHERE id = NEW.email_id AND mod_seq < NEW.mod_seq;
END;
`,
  },
  {
    version: 15,
    name: 'thread keys by message id only',
    // A reply without references now finds its thread by comparing base subjects with the account's
    // recent emails (the emails table has them), so no delivery writes a subject key any more.
    sql: `
DELETE FROM thread_keys WHERE key LIKE 'subject:%';
`,
  },
  {
    version: 16,
    name: 'save dates',
    // RFC 8514 SAVEDATE: when each message row was stored in its mailbox, in milliseconds. Written by every
    // insert; rows from before read their internal date (no table rewrite here).
    sql: `
ALTER TABLE messages ADD COLUMN saved_at INTEGER;
`,
  },
  {
    version: 17,
    name: 'message trace staging',
    // Trace rows are written with the message they describe into this table, which has no index: one
    // appended page per transaction instead of a page in each of message_trace's five B-trees. They move
    // into message_trace in batches (store/sqlite/trace.ts), where the indexes are written once per batch.
    sql: `
CREATE TABLE message_trace_staged (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  queue_id TEXT NOT NULL,
  event TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT,
  message_id TEXT,
  sender TEXT,
  recipients TEXT NOT NULL,
  data TEXT NOT NULL
);
`,
  },
  {
    version: 18,
    name: 'search index',
    // Derived data, filled after commit by the background indexer (docs/decisions/0011): the texts of the
    // JMAP text conditions, lower-cased, in an FTS5 table with the trigram tokenizer (rowid = email id), so
    // a substring of three characters or more is found through the index; headers, the attachment flag
    // and the list properties beside it. Nothing on the delivery path writes here.
    sql: `
CREATE VIRTUAL TABLE email_search USING fts5(f_from, f_to, f_cc, f_bcc, f_subject, f_body, tokenize = 'trigram case_sensitive 1', detail = 'none');
CREATE TABLE email_search_meta (
  email_id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  has_attachment INTEGER NOT NULL,
  headers TEXT NOT NULL,
  summary TEXT NOT NULL
);
CREATE INDEX email_search_meta_account ON email_search_meta(account_id);
`,
  },
  {
    version: 19,
    name: 'email submissions, identities, delayed send',
    // RFC 8621 §6 Identity and §7 EmailSubmission, shared by every process: a state counter per account and
    // type, rows kept as tombstones when destroyed (for /changes). A queue entry held for a delayed send
    // (RFC 4865 FUTURERELEASE) says until when; its recipients are due from that time.
    sql: `
CREATE TABLE account_object_seqs (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (account_id, type)
) WITHOUT ROWID;
CREATE TABLE identities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  is_primary INTEGER NOT NULL,
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  reply_to TEXT,
  bcc TEXT,
  text_signature TEXT NOT NULL,
  html_signature TEXT NOT NULL,
  created_seq INTEGER NOT NULL,
  mod_seq INTEGER NOT NULL,
  destroyed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX identities_account ON identities(account_id, mod_seq);
CREATE UNIQUE INDEX identities_primary ON identities(account_id) WHERE is_primary = 1;
CREATE TABLE email_submissions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  identity_id TEXT NOT NULL,
  email_id INTEGER NOT NULL,
  thread_id INTEGER NOT NULL,
  envelope TEXT NOT NULL,
  send_at INTEGER NOT NULL,
  undo_status TEXT NOT NULL,
  delivery_status TEXT,
  queue_id TEXT,
  created_at INTEGER NOT NULL,
  created_seq INTEGER NOT NULL,
  mod_seq INTEGER NOT NULL,
  destroyed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX email_submissions_account ON email_submissions(account_id, mod_seq);
CREATE INDEX email_submissions_queue ON email_submissions(queue_id) WHERE queue_id IS NOT NULL;
ALTER TABLE queue_messages ADD COLUMN hold_until INTEGER;
`,
  },
  {
    version: 20,
    name: 'uploads in chunks',
    // RFC 8620 §6.1 uploads are written as they arrive, in chunks of their own rows, so a big upload never
    // sits whole in memory. The upload row exists from the first chunk and is complete only after the last
    // (readers see only complete ones); one abandoned half way is deleted, or swept when it expires.
    sql: `
CREATE TABLE upload_chunks (
  account_id INTEGER NOT NULL,
  blob_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (account_id, blob_id, seq),
  FOREIGN KEY (account_id, blob_id) REFERENCES uploads(account_id, blob_id) ON DELETE CASCADE
);
INSERT INTO upload_chunks (account_id, blob_id, seq, data) SELECT account_id, blob_id, 0, data FROM uploads WHERE length(data) > 0;
ALTER TABLE uploads ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;
ALTER TABLE uploads DROP COLUMN data;
`,
  },
  {
    version: 21,
    name: 'mailbox sortOrder',
    // RFC 8621 §2 sortOrder is set by clients so a mailbox list is ordered the same on every device; null
    // keeps the default by role.
    sql: `
ALTER TABLE mailboxes ADD COLUMN sort_order INTEGER;
`,
  },
  {
    version: 22,
    name: 'JMAP push subscriptions',
    // RFC 8620 §7.2: a push subscription belongs to the login credential that made it (the account, and the
    // app password or the password stamp), not to an account; it goes with its account and its app password.
    sql: `
CREATE TABLE push_subscriptions (
  id TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  app_password_id INTEGER REFERENCES app_passwords(id) ON DELETE CASCADE,
  credential TEXT,
  device_client_id TEXT NOT NULL,
  url TEXT NOT NULL,
  key_p256dh TEXT,
  key_auth TEXT,
  verification_code TEXT NOT NULL,
  verified INTEGER NOT NULL DEFAULT 0,
  expires INTEGER NOT NULL,
  types TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_account ON push_subscriptions(account_id);
`,
  },
  {
    version: 23,
    name: 'push subscriptions of login sessions',
    // RFC 8620 §7.2: a subscription made with a Bearer token (a login session) ends with that session.
    sql: `
ALTER TABLE push_subscriptions ADD COLUMN access_token TEXT;
`,
  },
  {
    version: 24,
    name: 'fewer pages per delivery',
    // Every B-tree a transaction changes costs a whole page in the WAL (written at COMMIT, copied again by the
    // checkpoint). Three of them served only counters or housekeeping: the email id high-water mark becomes a
    // row of account_seq (account 0, which no account has), beside the account's modseq that the same
    // delivery advances; the change log drops its index on `at` (pruning walks the rows in seq order, which
    // is time order) and AUTOINCREMENT (its sqlite_sequence row was a page per commit): seq never goes back
    // because pruning always keeps the newest row, and an empty log keeps its high-water mark as an empty row.
    sql: `
INSERT INTO account_seq (account_id, value) SELECT 0, value FROM email_id_high;
DROP TABLE email_id_high;
CREATE TABLE change_log_kept (
  seq INTEGER PRIMARY KEY,
  origin TEXT NOT NULL,
  at INTEGER NOT NULL,
  changes TEXT NOT NULL
);
INSERT INTO change_log_kept (seq, origin, at, changes) SELECT seq, origin, at, changes FROM change_log;
INSERT INTO change_log_kept (seq, origin, at, changes)
  SELECT seq, '', 0, '[]' FROM sqlite_sequence WHERE name = 'change_log' AND NOT EXISTS (SELECT 1 FROM change_log);
DROP TABLE change_log;
ALTER TABLE change_log_kept RENAME TO change_log;
`,
  },
  {
    version: 25,
    name: 'thread rows for threads of more than one email',
    // Most emails start a thread and stay alone in it: such a thread is the email (same id, account and
    // created seq; its membership never changes, so its mod seq is that created seq), and writing a row and
    // an index entry for it cost every delivery two B-trees. A thread gets its row when a second email joins
    // it, with the first one's created seq; a row, once written, stays until the thread's last email goes.
    // `/changes` reads a thread without a row from its email (store/sqlite/email-store.ts), and such a
    // thread's tombstone is written when its email goes. Existing rows stay as they are.
    sql: `
DROP TRIGGER emails_insert;
CREATE TRIGGER emails_insert AFTER INSERT ON emails WHEN NEW.thread_id <> NEW.id BEGIN
  INSERT INTO threads (id, account_id, created_seq, mod_seq)
    VALUES (NEW.thread_id, NEW.account_id, coalesce((SELECT created_seq FROM emails WHERE id = NEW.thread_id), NEW.created_seq), NEW.mod_seq)
    ON CONFLICT (id) DO UPDATE SET mod_seq = max(mod_seq, excluded.mod_seq);
END;
DROP TRIGGER emails_delete;
CREATE TRIGGER emails_delete AFTER DELETE ON emails BEGIN
  INSERT OR REPLACE INTO tombstones (account_id, type, object_id, mod_seq) VALUES (OLD.account_id, 'Email', OLD.id, OLD.mod_seq);
  INSERT OR REPLACE INTO tombstones (account_id, type, object_id, mod_seq)
    SELECT OLD.account_id, 'Thread', OLD.id, OLD.mod_seq WHERE OLD.thread_id = OLD.id AND NOT EXISTS (SELECT 1 FROM threads WHERE id = OLD.id);
  UPDATE threads SET mod_seq = max(mod_seq, OLD.mod_seq) WHERE id = OLD.thread_id;
  DELETE FROM threads WHERE id = OLD.thread_id AND NOT EXISTS (SELECT 1 FROM emails WHERE thread_id = OLD.thread_id);
END;
`,
  },
  {
    version: 26,
    name: 'retry requests on queued recipients',
    // An administrator's retry (the CLI, the web admin) is often made in another process than the server's
    // queue runner: the time it was asked travels with the recipient, so the runner lifts its in-memory
    // backoff of the recipient's dead destination when it next claims the recipient (queue/runner.ts).
    sql: `
ALTER TABLE queue_recipients ADD COLUMN retry_requested_at INTEGER;
`,
  },
];
