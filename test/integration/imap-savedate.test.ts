// SAVEDATE (RFC 8514) with Python's imaplib over IMAPS, on SQLite and on PostgreSQL: a message appended
// with an old internal date has today's save date, so do its copy and its moved twin (internal date kept);
// SEARCH SAVEDON / SAVEDBEFORE / SAVEDSINCE and SAVEDATESUPPORTED select by it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../harness/run-process.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { postgresUnavailable, testPostgres, type TestPostgres } from '../harness/postgres.ts';

const HOST = 'mx.postamt.test';
const USER = 'saved@example.org';
const PASS = 'save date pass';

const havePython = spawnSync('sh', ['-c', 'command -v python3'], { stdio: 'ignore' }).status === 0;

const SCRIPT = `
import imaplib, json, os, socket, ssl, time
_gai = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: _gai('127.0.0.1' if host == '${HOST}' else host, *a, **k)
ctx = ssl.create_default_context(cafile=os.environ['CA_FILE'])
m = imaplib.IMAP4_SSL('${HOST}', int(os.environ['PORT']), ssl_context=ctx)
m.login(os.environ['U'], os.environ['P'])
out = {}
out['caps'] = m.capability()[1][0].decode().split()
old = imaplib.Time2Internaldate(time.mktime((2020, 5, 6, 7, 8, 9, 0, 0, -1)))
m.append('INBOX', None, old, b'Subject: old one\\r\\n\\r\\nbody\\r\\n')
m.select('INBOX')
typ, f = m.fetch('1', '(INTERNALDATE SAVEDATE)')
out['fetch'] = f[0].decode()
today = time.strftime('%d-%b-%Y', time.gmtime())
yesterday = time.strftime('%d-%b-%Y', time.gmtime(time.time() - 86400))
tomorrow = time.strftime('%d-%b-%Y', time.gmtime(time.time() + 86400))
out['on'] = m.search(None, 'SAVEDON', today)[1][0].decode()
out['before'] = m.search(None, 'SAVEDBEFORE', today)[1][0].decode()
out['since'] = m.search(None, 'SAVEDSINCE', yesterday)[1][0].decode()
out['after'] = m.search(None, 'SAVEDSINCE', tomorrow)[1][0].decode()
out['supported'] = m.search(None, 'SAVEDATESUPPORTED')[1][0].decode()
out['internal'] = m.search(None, 'BEFORE', '1-Jan-2021')[1][0].decode()
m.create('Kept')
m.copy('1', 'Kept')
m.select('Kept')
out['copy'] = m.fetch('1', '(INTERNALDATE SAVEDATE)')[1][0].decode()
out['bad'] = None
try:
    m.search(None, 'SAVEDON', 'notadate')
except imaplib.IMAP4.error as e:
    out['bad'] = str(e)
m.logout()
print(json.dumps(out))
`;

function today(): string {
  const d = new Date();
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${String(d.getUTCDate()).padStart(2, '0')}-${months[d.getUTCMonth()]}-${d.getUTCFullYear()}`;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  const pgSkip = backend === 'postgres' ? postgresUnavailable() : false;
  const skip = !havePython ? 'python3 is not installed' : pgSkip;
  describe(`SAVEDATE with python imaplib (${backend})`, { skip }, () => {
    let t: TestServer;
    let cluster: TestPostgres | null = null;
    let url = '';
    let caFile = '';
    before(async () => {
      if (backend === 'postgres') {
        cluster = await testPostgres();
        url = await cluster.createDatabase();
      }
      t = await startTestServer({ hostname: HOST, config: backend === 'postgres' ? { storage: { backend: 'postgres', url, poolSize: 4 } } as never : undefined });
      await t.addUser(USER, PASS);
      caFile = join(mkdtempSync(join(tmpdir(), 'postamt-savedate-')), 'ca.pem');
      writeFileSync(caFile, t.ca);
    });
    after(async () => {
      await t?.stop();
      if (cluster !== null) {
        await cluster.dropDatabase(url);
        await cluster.stop();
      }
    });

    it('fetches and searches the save date; a copy is saved when copied, its internal date kept', async () => {
      const r = await runProcess('python3', ['-c', SCRIPT], { CA_FILE: caFile, PORT: String(t.ports.imaps), U: USER, P: PASS });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as Record<string, string | string[] | null>;
      assert.ok((out.caps as string[]).includes('SAVEDATE'));
      const fetched = new RegExp(`^1 \\(INTERNALDATE "0\\d-May-2020 \\d\\d:08:09 [+-]\\d{4}" SAVEDATE "${today()} \\d\\d:\\d\\d:\\d\\d \\+0000"\\)$`);
      assert.match(out.fetch as string, fetched);
      assert.match(out.copy as string, fetched);
      assert.equal(out.on, '1');
      assert.equal(out.before, '');
      assert.equal(out.since, '1');
      assert.equal(out.after, '');
      assert.equal(out.supported, '1');
      assert.equal(out.internal, '1');
      assert.match(out.bad as string, /BAD/);
    });
  });
}
