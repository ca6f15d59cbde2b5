/**
 * Runs the real curl against a test server and returns what a user of curl sees: status, headers (lower-case
 * names) and body. Asynchronous, so a server in the same process keeps answering.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  json(): any;
}

export function curl(args: string[], options: { timeoutMs?: number } = {}): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', '--max-time', String(Math.ceil((options.timeoutMs ?? 20_000) / 1000)), ...args], { maxBuffer: 64 * 1024 * 1024, encoding: 'latin1' }, (err, stdout, stderr) => {
      if (err && !stdout) return reject(new Error(`curl failed: ${stderr || err.message}`));
      // Skip interim responses (100 Continue) and proxy preambles: the last header block is the answer.
      let rest = stdout;
      let head: string;
      for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) return reject(new Error(`curl: no HTTP response in ${JSON.stringify(stdout.slice(0, 200))}`));
        head = rest.slice(0, end);
        rest = rest.slice(end + 4);
        // Interim responses, and with -L every response but the last, are followed by the next one.
        if (!/^HTTP\/[\d.]+ 1\d\d/.test(head) && !/^HTTP\/[\d.]+ \d{3}/.test(rest)) break;
      }
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = Buffer.from(rest, 'latin1').toString('utf8');
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body, json: () => JSON.parse(body) });
    });
  });
}

/** A file holding `pem`, for curl's --cacert; removed by the returned function. */
export function caFile(pem: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-ca-'));
  const path = join(dir, 'ca.pem');
  writeFileSync(path, pem);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
