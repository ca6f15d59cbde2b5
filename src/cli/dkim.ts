/**
 * `postamt dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519|both]`, `dkim activate`, `dkim list
 * [DOMAIN]` and `dkim retire DOMAIN SELECTOR`: DKIM keys in <data_dir>/dkim and the TXT record of each. A new
 * key is pending: it signs once activated, by hand or by the server when it sees the record in DNS.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { dkimRecordText, formatTxt, generateDkimKey } from '../policy/dkim-sign.ts';
import type { DkimAlgorithm, DkimKey } from '../policy/types.ts';
import { configWithStore, formatTable, println, type CliDeps } from './context.ts';
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
    .option('--algorithm <algorithm>', 'rsa (2048 bits), ed25519 (RFC 8463) or both; default: both, or rsa with --selector')
    .option('--active', 'sign at once, without waiting for the DNS record')
    .action(async (domainArg: string, opts: { selector?: string; algorithm?: string; active?: boolean }, command: Command) => {
      const domain = parseDomain(domainArg);
      const choice = opts.algorithm ?? (opts.selector ? 'rsa' : 'both');
      if (choice !== 'rsa' && choice !== 'ed25519' && choice !== 'both') throw new UsageError(`--algorithm must be rsa, ed25519 or both, not ${JSON.stringify(choice)}`);
      if (choice === 'both' && opts.selector) throw new UsageError('--selector names one key: give --algorithm rsa or ed25519 with it');
      // Receivers that know Ed25519 (RFC 8463) verify that signature, the others the RSA one (RFC 8463 §5 advises both).
      const algorithms: DkimAlgorithm[] = choice === 'both' ? ['rsa', 'ed25519'] : [choice];
      const config = configWithStore(command, deps);
      const store = new FileDkimKeyStore({ dataDir: config.dataDir });
      const out = deps.io.stdout;
      const made: DkimKey[] = [];
      for (const algorithm of algorithms) {
        const selector = (opts.selector ?? defaultSelector(algorithm)).toLowerCase();
        const generated = generateDkimKey(algorithm);
        made.push(await store.addKey(domain, selector, algorithm, generated.privateKeyPem, generated.publicKeyB64, { pending: opts.active !== true }));
      }
      const names = made.map((k) => `${k.algorithm} key ${k.selector}`).join(' and ');
      if (opts.active) {
        println(out, `; DKIM ${names} for ${domain} stored; signing from now on. Publish:`);
      } else {
        println(out, `; DKIM ${names} for ${domain} stored. Publish the record${made.length > 1 ? 's' : ''} below; signing starts when the`);
        println(out, `; server sees ${made.length > 1 ? 'them' : 'it'} in DNS (or \`postamt dns check ${domain}\` does), or at once with: postamt dkim activate ${domain} ${made.map((k) => k.selector).join(' ')}`);
      }
      for (const key of made) println(out, `${key.selector}._domainkey.${domain}. IN TXT ${formatTxt(dkimRecordText(key))}`);
    });

  dkim
    .command('activate')
    .description('Start signing with pending keys (once their DNS records are published)')
    .argument('<domain>')
    .argument('<selector...>')
    .action(async (domainArg: string, selectors: string[], _opts: unknown, command: Command) => {
      const domain = parseDomain(domainArg);
      const store = new FileDkimKeyStore({ dataDir: configWithStore(command, deps).dataDir });
      const keys = await store.listKeys(domain);
      for (const selector of selectors.map((s) => s.toLowerCase())) {
        const key = keys.find((k) => k.selector === selector);
        if (!key) throw new UsageError(`no DKIM key ${selector} for ${domain} (see postamt dkim list ${domain})`);
        if (!key.active) throw new UsageError(`DKIM key ${selector} for ${domain} is retired`);
        await store.setActive(domain, selector, true);
        println(deps.io.stdout, `activated ${key.algorithm} key ${selector} for ${domain}`);
      }
    });

  dkim
    .command('list')
    .description('List DKIM keys (newest first); the newest active key of each algorithm signs')
    .argument('[domain]', 'only this domain')
    .option('--json', 'print JSON')
    .action(async (domainArg: string | undefined, opts: { json?: boolean }, command: Command) => {
      const config = configWithStore(command, deps);
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
        state: signing.has(`${k.domain}/${k.selector}`) ? 'signing' : !k.active ? 'retired' : k.pending ? 'pending' : 'superseded',
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
      const config = configWithStore(command, deps);
      const store = new FileDkimKeyStore({ dataDir: config.dataDir });
      if (!(await store.setActive(parseDomain(domainArg), selector, false))) throw new UsageError(`no DKIM key ${selector} for ${domainArg}`);
      println(deps.io.stdout, `retired ${selector} for ${parseDomain(domainArg)}`);
    });
}
