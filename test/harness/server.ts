/**
 * Starts a whole Postamt server in-process for integration tests: every listener on 127.0.0.1 port 0,
 * a fresh temp data dir, a quiet logger, and helpers to add domains/users and read mailboxes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { deriveScram, hashPassword } from '../../src/accounts/passwords.ts';
import { defaultConfig, mergeConfig, type Config, type ConfigPatch } from '../../src/config/schema.ts';
import { createLogger, type Logger } from '../../src/core/log.ts';
import { startServer, type RunningServer } from '../../src/app/server.ts';
import type { HttpListenerRole, ListenerRole } from '../../src/app/listeners.ts';
import type { Resolver } from '../../src/dns/resolver.ts';
import type { MessageRecord } from '../../src/store/types.ts';

export interface TestServer {
  server: RunningServer;
  config: Config;
  ports: Record<ListenerRole | HttpListenerRole, number>;
  dataDir: string;
  /** The self-signed certificate (PEM) clients should trust. */
  ca: string;
  /** Log lines written so far (parsed JSON). */
  logs: Record<string, unknown>[];
  addDomain(name: string): Promise<void>;
  /** Adds a user; its scrypt hash is cheap (log2 N = 10) unless `hashLogN` asks for a real cost. */
  addUser(address: string, password: string, options?: { hashLogN?: number }): Promise<number>;
  addAlias(address: string, targets: string[]): Promise<void>;
  messages(address: string, mailbox?: string): Promise<MessageRecord[]>;
  read(address: string, uid: number, mailbox?: string): Promise<Buffer>;
  waitForMessages(address: string, count: number, options?: { mailbox?: string; timeoutMs?: number }): Promise<MessageRecord[]>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  config?: ConfigPatch;
  dns?: Resolver;
  hostname?: string;
  startQueue?: boolean;
  dataDir?: string;
  keepDataDir?: boolean;
  /** Called with each log line as it is written (synchronously, inside the logging call). */
  onLog?: (entry: Record<string, unknown>) => void;
}

function collectingLogger(logs: Record<string, unknown>[], onLog?: (entry: Record<string, unknown>) => void): Logger {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          onLog?.(entry);
        } catch {
          // not JSON: ignore
        }
      }
      if (logs.length > 20000) logs.splice(0, 10000);
      cb();
    },
  });
  return createLogger({ destination: sink, level: process.env.POSTAMT_TEST_LOG_LEVEL ?? 'info' });
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'postamt-test-'));
  const any = (): { host: string; port: number } => ({ host: '127.0.0.1', port: 0 });
  const base = mergeConfig(defaultConfig({ cwd: dataDir }), {
    hostname: options.hostname ?? 'mx.postamt.test',
    dataDir,
    listen: { smtp: any(), submission: any(), submissions: any(), imap: any(), imaps: any(), pop3: any(), pop3s: any(), http: any(), https: any() },
    // The RFC minimum: every addUser derives SCRAM keys, and tests add many users.
    auth: { penaltyDelay: 0, scramIterations: 4096 },
    queue: { retrySchedule: [200, 400, 800] },
  } as ConfigPatch);
  const config = mergeConfig(base, options.config ?? {});
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({ config, logger: collectingLogger(logs, options.onLog), overrides: { dns: options.dns }, startQueue: options.startQueue });
  const store = server.services.store;
  const accountId = async (address: string): Promise<number> => {
    const account = await store.getAccount(address);
    if (!account) throw new Error(`no account ${address}`);
    return account.id;
  };
  const mailboxId = async (address: string, mailbox = 'INBOX'): Promise<number> => {
    const box = await store.getMailbox(await accountId(address), mailbox);
    if (!box) throw new Error(`no mailbox ${mailbox} for ${address}`);
    return box.id;
  };
  const t: TestServer = {
    server,
    config,
    ports: server.ports as Record<ListenerRole | HttpListenerRole, number>,
    dataDir,
    ca: server.services.tls.certificatePem,
    logs,
    async addDomain(name) {
      if (!(await store.hasDomain(name))) await store.addDomain(name);
    },
    async addUser(address, password, options) {
      await t.addDomain(address.slice(address.indexOf('@') + 1));
      const account = await store.addAccount({ address, passwordHash: await hashPassword(password, { logN: options?.hashLogN ?? 10 }), scram: await deriveScram(password, { iterations: config.auth.scramIterations }) });
      return account.id;
    },
    async addAlias(address, targets) {
      await store.addAlias(address, targets);
    },
    async messages(address, mailbox = 'INBOX') {
      return store.listMessages(await mailboxId(address, mailbox));
    },
    async read(address, uid, mailbox = 'INBOX') {
      return store.readMessage(await mailboxId(address, mailbox), uid);
    },
    async waitForMessages(address, count, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
      for (;;) {
        const list = await t.messages(address, opts.mailbox);
        if (list.length >= count) return list;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} message(s) in ${address}/${opts.mailbox ?? 'INBOX'} (have ${list.length})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      await server.stop();
      if (!options.keepDataDir && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
