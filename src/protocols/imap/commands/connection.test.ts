// Connection commands on the engine: bad input, LOGOUT, ID, NAMESPACE, COMPRESS and ENABLE.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../testing/memory-backend.ts';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP connection commands', () => {
  it('answers BAD to garbage and keeps the session alive', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend);
    assert.equal(parseTranscript(await c.send('\x01\x02 garbage\r\n')).tagged('*').status, 'BAD');
    assert.deepEqual(parseTranscript(await c.send('a1 FROBNICATE\r\n')).tagged('a1'), { tag: 'a1', status: 'BAD', text: 'Unknown command' });
    assert.equal(parseTranscript(await c.send('a2 LOGIN "unterminated\r\n')).tagged('a2').status, 'BAD');
    assert.deepEqual(parseTranscript(await c.send('a3 SELECT INBOX\r\n')).tagged('a3'), { tag: 'a3', status: 'BAD', text: 'SELECT not allowed now' });
    assert.equal(await c.send('a4 NOOP\r\n'), 'a4 OK NOOP completed\r\n');
  });

  it('logs out with BYE and closes', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend);
    assert.equal(await c.send('z LOGOUT\r\n'), '* BYE Logging out\r\nz OK LOGOUT completed\r\n<close>');
  });

  it('answers ID, NAMESPACE and COMPRESS', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend);
    assert.equal(await c.send('i ID ("name" "test")\r\n'), '* ID ("name" "Postamt" "vendor" "Postamt")\r\ni OK ID completed\r\n');
    await c.login();
    assert.equal(await c.send('n NAMESPACE\r\n'), '* NAMESPACE (("" "/")) NIL NIL\r\nn OK NAMESPACE completed\r\n');
    assert.equal(await c.send('z COMPRESS DEFLATE\r\n'), 'z OK DEFLATE active\r\n<deflate>');
    const again = parseTranscript(await c.send('z2 COMPRESS DEFLATE\r\n')).tagged('z2');
    assert.deepEqual([again.status, again.code], ['NO', 'COMPRESSIONACTIVE']);
  });

  it('enables IMAP4rev2 once and reports only what it newly enabled', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.equal(await c.send('e ENABLE IMAP4rev2\r\n'), '* ENABLED IMAP4rev2\r\ne OK ENABLE completed\r\n');
    assert.equal(await c.send('f ENABLE IMAP4rev2 X-UNKNOWN\r\n'), '* ENABLED\r\nf OK ENABLE completed\r\n');
  });
});
