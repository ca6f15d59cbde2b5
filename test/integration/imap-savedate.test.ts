// SAVEDATE (RFC 8514) with Python's imaplib over IMAPS, on SQLite and on PostgreSQL: a message appended
// with an old internal date has today's save date, so do its copy and its moved twin (internal date kept);
// SEARCH SAVEDON / SAVEDBEFORE / SAVEDSINCE and SAVEDATESUPPORTED select by it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { havePython, runPythonImap } from '../harness/python-imap.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { postgresUnavailable } from '../harness/postgres.ts';
import { startPostgresNodes, type PostgresNodes } from '../harness/postgres-nodes.ts';

const HOST = 'mx.postamt.test';
const USER = 'saved@example.org';
const PASS = 'save date pass';

const SCRIPT = `
m = connect()
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
    let pg: PostgresNodes | null = null;
    before(async () => {
      if (backend === 'postgres') {
        pg = await startPostgresNodes(1, {}, { hostname: HOST });
        t = pg.nodes[0]!;
      } else {
        t = await startTestServer({ hostname: HOST });
      }
      await t.addUser(USER, PASS);
    });
    after(async () => {
      if (pg !== null) await pg.stop();
      else await t?.stop();
    });

    it('fetches and searches the save date; a copy is saved when copied, its internal date kept', async () => {
      const out = await runPythonImap<Record<string, string | string[] | null>>(SCRIPT, { host: HOST, port: t.ports.imaps, ca: t.ca, user: USER, password: PASS });
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
