/**
 * `postamt dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519]`, `dkim list [DOMAIN]` and
 * `dkim retire DOMAIN SELECTOR`: DKIM keys in <data_dir>/dkim, and the TXT record that publishes each.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { dkimRecordText, formatTxt, generateDkimKey } from '../policy/dkim-sign.ts';
import type { DkimAlgorithm } from '../policy/types.ts';
import { configFor, formatTable, println, type CliDeps } from './context.ts';
import { parseDomain } from './validate.ts';

/** Default selector: the date and the algorithm, so that a rotation never reuses one ("20261123r"). */
export function defaultSelector(algorithm: DkimAlgorithm, now: Date = new Date()): string {
  return now.toISOString().slice(0, 10).replace(/-/g, '') + (algorithm === 'ed25519' ? 'e' : 'r');
}

export function registerDkim(program: Command, deps: CliDeps): void {
  const dkim = program.command('dkim').description('DKIM signing keys (RFC 6376, RFC 8463)');

  dkim
    .command('generate')
    .description('Make a new signing key for DOMAIN and print the DNS TXT record to publish')
    .argument('<domain>', 'the signing domain (d=)')
    .option('--selector <selector>', 'the key selector (s=); default: today\'s date and the algorithm')
    .option('--algorithm <algorithm>', 'rsa (2048 bits) or ed25519', 'rsa')
    .action(async (domainArg: string, opts: { selector?: string; algorithm: string }, command: Command) => {
      const domain = parseDomain(domainArg);
      if (opts.algorithm !== 'rsa' && opts.algorithm !== 'ed25519') throw new UsageError(`--algorithm must be rsa or ed25519, not ${JSON.stringify(opts.algorithm)}`);
      const algorithm: DkimAlgorithm = opts.algorithm;
      const selector = (opts.selector ?? defaultSelector(algorithm)).toLowerCase();
      const config = configFor(command, deps);
      const store = new FileDkimKeyStore({ dataDir: config.dataDir });
      const generated = generateDkimKey(algorithm);
      const key = await store.addKey(domain, selector, algorithm, generated.privateKeyPem, generated.publicKeyB64);
      const out = deps.io.stdout;
      println(out, `; DKIM ${algorithm} key ${selector} for ${domain} stored; it signs from now on. Publish:`);
      println(out, `${selector}._domainkey.${domain}. IN TXT ${formatTxt(dkimRecordText(key))}`);
    });

  dkim
    .command('list')
    .description('List DKIM keys (newest first); the newest active key of each algorithm signs')
    .argument('[domain]', 'only this domain')
    .option('--json', 'print JSON')
    .action(async (domainArg: string | undefined, opts: { json?: boolean }, command: Command) => {
      const config = configFor(command, deps);
      const store = new FileDkimKeyStore({ dataDir: config.dataDir });
      const keys = await store.listKeys(domainArg ? parseDomain(domainArg) : undefined);
      if (keys.length === 0 && !opts.json) {
        println(deps.io.stdout, 'no DKIM keys; make one with: postamt dkim generate DOMAIN');
        return;
      }
      const signing = new Set<string>();
      for (const d of new Set(keys.map((k) => k.domain))) for (const k of await store.activeKeys(d)) signing.add(`${k.domain}/${k.selector}`);
      const listed = keys.map((k) => ({
        domain: k.domain, selector: k.selector, algorithm: k.algorithm, createdAt: k.createdAt.toISOString(),
        state: signing.has(`${k.domain}/${k.selector}`) ? 'signing' : k.active ? 'superseded' : 'retired',
        record: `${k.selector}._domainkey.${k.domain}. IN TXT ${formatTxt(dkimRecordText(k))}`,
      }));
      if (opts.json) return println(deps.io.stdout, JSON.stringify(listed, null, 2));
      const rows = [['DOMAIN', 'SELECTOR', 'ALGORITHM', 'CREATED', 'STATE']];
      for (const k of listed) rows.push([k.domain, k.selector, k.algorithm, k.createdAt.slice(0, 19) + 'Z', k.state]);
      for (const line of formatTable(rows)) println(deps.io.stdout, line);
    });

  dkim
    .command('retire')
    .description('Stop signing with a key (keep its DNS record until mail signed with it has been delivered)')
    .argument('<domain>')
    .argument('<selector>')
    .action(async (domainArg: string, selector: string, _opts: unknown, command: Command) => {
      const config = configFor(command, deps);
      const store = new FileDkimKeyStore({ dataDir: config.dataDir });
      if (!(await store.setActive(parseDomain(domainArg), selector, false))) throw new UsageError(`no DKIM key ${selector} for ${domainArg}`);
      println(deps.io.stdout, `retired ${selector} for ${parseDomain(domainArg)}`);
    });
}
