/**
 * Shared pieces of the outbound-queue integration tests: submitting through the running server with
 * nodemailer, the in-process CLI against a server's data dir, and polling helpers.
 */
import { writeFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { cliHarness, type CliResult } from '../../src/cli/test-harness.ts';
import type { TestServer } from '../harness/server.ts';

export const PASS = 'queue test password 1';

/** Submission on 587: STARTTLS (trusting the server's certificate), AUTH PLAIN, the raw message as given. */
export async function submit(t: TestServer, user: string, envelope: { from: string; to: string[] }, raw: Buffer | string): Promise<string> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.ports.submission,
    secure: false,
    requireTLS: true,
    auth: { user, pass: PASS },
    tls: { ca: t.ca, servername: t.config.hostname },
  });
  try {
    const info = await transport.sendMail({ envelope, raw });
    return info.response;
  } finally {
    transport.close();
  }
}

/** Polls until `check` returns a truthy value (the limit is generous: a loaded machine's queue is slower, not wrong). */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function attempts(t: TestServer, recipient: string): Record<string, unknown>[] {
  return t.logs.filter((l) => l.event === 'queue.attempt' && l.recipient === recipient);
}

/** `postamt ...` in-process against the running server's data dir (SQLite takes the second connection). */
export function cliFor(t: TestServer): { run(args: string[]): Promise<CliResult>; cleanup(): void } {
  const h = cliHarness();
  writeFileSync(h.configPath, `hostname = "${t.config.hostname}"\ndata_dir = "${t.dataDir}"\n`);
  return { run: (args) => h.run(args), cleanup: () => h.cleanup() };
}

/** A message with Message-ID and Date, so the server adds nothing but its trace field in front. */
export function rawMessage(from: string, to: string, subject: string, body: string): Buffer {
  return Buffer.from(
    [`From: <${from}>`, `To: <${to}>`, `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W+/g, '.')}@queue.test>`, 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n'),
  );
}
