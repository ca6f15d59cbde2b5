// QUOTA (RFC 9208) on the engine: one root "" with STORAGE in KiB; SETQUOTA is the administrator's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP QUOTA', () => {
  it('reports quota', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.match(await c.send('q GETQUOTAROOT INBOX\r\n'), /\* QUOTAROOT INBOX ""\r\n\* QUOTA "" \(STORAGE 1 1024\)\r\nq OK/);
    const t = parseTranscript(await c.send('r GETQUOTA ""\r\n'));
    assert.deepEqual(t.data('QUOTA'), ['"" (STORAGE 1 1024)']);
    assert.equal(t.tagged('r').status, 'OK');
  });

  it('refuses an unknown root, a missing mailbox and SETQUOTA', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.equal(parseTranscript(await c.send('a GETQUOTA "other"\r\n')).tagged('a').code, 'NONEXISTENT');
    assert.equal(parseTranscript(await c.send('b GETQUOTAROOT Nope\r\n')).tagged('b').code, 'NONEXISTENT');
    assert.equal(parseTranscript(await c.send('c SETQUOTA "" (STORAGE 1)\r\n')).tagged('c').code, 'NOPERM');
  });
});
