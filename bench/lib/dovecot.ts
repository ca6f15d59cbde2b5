/**
 * Bench helper: a private Dovecot (../shared/bench/dovecot-instance.sh, user bench/bench, Maildir) with
 * extra settings appended to its config (connection and process limits), and its processes' memory.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childPids, sharedBench, waitPort } from './postamt.ts';

export function dovecotAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v dovecot']).status === 0 && process.getuid?.() === 0;
}

export function dovecotMaildir(dir: string): string {
  const maildir = join(dir, 'home', 'bench', 'Maildir');
  mkdirSync(maildir, { recursive: true });
  return maildir;
}

/**
 * Adds `user` to the instance's passwd-file, or replaces its line, with `hash` (e.g. `{PLAIN}secret`); Dovecot
 * re-reads the file when it changes.
 */
export function setDovecotPassword(dir: string, user: string, hash: string): void {
  const file = join(dir, 'passwd');
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith(`${user}:`));
  lines.push(`${user}:${hash}::::::`);
  writeFileSync(file, lines.join('\n') + '\n');
}

/** Starts the instance in `dir`; `extraConfig` lines are appended and the instance restarted with them. */
export async function startDovecot(options: { dir: string; imapPort: number; pop3Port: number; extraConfig?: string[] }): Promise<{ stop(): void }> {
  const script = join(sharedBench, 'dovecot-instance.sh');
  // Output goes to a file: the daemon inherits it, and a pipe would keep spawnSync waiting forever.
  const outFile = join(options.dir, 'instance-script.log');
  const run = (...args: string[]): void => {
    const fd = openSync(outFile, 'a');
    try {
      const r = spawnSync(script, args, { stdio: ['ignore', fd, fd] });
      if (r.status !== 0) throw new Error(`dovecot-instance.sh ${args[0]} failed: see ${outFile} and ${options.dir}/dovecot.log`);
    } finally {
      closeSync(fd);
    }
  };
  run('start', options.dir, String(options.imapPort), String(options.pop3Port));
  if (options.extraConfig?.length) {
    // On a loaded machine the master may write its pid file after the script returned.
    const pidFile = join(options.dir, 'run', 'master.pid');
    for (let i = 0; i < 200 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    const master = Number(readFileSync(pidFile, 'utf8').trim());
    run('stop', options.dir);
    // The master may take longer than the script's 0.5 s to exit on a loaded machine.
    for (let i = 0; i < 200 && existsSync(`/proc/${master}`); i++) await new Promise((r) => setTimeout(r, 50));
    appendFileSync(join(options.dir, 'dovecot.conf'), options.extraConfig.join('\n') + '\n');
    const r = spawnSync('dovecot', ['-c', join(options.dir, 'dovecot.conf')], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`dovecot failed to start (exit ${r.status}); see ${options.dir}/dovecot.log`);
  }
  await waitPort(options.imapPort);
  await waitPort(options.pop3Port);
  return { stop: () => run('stop', options.dir) };
}

/** PIDs of this instance's `imap` (post-login) processes: children of its master named imap. */
export function dovecotImapPids(dir: string): number[] {
  return childPids(Number(readFileSync(join(dir, 'run', 'master.pid'), 'utf8').trim()), 'imap');
}
