/**
 * `postamt status`: asks the running server what /healthz and /readyz report (store writable, listeners
 * up, queue depth and oldest entry, certificate expiry) and prints it; exits 1 when it is not ready or not
 * answering. The server is found at its http listener (else https) of the configuration, or at --url.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatSize } from '../config/values.ts';
import type { Config } from '../config/schema.ts';
import type { ServerStatus } from '../metrics/status.ts';
import { configFor, formatTable, println, type CliDeps } from './context.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const TIMEOUT_MS = 5000;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/** The URL of the configured http listener (else https); a wildcard address is reached on loopback. */
export function serverUrl(config: Config): string {
  const local = (host: string): string => (host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host);
  const { http, https } = config.listen;
  if (http) return `http://${local(http.host)}:${http.port}`;
  if (https) return `https://${local(https.host)}:${https.port}`;
  throw new UsageError('neither the http nor the https listener is configured; give the server with --url');
}

function get(base: string, path: string, token: string): Promise<Answer> {
  const url = new URL(path, base);
  const secure = url.protocol === 'https:';
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return new Promise((resolve, reject) => {
    // The server's own certificate may be self-signed; it is trusted only on loopback, where it is ours.
    const req = (secure ? httpsRequest : httpRequest)(url, { headers, timeout: TIMEOUT_MS, ...(secure && isLoopbackHost(url.hostname) ? { rejectUnauthorized: false } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

function ago(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

export function registerStatus(program: Command, deps: CliDeps): void {
  program.command('status').description('ask the running server whether it is healthy and ready (exit 1 when not)')
    .option('--url <url>', 'the server\'s http(s) address (default: the http listener of the configuration)')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; json?: boolean }, cmd: Command) => {
      const config = configFor(cmd, deps);
      const base = opts.url ?? serverUrl(config);
      const token = config.metrics.token;
      let health: Answer;
      let ready: Answer;
      try {
        health = await get(base, '/healthz', token);
        ready = await get(base, '/readyz', token);
      } catch (err) {
        throw new UsageError(`the server at ${base} does not answer: ${err instanceof Error ? err.message : String(err)}`);
      }
      const isReady = ready.status === 200;
      const out = deps.io.stdout;
      if (opts.json) {
        println(out, JSON.stringify({ url: base, healthy: health.status === 200, ready: isReady, ...ready.body }, null, 2));
      } else {
        const checks = (ready.body.checks ?? {}) as Record<string, boolean>;
        const s = ready.body as Partial<ServerStatus>;
        const rows: string[][] = [
          ['server', `${base}  ${health.status === 200 ? 'healthy' : `unhealthy (HTTP ${health.status})`}`],
          ['ready', `${isReady ? 'yes' : 'NO'}  (${Object.entries(checks).map(([name, ok]) => `${name === 'store' ? 'store writable' : name === 'listeners' ? 'listeners up' : name}: ${ok ? 'yes' : 'NO'}`).join(', ')})`],
        ];
        if (s.queue) {
          const q = s.queue;
          rows.push(['queue', `${q.messages} message(s), ${q.pendingRecipients} recipient(s) pending${q.oldestEntry ? `, oldest entry ${q.oldestEntry} (${ago(q.oldestAgeSeconds)} ago)` : ''}`]);
        }
        if (s.certificate !== undefined) rows.push(['certificate', s.certificate ? `${s.certificate.subject}, expires ${s.certificate.notAfter} (${s.certificate.daysLeft} days left)` : 'none readable']);
        if (s.store) rows.push(['store', `${s.store.backend}${s.store.databaseBytes !== null ? `, database ${formatSize(s.store.databaseBytes)}, WAL ${formatSize(s.store.walBytes ?? 0)}` : ''}`]);
        if (s.listeners) rows.push(['listeners', Object.entries(s.listeners).filter(([, port]) => port !== null).map(([role, port]) => `${role} ${port}`).join(', ')]);
        if (!s.queue) rows.push(['details', 'not shown: the server gives them to loopback clients and to the metrics token only']);
        for (const line of formatTable(rows)) println(out, line);
      }
      if (!isReady) throw new UsageError(`the server at ${base} is not ready`);
    });
}
