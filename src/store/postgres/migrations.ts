/**
 * The PostgreSQL schema as numbered migrations, applied in order at open under an advisory lock (several
 * nodes may start at once); `schema_migrations` records progress. Mirrors the SQLite schema
 * (store/sqlite/migrations.ts) table for table, so a deployment can move between them.
 */

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

export const pgMigrations: PgMigration[] = [
  {
    version: 1,
    name: 'initial',
    // Ids of accounts, app passwords and mailboxes come from sequences: PostgreSQL never gives a sequence
    // value twice, even after a rollback or the removal of the newest row (sessions hold these ids).
    // Times are milliseconds since the epoch, as in SQLite. Bodies are chunk rows of at most 512 KiB with
    // STORAGE EXTERNAL: stored out of line without compression (much mail is base64 already), so a chunk
    // is written once and a range of it read without decompressing the whole value.
    sql: `
CREATE TABLE domains (
  name text PRIMARY KEY,
  created_at bigint NOT NULL
);
CREATE SEQUENCE account_ids;
CREATE TABLE accounts (
  id bigint PRIMARY KEY,
  address text NOT NULL UNIQUE,
  domain text NOT NULL REFERENCES domains(name),
  password_hash text NOT NULL,
  scram text,
  disabled boolean NOT NULL DEFAULT false,
  quota_bytes bigint,
  send_as_domains text NOT NULL DEFAULT '[]',
  created_at bigint NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain);
CREATE SEQUENCE app_password_ids;
CREATE TABLE app_passwords (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  label text NOT NULL,
  password_hash text NOT NULL,
  scram text,
  lookup_tag text,
  created_at bigint NOT NULL,
  last_used_at bigint
);
CREATE INDEX app_passwords_lookup ON app_passwords(account_id, lookup_tag);
CREATE TABLE aliases (
  address text PRIMARY KEY,
  domain text NOT NULL,
  targets text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX aliases_domain ON aliases(domain);
CREATE SEQUENCE mailbox_ids;
CREATE TABLE mailboxes (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name text NOT NULL,
  uid_validity bigint NOT NULL,
  uid_next bigint NOT NULL DEFAULT 1,
  highest_mod_seq bigint NOT NULL DEFAULT 1,
  special_use text,
  UNIQUE (account_id, name)
);
CREATE TABLE uid_validity_high (
  id integer PRIMARY KEY CHECK (id = 1),
  value bigint NOT NULL
);
INSERT INTO uid_validity_high (id, value) VALUES (1, 0);
CREATE TABLE blobs (
  id bigserial PRIMARY KEY,
  size bigint NOT NULL,
  refs integer NOT NULL DEFAULT 0
);
CREATE TABLE blob_chunks (
  blob_id bigint NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (blob_id, seq)
);
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE messages (
  mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid bigint NOT NULL,
  blob_id bigint NOT NULL REFERENCES blobs(id),
  blob_offset bigint NOT NULL DEFAULT 0,
  size bigint NOT NULL,
  internal_date bigint NOT NULL,
  flags text NOT NULL DEFAULT '',
  mod_seq bigint NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages(mailbox_id, mod_seq);
CREATE INDEX messages_blob ON messages(blob_id);
CREATE TABLE expunged (
  mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid bigint NOT NULL,
  mod_seq bigint NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged(mailbox_id, mod_seq);
CREATE TABLE subscriptions (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name text NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE TABLE queue_messages (
  id text PRIMARY KEY,
  blob_id bigint NOT NULL REFERENCES blobs(id),
  blob_offset bigint NOT NULL DEFAULT 0,
  size bigint NOT NULL,
  sender text NOT NULL,
  envid text,
  ret text,
  origin text NOT NULL,
  submitter text,
  created_at bigint NOT NULL
);
CREATE INDEX queue_messages_blob ON queue_messages(blob_id);
CREATE TABLE queue_recipients (
  id bigserial PRIMARY KEY,
  queue_id text NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
  address text NOT NULL,
  domain text NOT NULL,
  orcpt text,
  notify text,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  last_result text,
  updated_at bigint NOT NULL
);
CREATE INDEX queue_recipients_queue ON queue_recipients(queue_id);
CREATE INDEX queue_recipients_due_order ON queue_recipients(next_attempt_at, id) WHERE state IN ('queued', 'deferred');
CREATE TABLE suppressions (
  address text PRIMARY KEY,
  reason text,
  created_at bigint NOT NULL
);
CREATE TABLE change_log (
  seq bigserial PRIMARY KEY,
  origin text NOT NULL,
  at bigint NOT NULL,
  changes text NOT NULL
);
CREATE INDEX change_log_at ON change_log(at);

-- Reference counts of shared bodies, kept by triggers on every path that adds or removes a copy.
CREATE FUNCTION postamt_blob_ref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE blobs SET refs = refs + 1 WHERE id = NEW.blob_id;
  RETURN NULL;
END $$;
CREATE FUNCTION postamt_blob_unref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE blobs SET refs = refs - 1 WHERE id = OLD.blob_id;
  DELETE FROM blobs WHERE id = OLD.blob_id AND refs <= 0;
  RETURN NULL;
END $$;
CREATE TRIGGER messages_ref AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION postamt_blob_ref();
CREATE TRIGGER messages_unref AFTER DELETE ON messages FOR EACH ROW EXECUTE FUNCTION postamt_blob_unref();
CREATE TRIGGER queue_ref AFTER INSERT ON queue_messages FOR EACH ROW EXECUTE FUNCTION postamt_blob_ref();
CREATE TRIGGER queue_unref AFTER DELETE ON queue_messages FOR EACH ROW EXECUTE FUNCTION postamt_blob_unref();
`,
  },
  {
    version: 2,
    name: 'admin roles',
    // Who may administer what: a server admin everything, a domain admin the accounts, aliases, DKIM keys and
    // queue entries of the domains listed for them. A role goes with its account, a domain grant with its domain.
    sql: `
ALTER TABLE accounts ADD COLUMN server_admin boolean NOT NULL DEFAULT false;
CREATE TABLE domain_admins (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  domain text NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
  PRIMARY KEY (account_id, domain)
);
CREATE INDEX domain_admins_domain ON domain_admins(domain);
`,
  },
];
