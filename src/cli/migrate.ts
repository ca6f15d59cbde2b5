/**
 * `postamt migrate --to postgres://...`: copies this deployment's SQLite store into an empty PostgreSQL
 * database (every table, ids, UIDs, UIDVALIDITY, MODSEQs, flags, bodies, queue, JMAP ids; DKIM keys from
 * data_dir/dkim), verifies counts and checksums, and prints what to change in the configuration.
 */
import type { Command } from 'commander';
import { importFileDkimKeys } from '../app/dkim-keys.ts';
import { UsageError } from '../core/errors.ts';
import { silentLogger } from '../core/log.ts';
import { importSqliteStore } from '../store/migrate/sqlite-to-postgres.ts';
import { openStore, storeExists } from '../store/open.ts';
import { configFor, formatTable, println, type CliDeps } from './context.ts';

/** The URL without its password, for printing. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export function registerMigrate(program: Command, deps: CliDeps): void {
  program.command('migrate').description('copy the SQLite store into an empty PostgreSQL database, verify it, and say what to switch')
    .requiredOption('--to <url>', 'the PostgreSQL database: postgres://user@host/database (empty; its tables are made)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { to: string; json?: boolean }, command: Command) => {
      const config = configFor(command, deps);
      if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new UsageError('--to must be a postgres:// or postgresql:// URL');
      if (config.storage.backend !== 'sqlite') throw new UsageError('this configuration already uses PostgreSQL (storage.backend); migrate copies a SQLite store');
      if (!storeExists(config.dataDir, config.storage)) throw new UsageError(`no store in ${config.dataDir}`);
      const progress = (line: string): void => {
        if (!opts.json) println(deps.io.stderr, `postamt: ${line}`);
      };
      let report;
      try {
        report = await importSqliteStore({ dataDir: config.dataDir, url: opts.to, log: progress });
      } catch (err) {
        throw new UsageError(`migrate: ${(err as Error).message}`);
      }
      const store = await openStore({ dataDir: config.dataDir, storage: { backend: 'postgres', url: opts.to, poolSize: 2, statementTimeout: 0 } });
      let dkim: number;
      try {
        await importFileDkimKeys(store, config.dataDir, silentLogger());
        dkim = (await store.shared?.listShared('dkim'))?.length ?? 0;
      } finally {
        await store.close();
      }
      if (opts.json) {
        println(deps.io.stdout, JSON.stringify({ ...report, dkimKeys: dkim, verified: true }, null, 2));
        return;
      }
      const rows = [['TABLE', 'ROWS', 'SHA-256'], ...report.tables.map((t) => [t.table, String(t.rows), t.checksum.slice(0, 16)])];
      for (const line of formatTable(rows)) println(deps.io.stdout, line);
      println(deps.io.stdout, `verified: every table's rows and checksum read back from PostgreSQL match the SQLite snapshot (${report.messages} messages, ${report.bodyBytes} body bytes, ${dkim} DKIM keys, ${(report.ms / 1000).toFixed(1)} s)`);
      println(deps.io.stdout, '');
      println(deps.io.stdout, 'To switch, stop the server (mail accepted after this copy started is not in it; run migrate again into a new database after stopping, for none to be missed), then set in the configuration:');
      println(deps.io.stdout, '');
      println(deps.io.stdout, '  [storage]');
      println(deps.io.stdout, '  backend = "postgres"');
      println(deps.io.stdout, `  url = "${redact(opts.to)}"`);
      println(deps.io.stdout, '');
      println(deps.io.stdout, `and start it again. Keep ${config.dataDir}/secret and the TLS files; give every further node the same (docs/operations.md). The SQLite file stays untouched as a fallback.`);
    });
}
