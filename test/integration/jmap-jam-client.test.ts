// A real JMAP client from npm (jmap-jam) against the server over a real socket: it loads the Session with a
// Bearer token a login issued, finds the primary account, runs Core/echo and Mail methods in one request
// with result references, and uploads and downloads a blob.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../harness/server.ts';
import { jamClient } from '../harness/jmap-jam.ts';

test('jmap-jam talks to Postamt: session, primary account, method calls with references, blobs', async () => {
  const t = await startTestServer({ startQueue: false, config: { auth: { allowPlaintextOnLoopback: true } } as any });
  try {
    const accountId = await t.addUser('alice@example.test', 'correct horse battery staple');
    const jam = await jamClient(t, { address: 'alice@example.test' });
    const session = await jam.session;
    assert.equal(session.username, 'alice@example.test');
    const primary = await jam.getPrimaryAccount();
    assert.equal(primary, `a${accountId}`);

    const [echo] = await jam.request(['Core/echo', { hello: 'jam' }] as any);
    assert.deepEqual(echo, { hello: 'jam' });

    const [result] = await jam.requestMany((b) => {
      const query = b.Mailbox.query({ accountId: primary, filter: { role: 'inbox' } } as any);
      const get = b.Mailbox.get({ accountId: primary, ids: query.$ref('/ids'), properties: ['name', 'role', 'totalEmails'] } as any);
      return { query, get };
    });
    assert.equal((result.get as any).list.length, 1);
    assert.equal((result.get as any).list[0].role, 'inbox');

    const upload = await jam.uploadBlob(primary, new Blob(['jam blob'], { type: 'text/plain' }));
    assert.equal(upload.size, 8);
    const download = await jam.downloadBlob({ accountId: primary, blobId: upload.blobId, mimeType: 'text/plain', fileName: 'x.txt' });
    assert.equal(await download.text(), 'jam blob');
    assert.ok(t.logs.some((l) => l.event === 'http.request' && l.user === 'alice@example.test' && l.path === '/jmap/api'));
  } finally {
    await t.stop();
  }
});
