// UIDONLY (RFC 9586) with Python's imaplib over IMAPS: after ENABLE UIDONLY, UID FETCH and UID STORE answer
// with UIDFETCH responses, another session's flag change and expunge arrive as UIDFETCH and VANISHED, and
// FETCH with a message number is refused with BAD [UIDREQUIRED].
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { havePython, runPythonImap } from '../harness/python-imap.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const HOST = 'mx.postamt.test';
const USER = 'uidonly@example.org';
const PASS = 'uid only pass';

const SCRIPT = `
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
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
  });
  after(async () => {
    await t?.stop();
  });

  it('answers with UIDFETCH and VANISHED and refuses message numbers', async () => {
    const out = await runPythonImap<Record<string, unknown>>(SCRIPT, { host: HOST, port: t.ports.imaps, ca: t.ca, user: USER, password: PASS });
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
