// BINARY (RFC 3516) over a real socket: a message APPENDed as literal8 with NUL bytes is stored as valid
// MIME (the part that held NUL base64-encoded, so BODY[] never carries a NUL), BINARY[] and BINARY.SIZE[]
// give the original bytes back (as literal8, since they hold NUL), also inside MULTIAPPEND.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'binary@example.org';
const PASS = 'binary pass 1';
const HOST = 'mx.postamt.test';

const PAYLOAD = 'a\0b\0\0c';
const BINARY_MESSAGE = [
  'From: user@example.org',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="x"',
  '',
  '--x',
  'Content-Type: text/plain',
  '',
  'hello',
  '--x',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding:',
  '  binary',
  '',
  PAYLOAD,
  '--x--',
  '',
].join('\r\n');

describe('BINARY', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises BINARY', async () => {
    assert.ok((await c.ok('CAPABILITY'))[0]!.split(' ').includes('BINARY'));
  });

  it('stores a literal8 APPEND with NUL as base64 and gives the bytes back through BINARY[] (RFC 3516 §4.2-§4.4)', async () => {
    const r = await c.command(`APPEND INBOX ~{${Buffer.byteLength(BINARY_MESSAGE)}+}\r\n${BINARY_MESSAGE}`);
    assert.match(r.tagged, /^OK \[APPENDUID \d+ 1\]/);
    const stored = await t.read(USER, 1);
    assert.ok(!stored.includes(0), 'no NUL stored');
    assert.match(stored.toString(), /Content-Type: application\/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nYQBiAABj\r\n--x--/);
    assert.match(stored.toString(), /Content-Type: text\/plain\r\n\r\nhello\r\n/);
    await c.ok('SELECT INBOX');
    const body = await c.command('FETCH 1 (BODY.PEEK[2])');
    assert.equal(body.raw, '* 1 FETCH (BODY[2] {8}\r\nYQBiAABj)\r\n');
    const binary = await c.command('FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2] BINARY.PEEK[1])');
    assert.equal(binary.raw, `* 1 FETCH (BINARY.SIZE[2] 6 BINARY[2] ~{6}\r\n${PAYLOAD} BINARY[1] {5}\r\nhello)\r\n`);
  });

  it('converts each literal8 message of a MULTIAPPEND and leaves the others as they are', async () => {
    const plain = 'From: user@example.org\r\nSubject: plain\r\n\r\nplain body\r\n';
    const single = `From: user@example.org\r\nContent-Transfer-Encoding: binary\r\n\r\n${PAYLOAD}`;
    const r = await c.command(`APPEND INBOX {${plain.length}+}\r\n${plain} ~{${single.length}+}\r\n${single}`);
    assert.match(r.tagged, /^OK \[APPENDUID \d+ 2:3\]/);
    assert.equal((await t.read(USER, 2)).toString(), plain);
    assert.equal((await t.read(USER, 3)).toString(), 'From: user@example.org\r\nContent-Transfer-Encoding: base64\r\n\r\nYQBiAABj\r\n');
    const binary = await c.command('FETCH 3 (BINARY.PEEK[1])');
    assert.equal(binary.raw, `* 3 FETCH (BINARY[1] ~{6}\r\n${PAYLOAD})\r\n`);
  });
});
