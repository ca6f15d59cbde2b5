// UIDONLY (RFC 9586) with Python's imaplib over IMAPS: after ENABLE UIDONLY, UID FETCH and UID STORE answer
// with UIDFETCH responses, another session's flag change and expunge arrive as UIDFETCH and VANISHED, and
// FETCH with a message number is refused with BAD [UIDREQUIRED].
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../harness/run-process.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const HOST = 'mx.postamt.test';
const USER = 'uidonly@example.org';
const PASS = 'uid only pass';

const havePython = spawnSync('sh', ['-c', 'command -v python3'], { stdio: 'ignore' }).status === 0;

const SCRIPT = `
import imaplib, json, os, socket, ssl
_gai = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: _gai('127.0.0.1' if host == '${HOST}' else host, *a, **k)
ctx = ssl.create_default_context(cafile=os.environ['CA_FILE'])
def connect():
    m = imaplib.IMAP4_SSL('${HOST}', int(os.environ['PORT']), ssl_context=ctx)
    m.login(os.environ['U'], os.environ['P'])
    return m
def text(data):
    return [d.decode() if isinstance(d, bytes) else d[0].decode() + d[1].decode('latin1') for d in (data or []) if d is not None]
m = connect()
other = connect()
for i in range(3):
    m.append('INBOX', None, None, ('Subject: uid only %d\\r\\n\\r\\nbody %d\\r\\n' % (i, i)).encode())
out = {}
out['caps'] = m.capability()[1][0].decode().split()
m.enable('IMAP4rev2')
m.response('ENABLED')
out['enabled'] = [m.enable('UIDONLY')[0], text(m.response('ENABLED')[1])]
m.select('INBOX')
other.select('INBOX')
typ, _ = m.uid('FETCH', '1:*', '(FLAGS RFC822.SIZE)')
out['fetch'] = [typ, text(m.response('UIDFETCH')[1])]
typ, _ = m.uid('STORE', '2', '+FLAGS', '(\\\\Flagged)')
out['store'] = [typ, text(m.response('UIDFETCH')[1])]
try:
    m.fetch('1', '(FLAGS)')
    out['seq'] = 'accepted'
except imaplib.IMAP4.error as e:
    out['seq'] = str(e)
other.uid('STORE', '1', '+FLAGS', '(\\\\Answered)')
other.uid('STORE', '3', '+FLAGS', '(\\\\Deleted)')
other.expunge()
typ, _ = m.noop()
out['noop'] = [typ, text(m.response('UIDFETCH')[1]), text(m.response('VANISHED')[1]), text(m.response('EXPUNGE')[1])]
m.logout()
other.logout()
print(json.dumps(out))
`;

describe('UIDONLY with python imaplib', { skip: havePython ? false : 'python3 is not installed' }, () => {
  let t: TestServer;
  let caFile = '';
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    caFile = join(mkdtempSync(join(tmpdir(), 'postamt-uidonly-')), 'ca.pem');
    writeFileSync(caFile, t.ca);
  });
  after(async () => {
    await t?.stop();
  });

  it('answers with UIDFETCH and VANISHED and refuses message numbers', async () => {
    const r = await runProcess('python3', ['-c', SCRIPT], { CA_FILE: caFile, PORT: String(t.ports.imaps), U: USER, P: PASS });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.ok((out.caps as string[]).includes('UIDONLY'));
    assert.deepEqual(out.enabled, ['OK', ['UIDONLY']]);
    const [typ, fetched] = out.fetch as [string, string[]];
    assert.equal(typ, 'OK');
    assert.equal(fetched.length, 3);
    fetched.forEach((line, i) => assert.match(line, new RegExp(`^${i + 1} \\(FLAGS \\(\\) RFC822.SIZE \\d+\\)$`)));
    assert.deepEqual(out.store, ['OK', ['2 (FLAGS (\\Flagged))']]);
    assert.match(out.seq as string, /BAD.*\[UIDREQUIRED\]/);
    assert.deepEqual(out.noop, ['OK', ['1 (FLAGS (\\Answered))'], ['3'], []]);
  });
});
