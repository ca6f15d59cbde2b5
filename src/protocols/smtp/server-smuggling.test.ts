/**
 * SMTP smuggling (CVE-2023-51764/51765/51766 class) against the whole engine: for every non-standard
 * end-of-data sequence, a smuggled second transaction must never run, with the input cut at every byte
 * boundary (exhaustively for one cut, with fast-check for several).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { smtpHarness } from './testing.ts';

const SMUGGLING_ENDINGS = ['\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '\r.\r\n', '\r\n.\r', '\n.\r'];

const OPENING = 'EHLO client.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n';
const SMUGGLED = 'MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: forged\r\n\r\nevil\r\n.\r\n';

function transcript(ending: string): Buffer {
  return Buffer.from(`${OPENING}Subject: one\r\n\r\nbody${ending}${SMUGGLED}QUIT\r\n`, 'latin1');
}

/** Every reply line is `ddd-` or `ddd `, and its enhanced code (if any) has the reply's class (RFC 3463 §2). */
function assertWellFormed(replies: string): void {
  assert.ok(replies.endsWith('\r\n'), 'replies end with CRLF');
  for (const l of replies.slice(0, -2).split('\r\n')) {
    assert.match(l, /^\d{3}[ -]/, `malformed reply line ${JSON.stringify(l)}`);
    const enhanced = /^(\d)\d\d[ -](\d)\.\d{1,3}\.\d{1,3} /.exec(l);
    if (enhanced) assert.equal(enhanced[2], enhanced[1], `enhanced code class differs: ${l}`);
  }
}

async function run(input: Buffer, cuts: number[]) {
  const mailFrom: string[] = [];
  const h = smtpHarness({
    hooks: {
      checkMailFrom: async (_info, reversePath) => {
        mailFrom.push(reversePath?.address ?? '');
        return { ok: true };
      },
    },
  });
  let out = await h.start();
  let start = 0;
  let closed = false;
  for (const end of [...cuts.filter((c) => c > 0 && c < input.length).sort((a, b) => a - b), input.length]) {
    if (end <= start) continue;
    const output = await h.sayFull(input.subarray(start, end));
    out += output.data.join('');
    start = end;
    if (output.then === 'close') closed = true;
  }
  return { out, closed, mailFrom, messages: h.messages, transactions: h.transactions, internalErrors: h.internalErrors };
}

function codes(out: string): string[] {
  return out
    .split('\r\n')
    .filter((l) => /^\d{3} /.test(l))
    .map((l) => l.slice(0, 3));
}

async function assertNotSmuggled(ending: string, cuts: number[]): Promise<void> {
  const r = await run(transcript(ending), cuts);
  const where = `${JSON.stringify(ending)} cut at ${cuts.join(',')}`;
  assertWellFormed(r.out);
  // greeting, EHLO, MAIL, RCPT, 354, the one refusal, QUIT: nothing else.
  assert.deepEqual(codes(r.out), ['220', '250', '250', '250', '354', '554', '221'], `${where}: ${r.out}`);
  assert.match(r.out, /\r\n554 5\.6\.0 [^\r]*\r\n221 /, where);
  assert.deepEqual(r.mailFrom, ['a@example.net'], `${where}: the smuggled MAIL ran as a command`);
  assert.equal(r.messages.length, 1, `${where}: a second message was started`);
  assert.equal(r.messages[0]!.state, 'aborted', where);
  assert.equal(r.transactions.length, 1, where);
  assert.equal(r.transactions[0]!.code, 554, where);
  assert.equal(r.closed, true, where);
  assert.deepEqual(r.internalErrors, [], where);
}

describe('SMTP smuggling through the engine', () => {
  it('control: a real <CRLF>.<CRLF> does end the first message, and the second transaction runs', async () => {
    // Shows that the assertions below can fail: the same transcript with the standard ending is two messages.
    const r = await run(transcript('\r\n.\r\n'), []);
    assert.deepEqual(codes(r.out), ['220', '250', '250', '250', '354', '250', '250', '250', '354', '250', '221']);
    assert.deepEqual(r.mailFrom, ['a@example.net', 'evil@x.example']);
    assert.equal(r.messages.length, 2);
  });

  for (const ending of SMUGGLING_ENDINGS) {
    it(`${JSON.stringify(ending)}: one refused transaction, the smuggled MAIL never runs, at every cut`, async () => {
      const input = transcript(ending);
      for (let cut = 0; cut < input.length; cut++) await assertNotSmuggled(ending, [cut]);
    });
  }

  it('holds for any number of cuts anywhere (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SMUGGLING_ENDINGS), fc.array(fc.nat(260), { maxLength: 8 }), async (ending, cuts) => {
        await assertNotSmuggled(ending, cuts);
      }),
      { numRuns: 400 },
    );
  });

  it('delivers the smuggling-looking bytes nowhere: the first message body never reaches a committed store', async () => {
    const r = await run(transcript('\n.\r\n'), []);
    assert.equal(r.messages.filter((m) => m.state === 'committed').length, 0);
  });
});
