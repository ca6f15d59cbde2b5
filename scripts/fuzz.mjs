#!/usr/bin/env node
// `npm run fuzz`: the long coverage-guided run. Each target runs in its own process (test/fuzz/engine/worker.ts)
// so a hang that never returns can be killed and saved. Usage: npm run fuzz [-- target ...]
// Env: FUZZ_SECONDS per target (60), FUZZ_HANG_MS (500), FUZZ_SEED. Exit status 1 on any crash or hang.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = join(root, 'test', 'fuzz');
const ALL = ['pop3', 'mime', 'address', 'bounce', 'smtp-reply', 'verp', 'imap-parser', 'imap-session', 'smtp-session', 'jmap'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const targets = wanted.length ? wanted : ALL;
const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
// A worker that prints nothing for this long is stuck inside one input: kill it, keep the input as a hang.
const stallMs = Math.max(15_000, Number(process.env.FUZZ_HANG_MS ?? 500) * 20);

function runTarget(name) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(fuzzDir, 'engine', 'worker.ts'), name], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let result = null;
    let stalled = false;
    let timer = null;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        child.kill('SIGKILL');
      }, seconds * 1000 + stallMs);
    };
    // The whole run gets its budget plus the stall allowance; progress lines re-arm only the stall part.
    arm();
    let lastLine = Date.now();
    const stallCheck = setInterval(() => {
      if (Date.now() - lastLine > stallMs) {
        stalled = true;
        child.kill('SIGKILL');
      }
    }, 1000);
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      lastLine = Date.now();
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7));
        else if (line.startsWith('PROGRESS ')) process.stderr.write(`  ${line.slice(9)}\n`);
        else if (line.trim()) process.stderr.write(`  ${line}\n`);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearInterval(stallCheck);
      if (stalled || (result === null && code !== 0)) {
        const current = join(fuzzDir, '.work', name, '.current');
        const crashDir = join(fuzzDir, 'crashes', name);
        mkdirSync(crashDir, { recursive: true });
        if (existsSync(current)) copyFileSync(current, join(crashDir, `${stalled ? 'hang' : 'crash'}-stuck-${Date.now()}`));
        result = { target: name, executions: result?.executions ?? 0, corpus: 0, crashes: stalled ? 0 : 1, hangs: stalled ? 1 : 0, crashMessages: [stalled ? 'worker stalled (input saved as hang)' : `worker exited with ${code}`] };
      }
      resolvePromise(result ?? { target: name, skipped: 'no result' });
    });
  });
}

const rows = [];
for (const name of targets) {
  process.stderr.write(`fuzzing ${name} for ${seconds}s\n`);
  rows.push(await runTarget(name));
}

const pad = (v, n) => String(v).padEnd(n);
const padL = (v, n) => String(v).padStart(n);
console.log(`\n${pad('target', 14)}${padL('executions', 11)}${padL('exec/s', 8)}${padL('corpus', 8)}${padL('features', 10)}${padL('crashes', 9)}${padL('hangs', 7)}${padL('slowest ms', 12)}`);
let failed = false;
for (const r of rows) {
  if (r.skipped) {
    console.log(`${pad(r.target, 14)}  skipped: ${r.skipped}`);
    continue;
  }
  if (r.crashes > 0 || r.hangs > 0) failed = true;
  const rate = r.seconds ? Math.round(r.executions / r.seconds) : 0;
  console.log(`${pad(r.target, 14)}${padL(r.executions, 11)}${padL(rate, 8)}${padL(r.corpus, 8)}${padL(r.features ?? '', 10)}${padL(r.crashes, 9)}${padL(r.hangs, 7)}${padL(r.slowestMs?.toFixed(1) ?? '', 12)}`);
}
for (const r of rows) {
  for (const m of r.crashMessages ?? []) console.log(`  ${r.target}: ${m}`);
  const dir = join(fuzzDir, 'crashes', r.target);
  if ((r.crashes > 0 || r.hangs > 0) && existsSync(dir)) console.log(`  ${r.target}: inputs in ${dir} (${readdirSync(dir).length} files)`);
}
process.exit(failed ? 1 : 0);
