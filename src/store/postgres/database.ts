/**
 * Connections to PostgreSQL: a pool whose sessions run with synchronous_commit on (a COMMIT returns only
 * once its WAL is flushed, on the standby too when synchronous replication is configured) and the
 * configured statement timeout, 64-bit integers read as numbers, and the migrations applied at open.
 */
import pg from 'pg';
import { pgMigrations } from './migrations.ts';

export interface PgConnectionOptions {
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** statement_timeout of every session in milliseconds (default 30 s; 0 for none). */
  statementTimeoutMs?: number;
}

const INT8 = 20;
const NUMERIC = 1700;
const INT8_ARRAY = 1016;

/**
 * Ids, UIDs, modseqs, sizes and times are bigint columns; every value the store keeps is below 2^53, so
 * they are read as numbers (node-postgres reads int8 as strings by default).
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (format !== 'binary') {
      if (oid === INT8 || oid === NUMERIC) return Number;
      if (oid === INT8_ARRAY) {
        const parseArray = (pg.types.getTypeParser as (oid: number) => unknown)(INT8_ARRAY) as (value: string) => string[];
        return (value: string) => parseArray(value).map(Number);
      }
    }
    return pg.types.getTypeParser(oid, format as 'text') as (value: string) => unknown;
  },
};

/** The settings every connection (pooled or LISTEN) opens with. */
export function clientConfig(options: PgConnectionOptions): pg.ClientConfig {
  return {
    connectionString: options.url,
    application_name: 'postamt',
    types: types as unknown as pg.CustomTypesConfig,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    // Acknowledgements wait for the commit's flush whatever the server's default says.
    options: '-c synchronous_commit=on',
    keepAlive: true,
    // A database that does not answer fails the operation (a temporary error to the client) instead of
    // holding the SMTP or IMAP command forever.
    connectionTimeoutMillis: 10_000,
  };
}

export function openPool(options: PgConnectionOptions): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(options), max: options.poolSize ?? 10, idleTimeoutMillis: 30_000 });
  // An idle pooled connection that breaks (the server restarted) is dropped by the pool; without a
  // listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Two nodes starting at once must not both apply a migration: one waits for the other's lock. */
const MIGRATION_LOCK = 0x706f7374; // "post"

export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const migration of pgMigrations) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** SQLSTATEs after which the same transaction may simply be run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '40P01' /* deadlock_detected */ || code === '40001';
}

/**
 * The server refused the statement (an error of the statement itself, rolled back) while the connection
 * stays usable; not a lost connection, a server shutting down or out of resources.
 */
export function statementRefused(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return false;
  return !/^(08|53|57|58|XX)/.test(err.code ?? 'XX');
}
