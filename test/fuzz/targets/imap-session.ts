/**
 * The whole IMAP engine (logged in, INBOX selected) fed arbitrary bytes in arbitrary chunks, guided by
 * coverage: it never throws and keeps its buffers bounded. The token-soup property test beside the
 * session (src/protocols/imap/session.fuzz.test.ts) checks response shapes; this one digs deeper.
 */
import { MemoryBackend, TestClient } from '../../../src/protocols/imap/testing/memory-backend.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { splitChunks } from '../engine/random.ts';

export async function runImapSession(chunks: Buffer[]): Promise<void> {
  const backend = new MemoryBackend();
  const account = backend.addUser('alice@example.org', 'secret');
  account.deliver('INBOX', 'Subject: a\r\nFrom: "A" <a@example.org>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\none\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nb\r\n--x--\r\n');
  account.deliver('INBOX', 'Subject: b\r\n\r\ntwo\r\n');
  const client = new TestClient(backend);
  await client.greet();
  await client.login();
  await client.send('s SELECT INBOX\r\n');
  for (const chunk of chunks) await client.send(chunk);
  client.session.closed();
}

export const imapSessionTarget: FuzzTarget = {
  name: 'imap-session',
  maxLength: 2048,
  dictionary: ['\r\n', ' ', '(', ')', '"', '{3}\r\n', '{3+}\r\n', 't ', 'UID ', 'FETCH ', 'STORE ', 'SEARCH ', 'COPY ', 'MOVE ', 'EXPUNGE', 'IDLE\r\n', 'DONE\r\n', 'APPEND INBOX {5+}\r\nhello', 'LIST "" *', 'STATUS INBOX (MESSAGES UIDNEXT)', '1:*', '*', '$', '1,2:3', 'BODY[]', 'BODY.PEEK[1.HEADER]<0.5>', 'BODYSTRUCTURE', 'ENVELOPE', '+FLAGS (\\Deleted)', 'ENABLE QRESYNC CONDSTORE', 'CHANGEDSINCE 1', 'OR ', 'NOT ', 'CHARSET UTF-8 ', 'AUTHENTICATE PLAIN', 'LOGOUT'],
  seeds: ['t1 FETCH 1:* (FLAGS BODYSTRUCTURE ENVELOPE BODY.PEEK[1.MIME])\r\nt2 UID SEARCH OR FROM a NOT SEEN\r\nt3 STORE 1 +FLAGS (\\Deleted)\r\nt4 EXPUNGE\r\n', 't APPEND INBOX {5+}\r\nhello\r\nu IDLE\r\nDONE\r\n'],
  run(data) {
    return runImapSession(splitChunks(data, 6));
  },
};
