// PREVIEW (RFC 8970) over a real socket: FETCH PREVIEW gives the start of the message's text, from
// text/plain before text/html (markup and entities removed), whitespace collapsed, quoted lines left
// out, at most 256 characters, "" for a message without text; (LAZY) is accepted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'preview@example.org';
const PASS = 'preview pass 1';
const HOST = 'mx.postamt.test';

const ALTERNATIVE = 'From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHallo   Welt,\r\n> quoted line\r\nGr=C3=BC=C3=9Fe\r\n--b--\r\n';
const HTML = 'From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<html><head><style>p{}</style></head><body><p>Caf&eacute; &amp; <b>tea</b>&#33;</p></body></html>\r\n';
const LONG = `From: a@example.net\r\n\r\n${'word '.repeat(80)}\r\n`;
const NO_TEXT = 'From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n';

describe('PREVIEW', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    for (const m of [ALTERNATIVE, HTML, LONG, NO_TEXT]) await c.append('INBOX', m);
    await c.ok('ENABLE IMAP4rev2');
    await c.ok('SELECT INBOX');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises PREVIEW', async () => {
    assert.ok((await c.ok('CAPABILITY'))[0]!.split(' ').includes('PREVIEW'));
  });

  it('previews the plain text, then HTML without markup, collapsed and without quoted lines (RFC 8970 §3.1)', async () => {
    assert.deepEqual(await c.ok('FETCH 1:2 (PREVIEW)'), ['1 FETCH (PREVIEW "Hallo Welt, Grüße")', '2 FETCH (PREVIEW "Caf&eacute; & tea!")']);
  });

  it('stops at 256 characters, gives "" without text, and takes the LAZY modifier', async () => {
    const [long] = await c.ok('UID FETCH 3 (UID PREVIEW (LAZY))');
    assert.equal(long, `3 FETCH (UID 3 PREVIEW "${'word '.repeat(52).slice(0, 256).trimEnd()}")`);
    assert.deepEqual(await c.ok('FETCH 4 (PREVIEW)'), ['4 FETCH (PREVIEW "")']);
    assert.match((await c.command('FETCH 1 (PREVIEW (EAGER))')).tagged, /^BAD /);
  });
});
