/**
 * The queue id a client is told (`250 2.0.0 Ok: queued as X`, also in our Received field) is the id
 * `postamt queue list`, `queue show` and the `queue.attempt` log lines use: one id per message everywhere.
 * Runs the real `postamt serve` and the real CLI; the message is sent with swaks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ChildServer } from '../harness/child-server.ts';
import { freePort } from '../harness/free-port.ts';

let server: ChildServer;

before(async () => {
  // The relayhost is a closed port: the first attempt fails at once and is logged (queue.attempt).
  const deadPort = await freePort();
  server = await ChildServer.create({ roles: ['smtp'], extraToml: `[queue]\nrelayhost = "127.0.0.1:${deadPort}"\nrelayhost_tls = "none"\nretry_schedule = ["1h"]\n` });
  await server.addDomain('example.org');
  await server.addAlias('fwd@example.org', ['someone@remote.example']);
  await server.start();
});
after(async () => {
  await server?.stop();
});

function swaksQueueId(port: number, to: string): string {
  const out = execFileSync('swaks', ['--server', `127.0.0.1:${port}`, '--to', to, '--from', 'sender@elsewhere.example', '--helo', 'client.test', '--body', 'queue id test'], { encoding: 'utf8' });
  const m = /<- {2}250 2\.0\.0 Ok: queued as (\S+)/.exec(out);
  assert.ok(m, `no "queued as" in swaks output:\n${out}`);
  return m[1]!;
}

describe('the queue id told to the client is the queue id', () => {
  test('queue list, queue show, the Received field and queue.attempt logs use the id from "250 ... queued as"', async () => {
    const id = swaksQueueId(server.smtpPort, 'fwd@example.org');
    const list = JSON.parse((await server.cli(['queue', 'list', '--json'])).stdout.toString()) as { id: string }[];
    assert.deepEqual(list.map((m) => m.id), [id]);
    const show = await server.cli(['queue', 'show', id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout.toString(), new RegExp(`^${id} `));
    assert.match(show.stdout.toString(), new RegExp(`Received: from client\\.test[^]*?id ${id}`));
    const deadline = Date.now() + 30_000;
    while (!server.logs.some((l) => l.event === 'queue.attempt') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const attempts = server.logs.filter((l) => l.event === 'queue.attempt');
    assert.ok(attempts.length > 0, 'no queue.attempt logged');
    assert.deepEqual([...new Set(attempts.map((l) => l.queueId))], [id]);
    const tx = server.logs.find((l) => l.event === 'smtp.transaction');
    assert.equal(tx?.queueId, id);
  });
});
