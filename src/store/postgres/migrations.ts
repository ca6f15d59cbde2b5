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
  {
    version: 3,
    name: 'email and thread ids, account change sequence, tombstones',
    // The JMAP object model of SQLite migration 8 (docs/decisions/0008): every mailbox modseq is drawn
    // from the account's `account_seq`, so JMAP states and IMAP MODSEQ are one counter; triggers keep
    // emails, threads and tombstones true on every path that adds or removes a message row. A new email's
    // thread is found by postamt_new_email in the same round trip as its insert.
    sql: `
CREATE TABLE account_seq (
  account_id bigint PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO account_seq (account_id, value)
  SELECT a.id, coalesce((SELECT max(highest_mod_seq) FROM mailboxes m WHERE m.account_id = a.id), 0) FROM accounts a;
CREATE FUNCTION postamt_account_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_seq (account_id, value) VALUES (NEW.id, 0);
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_seq AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION postamt_account_seq();

ALTER TABLE mailboxes ADD COLUMN created_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN changed_seq bigint NOT NULL DEFAULT 0;

CREATE SEQUENCE email_ids;
CREATE TABLE emails (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL,
  thread_id bigint NOT NULL,
  created_seq bigint NOT NULL,
  mod_seq bigint NOT NULL,
  message_id text,
  base_subject text NOT NULL DEFAULT '',
  sent_at bigint,
  from_sort text NOT NULL DEFAULT '',
  to_sort text NOT NULL DEFAULT ''
);
CREATE INDEX emails_changes ON emails(account_id, mod_seq);
CREATE INDEX emails_thread ON emails(thread_id);
CREATE TABLE threads (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL,
  created_seq bigint NOT NULL,
  mod_seq bigint NOT NULL
);
CREATE INDEX threads_changes ON threads(account_id, mod_seq);
CREATE TABLE thread_keys (
  account_id bigint NOT NULL,
  key text NOT NULL,
  thread_id bigint NOT NULL,
  PRIMARY KEY (account_id, key)
);
CREATE TABLE tombstones (
  account_id bigint NOT NULL,
  type text NOT NULL,
  object_id bigint NOT NULL,
  mod_seq bigint NOT NULL,
  PRIMARY KEY (account_id, type, object_id)
);
CREATE INDEX tombstones_changes ON tombstones(account_id, type, mod_seq);

ALTER TABLE messages ADD COLUMN email_id bigint NOT NULL DEFAULT 0;
UPDATE messages SET email_id = nextval('email_ids');
INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq)
  SELECT m.email_id, mb.account_id, m.email_id, 0, m.mod_seq FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id;
INSERT INTO threads (id, account_id, created_seq, mod_seq) SELECT id, account_id, 0, mod_seq FROM emails;
CREATE INDEX messages_email ON messages(email_id);
CREATE INDEX messages_date ON messages(mailbox_id, internal_date);

-- An email's modseq is its newest row's; a flag change on any copy is a change of the email.
CREATE FUNCTION postamt_email_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE emails SET mod_seq = greatest(mod_seq, NEW.mod_seq) WHERE id = NEW.email_id;
  RETURN NULL;
END $$;
CREATE TRIGGER messages_email_insert AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION postamt_email_touch();
CREATE TRIGGER messages_email_flags AFTER UPDATE OF flags, mod_seq ON messages FOR EACH ROW EXECUTE FUNCTION postamt_email_touch();
-- A removed row changes its email at the account's current modseq (the writer advanced it first);
-- the email goes, with a tombstone, when no row is left.
CREATE FUNCTION postamt_email_row_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE emails SET mod_seq = coalesce((SELECT value FROM account_seq s WHERE s.account_id = emails.account_id), mod_seq) WHERE id = OLD.email_id;
  DELETE FROM emails WHERE id = OLD.email_id AND NOT EXISTS (SELECT 1 FROM messages WHERE email_id = OLD.email_id);
  RETURN NULL;
END $$;
CREATE TRIGGER messages_email_delete AFTER DELETE ON messages FOR EACH ROW EXECUTE FUNCTION postamt_email_row_gone();
CREATE FUNCTION postamt_thread_of_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO threads (id, account_id, created_seq, mod_seq) VALUES (NEW.thread_id, NEW.account_id, NEW.created_seq, NEW.mod_seq)
    ON CONFLICT (id) DO UPDATE SET mod_seq = greatest(threads.mod_seq, excluded.mod_seq);
  RETURN NULL;
END $$;
CREATE TRIGGER emails_insert AFTER INSERT ON emails FOR EACH ROW EXECUTE FUNCTION postamt_thread_of_email();
CREATE FUNCTION postamt_email_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tombstones (account_id, type, object_id, mod_seq) VALUES (OLD.account_id, 'Email', OLD.id, OLD.mod_seq)
    ON CONFLICT (account_id, type, object_id) DO UPDATE SET mod_seq = excluded.mod_seq;
  UPDATE threads SET mod_seq = greatest(mod_seq, OLD.mod_seq) WHERE id = OLD.thread_id;
  DELETE FROM threads WHERE id = OLD.thread_id AND NOT EXISTS (SELECT 1 FROM emails WHERE thread_id = OLD.thread_id);
  RETURN NULL;
END $$;
CREATE TRIGGER emails_delete AFTER DELETE ON emails FOR EACH ROW EXECUTE FUNCTION postamt_email_gone();
CREATE FUNCTION postamt_thread_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tombstones (account_id, type, object_id, mod_seq) VALUES (OLD.account_id, 'Thread', OLD.id, OLD.mod_seq)
    ON CONFLICT (account_id, type, object_id) DO UPDATE SET mod_seq = excluded.mod_seq;
  RETURN NULL;
END $$;
CREATE TRIGGER threads_delete AFTER DELETE ON threads FOR EACH ROW EXECUTE FUNCTION postamt_thread_gone();
-- No foreign keys on these tables: the rows of a removed account go last, after the cascades that fire the
-- triggers above (foreign-key cascades are triggers named RI_..., which run before this one by name order).
CREATE FUNCTION postamt_account_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM emails WHERE account_id = OLD.id;
  DELETE FROM threads WHERE account_id = OLD.id;
  DELETE FROM thread_keys WHERE account_id = OLD.id;
  DELETE FROM tombstones WHERE account_id = OLD.id;
  DELETE FROM account_seq WHERE account_id = OLD.id;
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_jmap_delete AFTER DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION postamt_account_gone();
CREATE FUNCTION postamt_mailbox_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tombstones (account_id, type, object_id, mod_seq)
    SELECT OLD.account_id, 'Mailbox', OLD.id, value FROM account_seq WHERE account_id = OLD.account_id
    ON CONFLICT (account_id, type, object_id) DO UPDATE SET mod_seq = excluded.mod_seq;
  RETURN NULL;
END $$;
CREATE TRIGGER mailboxes_delete AFTER DELETE ON mailboxes FOR EACH ROW EXECUTE FUNCTION postamt_mailbox_gone();

-- A new email at delivery: its thread is the one of the first key found (Message-ID, then References /
-- In-Reply-To), else a reply subject's thread if it was active within the window, else a new thread.
CREATE FUNCTION postamt_new_email(p_account bigint, p_seq bigint, p_keys text[], p_reply_subject text, p_put_keys text[],
    p_message_id text, p_base_subject text, p_sent_at bigint, p_from_sort text, p_to_sort text, p_now bigint, p_window bigint,
    OUT o_email bigint, OUT o_thread bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_key text;
  v_last bigint;
BEGIN
  o_email := nextval('email_ids');
  o_thread := NULL;
  FOREACH v_key IN ARRAY p_keys LOOP
    SELECT tk.thread_id INTO o_thread FROM thread_keys tk JOIN threads t ON t.id = tk.thread_id WHERE tk.account_id = p_account AND tk.key = v_key;
    EXIT WHEN o_thread IS NOT NULL;
  END LOOP;
  IF o_thread IS NULL AND p_reply_subject IS NOT NULL THEN
    SELECT tk.thread_id INTO o_thread FROM thread_keys tk JOIN threads t ON t.id = tk.thread_id WHERE tk.account_id = p_account AND tk.key = p_reply_subject;
    IF o_thread IS NOT NULL THEN
      SELECT max(m.internal_date) INTO v_last FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.thread_id = o_thread;
      IF v_last IS NULL OR p_now - v_last > p_window THEN
        o_thread := NULL;
      END IF;
    END IF;
  END IF;
  o_thread := coalesce(o_thread, o_email);
  INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq, message_id, base_subject, sent_at, from_sort, to_sort)
    VALUES (o_email, p_account, o_thread, p_seq, p_seq, p_message_id, p_base_subject, p_sent_at, p_from_sort, p_to_sort);
  INSERT INTO thread_keys (account_id, key, thread_id) SELECT p_account, k, o_thread FROM unnest(p_put_keys) AS k
    ON CONFLICT (account_id, key) DO UPDATE SET thread_id = excluded.thread_id;
END $$;
`,
  },
  {
    version: 4,
    name: 'JMAP uploads and access tokens',
    // SQLite migration 9: uploaded blobs per account with an expiry, access tokens as SHA-256 hashes.
    sql: `
CREATE TABLE uploads (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  blob_id text NOT NULL,
  type text NOT NULL,
  size bigint NOT NULL,
  data bytea NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (account_id, blob_id)
);
CREATE INDEX uploads_expiry ON uploads(expires_at);
CREATE TABLE access_tokens (
  token_hash text PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  label text NOT NULL,
  credential text NOT NULL,
  app_password_id bigint,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX access_tokens_account ON access_tokens(account_id);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
`,
  },
  {
    version: 5,
    name: 'one round trip per delivered copy',
    // A delivered copy took four round trips inside the batch (body, UID, email, message row); this
    // function does them in one (the body too when it is one chunk given as p_data, else p_blob names it).
    // The UPDATEs are those of mailboxes.ts allocateUid, in the same order.
    sql: `
CREATE FUNCTION postamt_deliver_copy(p_mailbox bigint, p_blob bigint, p_size bigint, p_internal_date bigint, p_flags text,
    p_keys text[], p_reply_subject text, p_put_keys text[], p_message_id text, p_base_subject text, p_sent_at bigint,
    p_from_sort text, p_to_sort text, p_now bigint, p_window bigint, p_email bigint, p_data bytea,
    OUT o_uid bigint, OUT o_blob bigint, OUT o_account bigint, OUT o_email bigint, OUT o_thread bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
  v_mod_seq bigint;
BEGIN
  SELECT account_id INTO o_account FROM mailboxes WHERE id = p_mailbox;
  IF o_account IS NULL THEN
    RAISE EXCEPTION 'mailbox % does not exist', p_mailbox;
  END IF;
  o_blob := p_blob;
  IF o_blob IS NULL THEN
    INSERT INTO blobs (size) VALUES (p_size) RETURNING id INTO o_blob;
    INSERT INTO blob_chunks (blob_id, seq, data) VALUES (o_blob, 0, p_data);
  END IF;
  UPDATE account_seq SET value = value + 1 WHERE account_id = o_account RETURNING value INTO v_seq;
  UPDATE mailboxes SET uid_next = uid_next + 1, highest_mod_seq = greatest(highest_mod_seq + 1, v_seq) WHERE id = p_mailbox
    RETURNING uid_next - 1, highest_mod_seq INTO o_uid, v_mod_seq;
  IF p_email IS NULL THEN
    SELECT e.o_email, e.o_thread INTO o_email, o_thread FROM postamt_new_email(o_account, v_mod_seq, p_keys, p_reply_subject, p_put_keys,
      p_message_id, p_base_subject, p_sent_at, p_from_sort, p_to_sort, p_now, p_window) e;
  ELSE
    o_email := p_email;
    SELECT thread_id INTO o_thread FROM emails WHERE id = p_email;
  END IF;
  INSERT INTO messages (mailbox_id, uid, blob_id, blob_offset, size, internal_date, flags, mod_seq, email_id)
    VALUES (p_mailbox, o_uid, o_blob, 0, p_size, p_internal_date, p_flags, v_mod_seq, o_email);
END $$;
`,
  },
  {
    version: 6,
    name: 'message trace',
    // As SQLite's migration 10: one row per step of a message's life, kept for trace.retention.
    sql: `
CREATE TABLE message_trace (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  queue_id text NOT NULL,
  event text NOT NULL,
  result text NOT NULL,
  reason text,
  message_id text,
  sender text,
  recipients text NOT NULL,
  data text NOT NULL
);
CREATE INDEX message_trace_queue ON message_trace(queue_id);
CREATE INDEX message_trace_at ON message_trace(at);
CREATE INDEX message_trace_message_id ON message_trace(message_id);
CREATE INDEX message_trace_sender ON message_trace(sender);
`,
  },
  {
    version: 7,
    name: 'queue leases',
    // Queue leases: the node attempting a recipient holds it until lease_until (renewed while the attempt
    // runs); other nodes skip it until the owner records a result or the lease expires (its node died).
    sql: `
ALTER TABLE queue_recipients ADD COLUMN lease_owner text, ADD COLUMN lease_until bigint;
`,
  },
  {
    version: 8,
    name: 'admin settings, second factors, token scopes',
    // As SQLite's version 11: run-time admin settings, TOTP secrets, and the scope of an access token.
    sql: `
CREATE TABLE admin_settings (
  key text PRIMARY KEY,
  value text NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE second_factors (
  account_id bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  secret text NOT NULL,
  confirmed boolean NOT NULL,
  last_step bigint NOT NULL,
  created_at bigint NOT NULL
);
ALTER TABLE access_tokens ADD COLUMN scope text NOT NULL DEFAULT 'session';
`,
  },
  {
    version: 9,
    name: 'IMAP METADATA',
    // As SQLite's migration 12: server entries per account, mailbox entries per mailbox.
    sql: `
CREATE TABLE server_metadata (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  entry text NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (account_id, entry)
);
CREATE TABLE mailbox_metadata (
  mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  entry text NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (mailbox_id, entry)
);
`,
  },
  {
    version: 10,
    name: 'vacation responses',
    // The SQLite schema's version 13, table for table.
    sql: `
CREATE TABLE vacation_responses (
  account_id bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  is_enabled boolean NOT NULL,
  from_date bigint,
  to_date bigint,
  subject text,
  text_body text,
  html_body text,
  state bigint NOT NULL
);
CREATE INDEX vacation_responses_enabled ON vacation_responses(account_id) WHERE is_enabled;
CREATE TABLE vacation_replies (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  sender text NOT NULL,
  sent_at bigint NOT NULL,
  PRIMARY KEY (account_id, sender)
);
`,
  },
  {
    version: 11,
    name: 'shared state',
    // Small records the nodes share (greylisting, DKIM keys, login failures): JSON by namespace and key,
    // with an optional expiry in milliseconds; expired rows read as absent and are pruned.
    sql: `
CREATE TABLE shared_state (
  namespace text NOT NULL,
  key text NOT NULL,
  value jsonb NOT NULL,
  expires_at bigint,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX shared_state_expiry ON shared_state(expires_at) WHERE expires_at IS NOT NULL;
`,
  },
  {
    version: 12,
    name: 'save dates',
    // The SQLite schema's version 16 (RFC 8514 SAVEDATE). The default is set after the column is added, so
    // existing rows stay NULL (they read their internal date) and the table is not rewritten; every insert
    // (delivery, APPEND, COPY, MOVE, JMAP) gets the time of the insert.
    sql: `
ALTER TABLE messages ADD COLUMN saved_at bigint;
ALTER TABLE messages ALTER COLUMN saved_at SET DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
`,
  },
  {
    version: 13,
    name: 'search index',
    // Derived data, filled after commit by the background indexer (docs/decisions/0011): the lower-cased
    // texts of the JMAP text conditions, headers, the attachment flag and the list properties. The trigram
    // indexes need pg_trgm, a trusted extension a database owner may create; without it the texts are
    // scanned (still without parsing a message).
    sql: `
CREATE TABLE email_search (
  email_id bigint PRIMARY KEY,
  account_id bigint NOT NULL,
  f_from text NOT NULL,
  f_to text NOT NULL,
  f_cc text NOT NULL,
  f_bcc text NOT NULL,
  f_subject text NOT NULL,
  f_body text NOT NULL,
  has_attachment boolean NOT NULL,
  headers jsonb NOT NULL,
  summary text NOT NULL
);
CREATE INDEX email_search_account ON email_search(account_id);
DO $$ BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm not available (%): text conditions scan the search texts', SQLERRM;
END $$;
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE INDEX email_search_from ON email_search USING gin (f_from gin_trgm_ops);
    CREATE INDEX email_search_to ON email_search USING gin (f_to gin_trgm_ops);
    CREATE INDEX email_search_cc ON email_search USING gin (f_cc gin_trgm_ops);
    CREATE INDEX email_search_bcc ON email_search USING gin (f_bcc gin_trgm_ops);
    CREATE INDEX email_search_subject ON email_search USING gin (f_subject gin_trgm_ops);
    CREATE INDEX email_search_body ON email_search USING gin (f_body gin_trgm_ops);
  END IF;
END $$;
`,
  },
  {
    version: 14,
    name: 'email submissions, identities, delayed send',
    // The SQLite schema's version 19, table for table (version 17 is SQLite's own trace staging).
    sql: `
CREATE TABLE account_object_seqs (
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  type text NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (account_id, type)
);
CREATE TABLE identities (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  is_primary boolean NOT NULL,
  email text NOT NULL,
  name text NOT NULL,
  reply_to text,
  bcc text,
  text_signature text NOT NULL,
  html_signature text NOT NULL,
  created_seq bigint NOT NULL,
  mod_seq bigint NOT NULL,
  destroyed boolean NOT NULL DEFAULT false
);
CREATE INDEX identities_account ON identities(account_id, mod_seq);
CREATE UNIQUE INDEX identities_primary ON identities(account_id) WHERE is_primary;
CREATE TABLE email_submissions (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  identity_id text NOT NULL,
  email_id bigint NOT NULL,
  thread_id bigint NOT NULL,
  envelope text NOT NULL,
  send_at bigint NOT NULL,
  undo_status text NOT NULL,
  delivery_status text,
  queue_id text,
  created_at bigint NOT NULL,
  created_seq bigint NOT NULL,
  mod_seq bigint NOT NULL,
  destroyed boolean NOT NULL DEFAULT false
);
CREATE INDEX email_submissions_account ON email_submissions(account_id, mod_seq);
CREATE INDEX email_submissions_queue ON email_submissions(queue_id) WHERE queue_id IS NOT NULL;
ALTER TABLE queue_messages ADD COLUMN hold_until bigint;
`,
  },
  {
    version: 15,
    name: 'uploads in chunks',
    // The SQLite schema's version 20: uploads written chunk by chunk as they arrive, complete after the last.
    sql: `
CREATE TABLE upload_chunks (
  account_id bigint NOT NULL,
  blob_id text NOT NULL,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (account_id, blob_id, seq),
  FOREIGN KEY (account_id, blob_id) REFERENCES uploads(account_id, blob_id) ON DELETE CASCADE
);
INSERT INTO upload_chunks (account_id, blob_id, seq, data) SELECT account_id, blob_id, 0, data FROM uploads WHERE octet_length(data) > 0;
ALTER TABLE uploads ADD COLUMN complete boolean NOT NULL DEFAULT true;
ALTER TABLE uploads DROP COLUMN data;
`,
  },
  {
    version: 16,
    name: 'a batch of deliveries in one statement',
    // A batch of N deliveries took 2N + 5 round trips (BEGIN, locks, a copy and a trace row each, the change
    // log, COMMIT) while holding the mailbox locks; this function is the whole transaction in one statement
    // sent outside BEGIN (PostgreSQL commits it when it returns): the locks in the order every writer takes
    // them (account sequences, then mailboxes, by id), each delivery's body, copies (postamt_deliver_copy)
    // and queue entry, the trace rows, the change log row and its NOTIFY. p_items is one JSON object per
    // delivery; their bodies are p_data end to end, each item's "size" bytes. One row per stored copy or
    // queue entry is returned.
    sql: `
CREATE FUNCTION postamt_deliver_batch(p_items jsonb, p_data bytea,
    p_trace_at bigint[], p_trace_queue text[], p_trace_event text[], p_trace_result text[], p_trace_reason text[],
    p_trace_message_id text[], p_trace_sender text[], p_trace_recipients text[], p_trace_data text[],
    p_origin text, p_now bigint, p_window bigint, p_max_inline integer)
  RETURNS TABLE (r_item integer, r_mailbox bigint, r_uid bigint, r_account bigint, r_email bigint, r_thread bigint, r_queue text)
  LANGUAGE plpgsql AS $$
DECLARE
  v_item jsonb;
  v_target jsonb;
  v_queue jsonb;
  v_mailboxes bigint[];
  v_offset integer := 0;
  v_size integer;
  v_data bytea;
  v_blob bigint;
  v_email bigint;
  v_copy record;
  v_changes jsonb := '[]'::jsonb;
  v_text text;
  v_seq bigint;
BEGIN
  SELECT array_agg(DISTINCT (t->>'mailbox')::bigint) INTO v_mailboxes
    FROM jsonb_array_elements(p_items) AS i, jsonb_array_elements(i->'targets') AS t;
  IF v_mailboxes IS NOT NULL THEN
    PERFORM 1 FROM account_seq WHERE account_id IN (SELECT account_id FROM mailboxes WHERE id = ANY(v_mailboxes)) ORDER BY account_id FOR UPDATE;
    PERFORM 1 FROM mailboxes WHERE id = ANY(v_mailboxes) ORDER BY id FOR UPDATE;
  END IF;
  r_item := 0;
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    v_size := (v_item->>'size')::integer;
    v_data := substring(p_data FROM v_offset + 1 FOR v_size);
    v_offset := v_offset + v_size;
    v_queue := v_item->'queue';
    v_blob := NULL;
    v_email := NULL;
    -- One copy and nothing queued: postamt_deliver_copy stores the body with the copy; else it is stored once.
    IF jsonb_array_length(v_item->'targets') <> 1 OR v_queue IS NOT NULL THEN
      INSERT INTO blobs (size) VALUES (v_size) RETURNING id INTO v_blob;
      INSERT INTO blob_chunks (blob_id, seq, data) VALUES (v_blob, 0, v_data);
    END IF;
    FOR v_target IN SELECT value FROM jsonb_array_elements(v_item->'targets') LOOP
      SELECT * INTO v_copy FROM postamt_deliver_copy((v_target->>'mailbox')::bigint, v_blob, v_size, (v_target->>'date')::bigint, v_target->>'flags',
        ARRAY(SELECT jsonb_array_elements_text(v_item->'keys')), v_item->>'reply', ARRAY(SELECT jsonb_array_elements_text(v_item->'put')),
        v_item->>'messageId', v_item->>'subject', (v_item->>'sentAt')::bigint, v_item->>'fromSort', v_item->>'toSort', p_now, p_window, v_email,
        CASE WHEN v_blob IS NULL THEN v_data END);
      v_blob := v_copy.o_blob;
      IF (v_item->>'oneEmail')::boolean THEN
        v_email := v_copy.o_email;
      END IF;
      r_mailbox := (v_target->>'mailbox')::bigint;
      r_uid := v_copy.o_uid;
      r_account := v_copy.o_account;
      r_email := v_copy.o_email;
      r_thread := v_copy.o_thread;
      r_queue := NULL;
      RETURN NEXT;
      v_changes := v_changes || jsonb_build_object('accountId', r_account, 'mailboxId', r_mailbox, 'kind', 'append', 'uids', jsonb_build_array(r_uid));
    END LOOP;
    IF v_queue IS NOT NULL THEN
      INSERT INTO queue_messages (id, blob_id, blob_offset, size, sender, envid, ret, origin, submitter, created_at)
        VALUES (v_queue->>'id', v_blob, (v_queue->>'offset')::bigint, v_size - (v_queue->>'offset')::bigint, v_queue->>'sender', v_queue->>'envid',
          v_queue->>'ret', v_queue->>'origin', v_queue->>'submitter', p_now);
      INSERT INTO queue_recipients (queue_id, address, domain, orcpt, notify, state, next_attempt_at, updated_at)
        SELECT v_queue->>'id', r->>'address', r->>'domain', r->>'orcpt', r->>'notify', 'queued', p_now, p_now
        FROM jsonb_array_elements(v_queue->'recipients') WITH ORDINALITY AS x(r, n) ORDER BY n;
      r_mailbox := NULL;
      r_uid := NULL;
      r_account := NULL;
      r_email := NULL;
      r_thread := NULL;
      r_queue := v_queue->>'id';
      RETURN NEXT;
      v_changes := v_changes || '[{"kind": "queue"}]'::jsonb;
    END IF;
    r_item := r_item + 1;
  END LOOP;
  IF p_trace_at IS NOT NULL AND cardinality(p_trace_at) > 0 THEN
    INSERT INTO message_trace (at, queue_id, event, result, reason, message_id, sender, recipients, data)
      SELECT * FROM unnest(p_trace_at, p_trace_queue, p_trace_event, p_trace_result, p_trace_reason, p_trace_message_id, p_trace_sender, p_trace_recipients, p_trace_data);
  END IF;
  -- The change feed (change-feed.ts logChanges): one log row, announced at commit.
  IF p_origin IS NOT NULL AND jsonb_array_length(v_changes) > 0 THEN
    v_text := v_changes::text;
    INSERT INTO change_log (origin, at, changes) VALUES (p_origin, p_now, v_text) RETURNING seq INTO v_seq;
    PERFORM pg_notify('postamt_changes', v_seq || ' ' || p_origin || CASE WHEN octet_length(v_text) <= p_max_inline THEN ' ' || v_text ELSE '' END);
  END IF;
END $$;
`,
  },
  {
    version: 17,
    name: 'mailbox sortOrder',
    // RFC 8621 §2 sortOrder is set by clients so a mailbox list is ordered the same on every device; null
    // keeps the default by role.
    sql: `
ALTER TABLE mailboxes ADD COLUMN sort_order bigint;
`,
  },
  {
    version: 18,
    name: 'JMAP push subscriptions',
    // RFC 8620 §7.2: a push subscription belongs to the login credential that made it (the account, and the
    // app password or the password stamp), not to an account; it goes with its account and its app password.
    sql: `
CREATE TABLE push_subscriptions (
  id text PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  app_password_id bigint REFERENCES app_passwords(id) ON DELETE CASCADE,
  credential text,
  device_client_id text NOT NULL,
  url text NOT NULL,
  key_p256dh text,
  key_auth text,
  verification_code text NOT NULL,
  verified boolean NOT NULL DEFAULT false,
  expires bigint NOT NULL,
  types text,
  created_at bigint NOT NULL
);
CREATE INDEX push_subscriptions_account ON push_subscriptions(account_id);
`,
  },
  {
    version: 19,
    name: 'push subscriptions of login sessions',
    // RFC 8620 §7.2: a subscription made with a Bearer token (a login session) ends with that session.
    sql: `
ALTER TABLE push_subscriptions ADD COLUMN access_token text;
`,
  },
  {
    version: 20,
    name: 'thread rows for threads of more than one email',
    // SQLite migration 25: a thread of one email is that email (same id, account and created seq, and that
    // seq as its mod seq: its membership never changed) and has no row; the row is written when a second
    // email joins, with the first one's created seq, and stays until the thread's last email goes. A thread
    // exists while an email is in it (the key lookup asks the emails); `/changes` reads a thread without a
    // row from its email (store/postgres/email-store.ts); its tombstone is written when the email goes.
    sql: `
DROP TRIGGER emails_insert ON emails;
CREATE OR REPLACE FUNCTION postamt_thread_of_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO threads (id, account_id, created_seq, mod_seq)
    VALUES (NEW.thread_id, NEW.account_id, coalesce((SELECT created_seq FROM emails WHERE id = NEW.thread_id), NEW.created_seq), NEW.mod_seq)
    ON CONFLICT (id) DO UPDATE SET mod_seq = greatest(threads.mod_seq, excluded.mod_seq);
  RETURN NULL;
END $$;
CREATE TRIGGER emails_insert AFTER INSERT ON emails FOR EACH ROW WHEN (NEW.thread_id <> NEW.id) EXECUTE FUNCTION postamt_thread_of_email();
CREATE OR REPLACE FUNCTION postamt_email_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tombstones (account_id, type, object_id, mod_seq) VALUES (OLD.account_id, 'Email', OLD.id, OLD.mod_seq)
    ON CONFLICT (account_id, type, object_id) DO UPDATE SET mod_seq = excluded.mod_seq;
  IF OLD.thread_id = OLD.id AND NOT EXISTS (SELECT 1 FROM threads WHERE id = OLD.id) THEN
    INSERT INTO tombstones (account_id, type, object_id, mod_seq) VALUES (OLD.account_id, 'Thread', OLD.id, OLD.mod_seq)
      ON CONFLICT (account_id, type, object_id) DO UPDATE SET mod_seq = excluded.mod_seq;
  END IF;
  UPDATE threads SET mod_seq = greatest(mod_seq, OLD.mod_seq) WHERE id = OLD.thread_id;
  DELETE FROM threads WHERE id = OLD.thread_id AND NOT EXISTS (SELECT 1 FROM emails WHERE thread_id = OLD.thread_id);
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION postamt_new_email(p_account bigint, p_seq bigint, p_keys text[], p_reply_subject text, p_put_keys text[],
    p_message_id text, p_base_subject text, p_sent_at bigint, p_from_sort text, p_to_sort text, p_now bigint, p_window bigint,
    OUT o_email bigint, OUT o_thread bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_key text;
  v_last bigint;
BEGIN
  o_email := nextval('email_ids');
  o_thread := NULL;
  FOREACH v_key IN ARRAY p_keys LOOP
    SELECT tk.thread_id INTO o_thread FROM thread_keys tk
      WHERE tk.account_id = p_account AND tk.key = v_key AND EXISTS (SELECT 1 FROM emails e WHERE e.thread_id = tk.thread_id);
    EXIT WHEN o_thread IS NOT NULL;
  END LOOP;
  IF o_thread IS NULL AND p_reply_subject IS NOT NULL THEN
    SELECT tk.thread_id INTO o_thread FROM thread_keys tk
      WHERE tk.account_id = p_account AND tk.key = p_reply_subject AND EXISTS (SELECT 1 FROM emails e WHERE e.thread_id = tk.thread_id);
    IF o_thread IS NOT NULL THEN
      SELECT max(m.internal_date) INTO v_last FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.thread_id = o_thread;
      IF v_last IS NULL OR p_now - v_last > p_window THEN
        o_thread := NULL;
      END IF;
    END IF;
  END IF;
  o_thread := coalesce(o_thread, o_email);
  INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq, message_id, base_subject, sent_at, from_sort, to_sort)
    VALUES (o_email, p_account, o_thread, p_seq, p_seq, p_message_id, p_base_subject, p_sent_at, p_from_sort, p_to_sort);
  INSERT INTO thread_keys (account_id, key, thread_id) SELECT p_account, k, o_thread FROM unnest(p_put_keys) AS k
    ON CONFLICT (account_id, key) DO UPDATE SET thread_id = excluded.thread_id;
END $$;
`,
  },
  {
    version: 21,
    name: 'retry requests on queued recipients',
    // SQLite migration 26: the time an administrator asked for a recipient to be retried, so a runner on any
    // node lifts its in-memory backoff of the recipient's dead destination when it next claims the recipient.
    sql: `
ALTER TABLE queue_recipients ADD COLUMN retry_requested_at bigint;
`,
  },
];
