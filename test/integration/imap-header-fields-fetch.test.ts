// A message list's header fields (what Thunderbird-like clients send at a first sync:
// FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (...)])) over a real socket, on SQLite and on
// PostgreSQL, with python imaplib and imapflow: the first FETCH reads the headers in batches, the next ones
// answer from the shared cache, and every answer is the same bytes as the fields of the message itself:
// across cache blocks, around expunged messages, for a header longer than one read, a body kept in parts,
// 8-bit header bytes and a message without a body.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { havePython, runPythonImap } from '../harness/python-imap.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { postgresUnavailable, testPostgres, type TestPostgres } from '../harness/postgres.ts';

const HOST = 'mx.postamt.test';
const USER = 'lister@example.org';
const PASS = 'message list pass';
const FIELDS = ['FROM', 'TO', 'SUBJECT', 'DATE', 'MESSAGE-ID'];
/** Past two blocks of the cache (256 UIDs each) and past one batch of header reads. */
const COUNT = 560;
const EXPUNGED = [10, 11, 256, 257, 512];

/** Message i: a plain one, or one of the odd cases. */
function message(i: number): Buffer {
  const common = `From: Sender ${i} <s${i}@example.net>\r\nTo: lister@example.org,\r\n  other@example.org\r\nX-Skipped: ${i}\r\nDate: Sun, 6 Dec 2026 12:00:00 +0000\r\nMessage-ID: <${i}@example.net>\r\n`;
  if (i === 5) return Buffer.concat([Buffer.from(common), Buffer.from('Subject: Grüße aus Köln\r\n\r\nbody\r\n', 'utf8')]);
  // A header longer than the first read of each message (16 KB): read again by itself.
  if (i === 300) return Buffer.from(`${'X-Pad: ' + 'p'.repeat(90) + '\r\n'}`.repeat(250) + common + `Subject: long header ${i}\r\n\r\nbody\r\n`);
  // A body bigger than what either store keeps in one piece (512 KB).
  if (i === 400) return Buffer.from(common + `Subject: big ${i}\r\n\r\n` + ('b'.repeat(998) + '\r\n').repeat(600));
  if (i === 450) return Buffer.from(common + `Subject: no body ${i}\r\n`);
  return Buffer.from(common + `Subject: message ${i}\r\n\r\nbody ${i}\r\n`);
}

/** The fields of FIELDS in the message's header, in their order, and the blank line (RFC 9051 §6.4.5). */
function expectedSection(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const header = end < 0 ? text : text.slice(0, end + 2);
  const fields = header.split(/\r\n(?![ \t])/).filter((f) => f !== '');
  const kept = fields.filter((f) => FIELDS.includes(f.slice(0, f.indexOf(':')).toUpperCase()));
  return kept.map((f) => (f.endsWith('\r\n') ? f : f + '\r\n')).join('') + '\r\n';
}

/** Appends the messages in `dir` (files 1..COUNT), expunges some, and fetches the list twice. */
const script = (dir: string): string => `
m = connect()
m.create('Listing')
for i in range(1, ${COUNT} + 1):
    with open(os.path.join(${JSON.stringify(dir)}, str(i)), 'rb') as f:
        m.append('Listing', None, None, f.read())
m.select('Listing')
for u in ${JSON.stringify(EXPUNGED)}:
    m.uid('STORE', str(u), '+FLAGS.SILENT', '(\\\\Deleted)')
m.expunge()
out = []
for run in range(2):
    typ, data = m.fetch('1:*', '(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])')
    out.append([[d[0].decode('latin1'), d[1].decode('latin1')] for d in data if isinstance(d, tuple)])
m.logout()
print(json.dumps(out))
`;

for (const backend of ['sqlite', 'postgres'] as const) {
  const pgSkip = backend === 'postgres' ? postgresUnavailable() : false;
  const skip = !havePython ? 'python3 is not installed' : pgSkip;
  describe(`a message list's header fields with python imaplib and imapflow (${backend})`, { skip }, () => {
    let t: TestServer;
    let cluster: TestPostgres | null = null;
    let url = '';
    const messages = new Map<number, Buffer>();
    for (let i = 1; i <= COUNT; i++) messages.set(i, message(i));
    const kept = [...messages.keys()].filter((i) => !EXPUNGED.includes(i));

    before(async () => {
      if (backend === 'postgres') {
        cluster = await testPostgres();
        url = await cluster.createDatabase();
      }
      t = await startTestServer({ hostname: HOST, config: backend === 'postgres' ? { storage: { backend: 'postgres', url, poolSize: 4 } } as never : undefined });
      await t.addUser(USER, PASS);
    });
    after(async () => {
      await t?.stop();
      if (cluster !== null) {
        await cluster.dropDatabase(url);
        await cluster.stop();
      }
    });

    it('answers the first FETCH and the next one with the same bytes: each message\'s own fields', { timeout: 180_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'postamt-list-'));
      let runs: [string, string][][];
      try {
        for (const [i, raw] of messages) writeFileSync(join(dir, String(i)), raw);
        runs = await runPythonImap<[string, string][][]>(script(dir), { host: HOST, port: t.ports.imaps, ca: t.ca, user: USER, password: PASS });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      assert.equal(runs.length, 2);
      assert.deepEqual(runs[1], runs[0], 'the answer from the cache is the answer read from the messages');
      assert.equal(runs[0]!.length, kept.length);
      runs[0]!.forEach(([head, literal], k) => {
        const i = kept[k]!;
        // The UID is the message's number when appended: UIDs of the expunged ones are gone.
        // RFC 3501 §2.3.2: this IMAP4rev1 session is the first to see them, so they are \\Recent here.
        assert.equal(head.replace('FLAGS (\\Recent)', 'FLAGS ()'), `${k + 1} (UID ${i} FLAGS () RFC822.SIZE ${messages.get(i)!.length} BODY[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)] {${Buffer.byteLength(literal, 'latin1')}}`);
        assert.equal(literal, expectedSection(messages.get(i)!), `message ${i}`);
      });
      assert.ok(runs[0]![kept.indexOf(5)]![1].includes(Buffer.from('Subject: Grüße aus Köln\r\n').toString('latin1')), '8-bit bytes as they are');
    });

    it('gives imapflow the same header fields in another session', { timeout: 180_000 }, async () => {
      const client = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { ca: [t.ca], servername: HOST }, auth: { user: USER, pass: PASS }, logger: false, disableAutoIdle: true });
      await client.connect();
      try {
        await client.mailboxOpen('Listing', { readOnly: true });
        const seen: number[] = [];
        for await (const msg of client.fetch('1:*', { uid: true, flags: true, size: true, headers: FIELDS.map((f) => f.toLowerCase()) })) {
          seen.push(msg.uid);
          assert.equal(msg.headers!.toString('latin1'), expectedSection(messages.get(msg.uid)!), `message ${msg.uid}`);
          assert.equal(msg.size, messages.get(msg.uid)!.length);
        }
        assert.deepEqual(seen, kept);
      } finally {
        await client.logout();
      }
    });
  });
}
