/**
 * kill -9 under load: concurrent senders against the real `postamt serve` child
 * process; after SIGKILL and a restart on the same data dir, every message that got 250 after its data
 * is in the mailbox exactly once, and no stored message is cut short.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChildServer } from '../harness/child-server.ts';
import { RawSmtp } from '../harness/smtp-raw.ts';
import { openStore } from '../../src/store/open.ts';

const RCPT = 'durable@example.test';
// Short form 20 concurrent senders; `HOSTILE_LONG=1` (npm run test:hostile) or DURABILITY_SENDERS=N: 200.
const SENDERS = Number(process.env.DURABILITY_SENDERS ?? (process.env.HOSTILE_LONG ? 200 : 20));
const ROUNDS = 3;

let server: ChildServer | null = null;
after(async () => {
  await server?.stop();
});

/** A message whose body ends with a trailer naming its token; sizes vary from ~1 KB to ~60 KB. */
function messageFor(token: string, n: number): string {
  const lines = 10 + ((n * 7919) % 800);
  const body = Array.from({ length: lines }, (_, i) => `${token} line ${i} ${'z'.repeat(60)}`).join('\r\n');
  return `Subject: ${token}\r\nMessage-ID: <${token}@durable>\r\n\r\n${body}\r\nTRAILER ${token}\r\n`;
}

/** Sends messages one after another until `stop()` or the connection dies; records every 250. */
async function sender(port: number, id: number, acked: Set<string>, stopped: () => boolean): Promise<void> {
  let n = 0;
  while (!stopped()) {
    let c: RawSmtp;
    try {
      const opened = await RawSmtp.connect(port, { timeoutMs: 5000 });
      c = opened.client;
      if (opened.greeting.code !== 220) throw new Error('no greeting');
      if ((await c.command('EHLO sender.test')).code !== 250) throw new Error('EHLO');
    } catch {
      return; // the server is gone
    }
    try {
      while (!stopped()) {
        const token = `tok-${id}-${n++}-${randomBytes(3).toString('hex')}`;
        c.write(`MAIL FROM:<load@sender.test>\r\nRCPT TO:<${RCPT}>\r\nDATA\r\n`);
        const [mail, rcpt, data] = await c.readMany(3);
        if (mail!.code !== 250 || rcpt!.code !== 250 || data!.code !== 354) throw new Error('refused');
        c.write(`${messageFor(token, n)}.\r\n`);
        const end = await c.read();
        if (end.code === 250) acked.add(token);
      }
      c.write('QUIT\r\n');
    } catch {
      return;
    } finally {
      c.close();
    }
  }
}

/** Per round; `storedNotAcked` (all rounds so far) were committed but the kill cut off their 250: allowed. */
interface RoundFigures { acknowledged: number; storedNotAcked: number; lost: number; truncated: number; duplicates: number; restartMs: number }

test('kill -9 under concurrent load loses no acknowledged message and leaves none half-stored', async () => {
  server = await ChildServer.create({ extraToml: `[limits]\nconnections_per_ip = ${SENDERS + 50}\nconnections_total = ${SENDERS + 100}\n` });
  await server.addDomain('example.test');
  await server.addUser(RCPT, 'durable-password');
  await server.start();
  const acked = new Set<string>();
  const figures: RoundFigures[] = [];

  for (let round = 0; round < ROUNDS; round++) {
    let stop = false;
    const before = acked.size;
    const senders = Array.from({ length: SENDERS }, (_, i) => sender(server!.smtpPort, round * 1000 + i, acked, () => stop));
    // Load for 1-2 s once the first 250 of the round has come (on a loaded machine that may take a while after
    // a restart), so that every round kills a server with acknowledged mail and transfers in flight.
    for (const end = Date.now() + 60_000; acked.size === before && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
    await server.kill('SIGKILL');
    stop = true;
    await Promise.all(senders);
    const restartMs = await server.start();
    assert.ok(acked.size > before, `round ${round}: some messages were acknowledged before the kill`);

    // Read the mailbox from the data dir (a second process's view, as the CLI has it).
    const store = await openStore({ dataDir: server.dataDir });
    const counts = new Map<string, number>();
    let truncated = 0;
    try {
      const account = await store.getAccount(RCPT);
      const inbox = await store.getMailbox(account!.id, 'INBOX');
      for (const m of await store.listMessages(inbox!.id)) {
        const text = (await store.readMessage(inbox!.id, m.uid)).toString('latin1');
        assert.equal(text.length, m.size, 'stored size matches the recorded size');
        const token = /\r\nSubject: (tok-\S+)\r\n/.exec(text)?.[1];
        if (!token || !text.endsWith(`\r\nTRAILER ${token}\r\n`)) {
          truncated++;
          continue;
        }
        counts.set(token, (counts.get(token) ?? 0) + 1);
      }
    } finally {
      await store.close();
    }
    const lost = [...acked].filter((t) => !counts.has(t));
    const duplicates = [...counts.values()].filter((c) => c > 1).length;
    figures.push({ acknowledged: acked.size - before, storedNotAcked: [...counts.keys()].filter((t) => !acked.has(t)).length, lost: lost.length, truncated, duplicates, restartMs });
    assert.deepEqual(lost, [], `round ${round}: acknowledged messages lost`);
    assert.equal(truncated, 0, `round ${round}: incomplete messages stored`);
    assert.equal(duplicates, 0, `round ${round}: messages stored twice`);
  }

  // The CLI sees the same mailbox.
  const listed = await server.messageList(RCPT);
  const ids = new Set(listed.map((m) => m.messageId));
  for (const token of acked) assert.ok(ids.has(`<${token}@durable>`), `message list shows ${token}`);
  console.log(`durability figures: ${JSON.stringify(figures)}`);
});
