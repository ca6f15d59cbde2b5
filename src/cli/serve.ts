/**
 * `postamt serve`: starts every configured listener and the queue, prints a banner saying what listens
 * where (and how to add a domain and a user), reloads TLS certificates on SIGHUP, and drains on
 * SIGTERM/SIGINT (421 to SMTP clients, BYE to IMAP) before exiting.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { startServer } from '../app/server.ts';
import { HTTP_LISTENER_ROLES, LISTENER_ROLES } from '../app/listeners.ts';
import { createLogger } from '../core/log.ts';
import { configFor, globalOptions, type CliDeps } from './context.ts';

export function registerServe(program: Command, deps: CliDeps): void {
  program
    .command('serve')
    .description('start the mail server (SMTP, submission, IMAP, POP3 and the queue)')
    .action(async (_opts: unknown, cmd: Command) => {
      const config = configFor(cmd, deps);
      const format = globalOptions(cmd).logFormat ?? config.logFormat;
      const logger = createLogger({ format, level: config.logLevel });
      const server = await startServer({ config, logger });
      const out = deps.io.stderr;
      out.write(`Postamt is running as ${config.hostname} (data in ${config.dataDir})\n`);
      for (const role of [...LISTENER_ROLES, ...HTTP_LISTENER_ROLES]) {
        const address = config.listen[role];
        if (address) out.write(`  ${role.padEnd(12)} ${address.host.includes(':') ? `[${address.host}]` : address.host}:${server.ports[role]}\n`);
      }
      const web = server.ports.https !== null ? `https://${hostText(config.listen.https!.host)}:${server.ports.https}` : server.ports.http !== null ? `http://${hostText(config.listen.http!.host)}:${server.ports.http}` : null;
      if (web) out.write(`  JMAP session: ${web}/.well-known/jmap\n`);
      // The commands shown act on this server's data only with the same configuration file.
      const given = globalOptions(cmd).config;
      const postamt = `npx postamt${given === undefined ? '' : ` --config ${shellQuote(resolve(deps.cwd, given))}`}`;
      const domains = await server.services.store.listDomains();
      if (domains.length === 0) {
        out.write(`\nNo domains yet. In another terminal:\n  ${postamt} domain add example.test\n  ${postamt} user add alice@example.test\n`);
      } else {
        out.write(`\nDomains: ${domains.map((d) => d.name).join(', ')}\nManage them with: ${postamt} user list\n`);
      }
      out.write('Stop with Ctrl-C (SIGTERM drains connections).\n');
      const reload = (): void => void server.services.tls.reload();
      process.on('SIGHUP', reload);
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info({ event: 'server.stopping', signal }, 'stopping');
          process.removeListener('SIGHUP', reload);
          server.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      logger.flush?.();
    });
}

function hostText(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A path as one shell word: unchanged when it holds only safe characters, else in single quotes. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
