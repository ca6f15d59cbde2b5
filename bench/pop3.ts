/**
 * `npm run bench:pop3`: downloading a maildrop over POP3, Postamt side by side with a private
 * Dovecot on the same 10,000 messages: login, LIST, UIDL, then RETR of every message, one at a time as
 * fetchmail does. Rounds alternate the servers; medians reported. Nothing is deleted (no DELE).
 *
 *   npm run bench:pop3 -- [--messages 10000] [--rounds 5] [--no-dovecot] [--keep]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, preparePostamt, startPostamt } from './lib/postamt.ts';
import { dovecotAvailable, dovecotMaildir, startDovecot } from './lib/dovecot.ts';
import { fillMaildir, loadPostamtMailbox } from './lib/mailbox-data.ts';
import { Results, type Scenario, type Server } from './lib/results.ts';
import { Pop3Client } from './lib/wire-client.ts';
import { benchArgs } from './lib/args.ts';

const args = benchArgs();
const N = args.number('messages', 10_000);
const ROUNDS = args.number('rounds', 5);
const withDovecot = !args.flag('no-dovecot') && dovecotAvailable();
const USER = { postamt: 'bench@test.example', dovecot: 'bench' } as const;
const PASSWORD = 'bench';

const S = {
  login: { key: 'login', label: 'login (USER/PASS, maildrop opened)', unit: 'ms', higherIsBetter: false },
  list: { key: 'list', label: `LIST, ${N} messages`, unit: 'ms', higherIsBetter: false },
  uidl: { key: 'uidl', label: `UIDL, ${N} messages`, unit: 'ms', higherIsBetter: false },
  retr: { key: 'retr', label: `RETR of every message, ${N} × ~5 KB`, unit: 'msgs/s', higherIsBetter: true },
  total: { key: 'total', label: 'whole download (login → QUIT)', unit: 's', higherIsBetter: false },
} satisfies Record<string, Scenario>;

const log = (text: string): void => void process.stderr.write(`${text}\n`);

async function download(server: Server, port: number, results: Results | null): Promise<void> {
  const c = await Pop3Client.connect(port);
  try {
    const t0 = performance.now();
    await c.login(USER[server], PASSWORD);
    const tLogin = performance.now() - t0;
    const list = await c.multi('LIST');
    const uidl = await c.multi('UIDL');
    const stat = await c.command('STAT');
    const count = Number(stat.line.split(' ')[1]);
    if (count !== N) throw new Error(`${server}: STAT says ${count} messages, expected ${N}`);
    const t1 = performance.now();
    let bytes = 0;
    for (let i = 1; i <= count; i++) bytes += (await c.multi(`RETR ${i}`)).bytes;
    const retrS = (performance.now() - t1) / 1000;
    await c.command('QUIT');
    const total = (performance.now() - t0) / 1000;
    if (bytes < count * 5000) throw new Error(`${server}: only ${bytes} bytes for ${count} messages`);
    if (!results) return;
    results.add(S.login, server, tLogin);
    results.add(S.list, server, list.ms);
    results.add(S.uidl, server, uidl.ms);
    results.add(S.retr, server, count / retrS);
    results.add(S.total, server, total);
  } finally {
    c.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-pop3-'));
  chmodSync(dir, 0o755); // Dovecot's auth process (user dovecot) reads the passwd file below it
  const results = new Results('pop3', { messages: N, rounds: ROUNDS, dovecot: withDovecot });
  const dovecotDir = join(dir, 'dovecot');
  const ports = { dovecotImap: await freePort(), dovecotPop3: await freePort() };
  const prepared = await preparePostamt({ dir, address: USER.postamt, password: PASSWORD, connections: 100 });
  await loadPostamtMailbox({ dataDir: prepared.dataDir, address: USER.postamt, n: N });
  if (withDovecot) fillMaildir(dovecotMaildir(dovecotDir), N);
  const dovecot = withDovecot ? await startDovecot({ dir: dovecotDir, imapPort: ports.dovecotImap, pop3Port: ports.dovecotPop3 }) : null;
  const postamt = await startPostamt(prepared);
  await postamt.quiet();
  const servers: [Server, number][] = [['postamt', prepared.ports.pop3]];
  if (dovecot) servers.push(['dovecot', ports.dovecotPop3]);
  try {
    // Warm-up (not counted): Dovecot builds its index and caches sizes, Postamt's page cache fills.
    for (const [server, port] of servers) await download(server, port, null);
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      const order = round % 2 ? servers : [...servers].reverse();
      for (const [server, port] of order) await download(server, port, results);
    }
  } finally {
    await postamt.stop();
    dovecot?.stop();
  }
  console.log(`\n${N} messages of ~5 KB, ${ROUNDS} rounds after one warm-up (medians), RETR one at a time, Dovecot: ${withDovecot ? 'yes' : 'no'}\n`);
  console.log(results.table());
  log(`results: ${results.write()}`);
  if (!args.flag('keep')) rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
