/**
 * `postamt dkim generate|rotate|activate|list|retire`: DKIM keys in <data_dir>/dkim and the TXT record of
 * each. A new key is pending: it signs once activated, by hand or by the server when it sees the record in DNS.
 */
import type { Command } from 'commander';
import { dkimRecordLine } from '../admin/dkim.ts';
import type { DkimAlgorithm, DkimKey } from '../policy/types.ts';
import { formatTable, println, withAdmin, type CliDeps, type OutputStream } from './context.ts';

function printMade(out: OutputStream, domain: string, made: DkimKey[], active: boolean): void {
  const names = made.map((k) => `${k.algorithm} key ${k.selector}`).join(' and ');
  if (active) {
    println(out, `; DKIM ${names} for ${domain} stored; signing from now on. Publish:`);
  } else {
    println(out, `; DKIM ${names} for ${domain} stored. Publish the record${made.length > 1 ? 's' : ''} below; signing starts when the`);
    println(out, `; server sees ${made.length > 1 ? 'them' : 'it'} in DNS (or \`postamt dns check ${domain}\` does), or at once with: postamt dkim activate ${domain} ${made.map((k) => k.selector).join(' ')}`);
  }
  for (const key of made) println(out, dkimRecordLine(key));
}

export function registerDkim(program: Command, deps: CliDeps): void {
  const dkim = program.command('dkim').description('DKIM signing keys (RFC 6376, RFC 8463)');

  dkim
    .command('generate')
    .description('Make a new signing key for DOMAIN and print the DNS TXT record to publish')
    .argument('<domain>', 'the signing domain (d=)')
    .option('--selector <selector>', 'the key selector (s=); default: today\'s date and the algorithm')
    .option('--algorithm <algorithm>', 'rsa (2048 bits), ed25519 (RFC 8463) or both; default: both, or rsa with --selector')
    .option('--active', 'sign at once, without waiting for the DNS record')
    .action(async (domainArg: string, opts: { selector?: string; algorithm?: string; active?: boolean }, command: Command) => {
      await withAdmin(command, deps, async ({ admin, as }) => {
        const made = await admin.dkim.generate(as, { domain: domainArg, algorithm: opts.algorithm as DkimAlgorithm | 'both' | undefined, selector: opts.selector, active: opts.active === true });
        printMade(deps.io.stdout, made[0]!.domain, made, opts.active === true);
      });
    });

  dkim
    .command('rotate')
    .description('Make new pending keys (of the algorithms signing now) to replace the current ones, and print their records')
    .argument('<domain>')
    .action(async (domainArg: string, _opts: unknown, command: Command) => {
      await withAdmin(command, deps, async ({ admin, as }) => {
        const made = await admin.dkim.rotate(as, domainArg);
        printMade(deps.io.stdout, made[0]!.domain, made, false);
        println(deps.io.stdout, '; the current keys sign until then; retire them (postamt dkim retire) once mail signed with them has been delivered');
      });
    });

  dkim
    .command('activate')
    .description('Start signing with pending keys (once their DNS records are published)')
    .argument('<domain>')
    .argument('<selector...>')
    .action(async (domainArg: string, selectors: string[], _opts: unknown, command: Command) => {
      await withAdmin(command, deps, async ({ admin, as }) => {
        for (const key of await admin.dkim.activate(as, domainArg, selectors)) println(deps.io.stdout, `activated ${key.algorithm} key ${key.selector} for ${key.domain}`);
      });
    });

  dkim
    .command('list')
    .description('List DKIM keys (newest first); the newest active key of each algorithm signs')
    .argument('[domain]', 'only this domain')
    .option('--json', 'print JSON')
    .action(async (domainArg: string | undefined, opts: { json?: boolean }, command: Command) => {
      await withAdmin(command, deps, async ({ admin, as }) => {
        const keys = await admin.dkim.list(as, domainArg || undefined);
        if (keys.length === 0 && !opts.json) return println(deps.io.stdout, 'no DKIM keys; make one with: postamt dkim generate DOMAIN');
        const listed = keys.map((k) => ({ ...k, createdAt: k.createdAt.toISOString() }));
        if (opts.json) return println(deps.io.stdout, JSON.stringify(listed, null, 2));
        const rows = [['DOMAIN', 'SELECTOR', 'ALGORITHM', 'CREATED', 'STATE']];
        for (const k of listed) rows.push([k.domain, k.selector, k.algorithm, k.createdAt.slice(0, 19) + 'Z', k.state]);
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
      });
    });

  dkim
    .command('retire')
    .description('Stop signing with a key (keep its DNS record until mail signed with it has been delivered)')
    .argument('<domain>')
    .argument('<selector>')
    .action(async (domainArg: string, selector: string, _opts: unknown, command: Command) => {
      await withAdmin(command, deps, async ({ admin, as }) => {
        println(deps.io.stdout, `retired ${selector} for ${await admin.dkim.retire(as, domainArg, selector)}`);
      });
    });
}
