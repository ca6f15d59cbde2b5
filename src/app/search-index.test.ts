// Email/query's text conditions and Email/get's list properties answered through the search index give
// exactly what reading every message gives: the same ids for a corpus of awkward messages and filters,
// whether the emails are indexed, not yet indexed, or a mix; and the same list properties.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/log.ts';
import type { JmapEngine } from '../protocols/jmap/engine.ts';
import type { JmapMailBackend } from '../protocols/jmap/mail/backend.ts';
import { EmailView } from '../protocols/jmap/mail/email-view.ts';
import { bodyTextOf } from '../protocols/jmap/mail/search-document.ts';
import type { OpenedStore } from '../store/open.ts';
import type { StoreJmapMailBackend } from './jmap-mail-backend.ts';
import { SearchIndexer } from './search-indexer.ts';
import { openJmapMailFixture, type JmapMailFixture } from '../../test/harness/jmap-mail-fixture.ts';

/** Messages whose texts exercise case folding, encodings, HTML, attachments, repeated and odd fields. */
const CORPUS: string[] = [
  'From: "Bob Example" <bob@example.org>\nTo: alice@example.test, Team: carol@example.org, dave@example.org;\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and plans\nMessage-ID: <plan-1@example.org>\nList-Post: <mailto:list@example.org>\nX-Custom:   spaced value\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: multipart/alternative; boundary="b2"\n\n--b2\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nHello Alice, the plan is ready. Gr=C3=BC=C3=9Fe\n--b2\nContent-Type: text/html; charset=utf-8\n\n<p>Hello <b>Alice</b>, the plan is ready.</p>\n--b2--\n--b1\nContent-Type: application/pdf; name="plan.pdf"\nContent-Disposition: attachment; filename="plan.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b1--\n',
  'From: Carol <carol@example.org>\nTo: alice@example.test\nCc: "Éva Ödön" <eva@example.hu>\nSubject: HTML only: 100% discount_code\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>Buy &amp; save &lt;now&gt;</p></body></html>\n',
  'From: dave@example.org\nTo: alice@example.test\nBcc: secret@example.net\nSubject: STRASSE İstanbul ΣΊΣΥΦΟΣ\n\nUPPER and lower: Straße, İstanbul, ΣΊΣΥΦΟΣ.\n',
  'From: list@example.org\nTo: alice@example.test\nSubject: first subject\nSubject: second subject\nX-Spam-Flag: YES\n\nTwo subjects.\n',
  'From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\nTo: alice@example.test\nSubject: =?ISO-8859-1?B?Q2Fm6SBjcuhtZQ==?=\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me, wildcards * ? [x] % _ \\ "quote"\n',
  'From: eve@example.com\nTo: alice@example.test\nSubject: forwarded\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="f"\n\n--f\nContent-Type: text/plain\n\nSee the attached message.\n--f\nContent-Type: message/rfc822\n\nFrom: inner@example.com\nSubject: inner subject\n\ninner body words\n--f--\n',
  'From: frank@example.com\nTo: alice@example.test\nSubject: inline image\nMIME-Version: 1.0\nContent-Type: multipart/related; boundary="r"\n\n--r\nContent-Type: text/html\n\n<p>see <img src="cid:i1"></p>\n--r\nContent-Type: image/png\nContent-ID: <i1>\n\nPNG\n--r--\n',
  'To: alice@example.test\nSubject: no sender, folded\n subject line\n\nab\n',
  'From: grace@example.com\nTo: alice@example.test\n\nno subject at all; a short body: ok\n',
  'From: Heidi <heidi@example.com>\nTo: alice@example.test\nSubject: plans for Q3\nIn-Reply-To: <plan-1@example.org>\n\nRe the plan: agreed.\n',
];

const FILTERS: unknown[] = [
  { text: 'plan' }, { text: 'PLAN' }, { text: 'alice' }, { text: 'ab' }, { text: 'a' }, { text: '' }, { text: 'inner' }, { text: 'nothing like this' },
  { from: 'bob' }, { from: 'Bob Example' }, { from: '"name"' }, { from: 'andré' }, { from: 'ANDRÉ' }, { to: 'team' }, { to: 'carol' }, { cc: 'éva' }, { cc: 'ÖDÖN' }, { bcc: 'secret' },
  { subject: 'grüße' }, { subject: 'GRÜSSE' }, { subject: 'straße' }, { subject: 'strasse' }, { subject: 'i̇stanbul' }, { subject: 'istanbul' }, { subject: 'σίσυφος' }, { subject: 'σίσυφοσ' },
  { subject: 'subject' }, { subject: 'second' }, { subject: 'first subject second' }, { subject: 'café' }, { subject: '100%' }, { subject: 'discount_code' }, { subject: 'folded' }, { subject: 'folded subject' },
  { body: 'plan is ready' }, { body: 'buy & save <now>' }, { body: 'alert' }, { body: 'color' }, { body: 'crème' }, { body: '* ? [x] % _ \\' }, { body: '"quote"' }, { body: 'see' }, { body: 'inner body' }, { body: 'png' },
  { header: ['X-Custom'] }, { header: ['x-custom', 'SPACED'] }, { header: ['X-Spam-Flag', 'yes'] }, { header: ['subject', 'second'] }, { header: ['In-Reply-To', 'plan-1'] }, { header: ['Nope'] },
  { hasAttachment: true }, { hasAttachment: false },
  { text: 'plan', hasAttachment: false }, { from: 'example.org', subject: 'plans' },
  { operator: 'OR', conditions: [{ subject: 'html' }, { body: 'crème' }] },
  { operator: 'NOT', conditions: [{ text: 'plan' }] },
  { operator: 'AND', conditions: [{ text: 'example' }, { operator: 'NOT', conditions: [{ from: 'bob' }, { body: 'agreed' }] }] },
];

/** The text conditions as Email/query evaluated them before the index: every message parsed and compared. */
function oracle(view: EmailView, c: Record<string, any>): boolean {
  if ('operator' in c) {
    const r = (c.conditions as Record<string, any>[]).map((x) => oracle(view, x));
    return c.operator === 'AND' ? r.every(Boolean) : c.operator === 'OR' ? r.some(Boolean) : !r.some(Boolean);
  }
  const contains = (hay: string, needle: string): boolean => hay.toLowerCase().includes(needle.toLowerCase());
  const raw = (name: string): string => view.fields.filter((f) => f.name.toLowerCase() === name).map((f) => String(view.headerProperty(`header:${f.name}:asText`) ?? '')).join(' ');
  const addresses = (name: string): string => JSON.stringify(view.headerProperty(name) ?? []);
  if (c.hasAttachment !== undefined && view.hasAttachment() !== c.hasAttachment) return false;
  for (const field of ['from', 'to', 'cc', 'bcc']) if (c[field] !== undefined && !contains(addresses(field), c[field])) return false;
  if (c.subject !== undefined && !contains(raw('subject'), c.subject)) return false;
  if (c.body !== undefined && !contains(bodyTextOf(view), c.body)) return false;
  if (c.text !== undefined && !['from', 'to', 'cc', 'bcc'].some((f) => contains(addresses(f), c.text)) && !contains(raw('subject'), c.text) && !contains(bodyTextOf(view), c.text)) return false;
  if (c.header !== undefined) {
    const values = view.fields.filter((f) => f.name.toLowerCase() === c.header[0].toLowerCase());
    if (values.length === 0) return false;
    if (c.header[1] !== undefined && !values.some((f) => contains(f.raw, c.header[1]))) return false;
  }
  return true;
}

let fixture: JmapMailFixture;
let store: OpenedStore;
let indexedEngine: JmapEngine<JmapMailBackend>;
let plainEngine: JmapEngine<JmapMailBackend>;
let A: string;
let inbox: number;
let indexer: SearchIndexer;
/** Messages read by the indexed backend itself (not by the plain one). */
let indexedReads = 0;
const views = new Map<string, EmailView>();

async function call(engine: JmapEngine<JmapMailBackend>, name: string, args: Record<string, unknown>): Promise<Record<string, any>> {
  const [[responseName, response]] = await fixture.request(engine, [[name, { accountId: A, ...args }, 'c']]);
  assert.notEqual(responseName, 'error', JSON.stringify(response));
  return response!;
}

async function deliverCorpus(): Promise<void> {
  for (const text of CORPUS) {
    const m = await fixture.deliver(text, { mailboxId: inbox });
    views.set(`E${m.emailId}`, new EmailView(Buffer.from(text.replace(/\n/g, '\r\n')), ''));
  }
}

async function compareAll(label: string): Promise<void> {
  for (const filter of FILTERS) {
    const expected = [...views].filter(([, v]) => oracle(v, filter as Record<string, any>)).map(([id]) => id).sort();
    const viaIndex = (await call(indexedEngine, 'Email/query', { filter, limit: 1000 })).ids.slice().sort();
    const plain = (await call(plainEngine, 'Email/query', { filter, limit: 1000 })).ids.slice().sort();
    assert.deepEqual(viaIndex, expected, `${label}: ${JSON.stringify(filter)} through the index`);
    assert.deepEqual(plain, expected, `${label}: ${JSON.stringify(filter)} reading every message`);
  }
}

before(async () => {
  fixture = await openJmapMailFixture();
  ({ store, accountId: A, inbox } = fixture);
  const mail = fixture.mail;
  const read = mail.emailBytes.bind(mail);
  mail.emailBytes = function (this: unknown, accountId: string, id: number) {
    if (this === mail) indexedReads++;
    return read(accountId, id);
  };
  // The same backend without the index: every message is read, as before the index existed.
  const plain = Object.assign(Object.create(mail) as StoreJmapMailBackend, { searchEmails: undefined, emailSummaries: undefined });
  indexedEngine = fixture.engine(mail);
  plainEngine = fixture.engine(plain);
  indexer = new SearchIndexer({ store, logger: silentLogger(), delayMs: 3_600_000, batchSize: 4, busyUtilization: 1, busyWaitMs: 0 });
});

after(async () => {
  await indexer.stop();
  await fixture.close();
});

describe('the search index answers as reading every message does', () => {
  it('before anything is indexed (every email read by the query)', async () => {
    await deliverCorpus();
    assert.equal((await store.unindexedEmails({ afterEmailId: 0, limit: 100 })).length, CORPUS.length);
    await compareAll('unindexed');
  });

  it('once indexed at start, and with fresh deliveries not indexed yet beside them', async () => {
    indexer.start(); // catches up at once; later mail waits for the (long) delay: the indexer lags
    await indexer.idle();
    assert.equal(indexer.stats.indexed, CORPUS.length);
    assert.deepEqual(await store.unindexedEmails({ afterEmailId: 0, limit: 100 }), []);
    indexedReads = 0;
    await compareAll('indexed');
    assert.equal(indexedReads, 0, 'with everything indexed, no query reads a message');
    await deliverCorpus();
    assert.equal((await store.unindexedEmails({ afterEmailId: 0, limit: 100 })).length, CORPUS.length, 'the new copies wait for the indexer');
    await compareAll('half indexed');
  });

  it('Email/get of list properties from the index equals parsing the messages', async () => {
    const props = ['id', 'threadId', 'mailboxIds', 'from', 'to', 'cc', 'subject', 'sentAt', 'preview', 'receivedAt', 'keywords', 'hasAttachment', 'size', 'messageId', 'replyTo'];
    const ids = [...views.keys()];
    const viaIndex = await call(indexedEngine, 'Email/get', { ids, properties: props });
    const plain = await call(plainEngine, 'Email/get', { ids, properties: props });
    assert.equal(viaIndex.list.length, ids.length);
    assert.deepEqual(viaIndex.list, plain.list);
    const withBody = await call(indexedEngine, 'Email/get', { ids: ids.slice(0, 1), properties: ['preview', 'textBody'] });
    assert.ok(Array.isArray(withBody.list[0].textBody), 'a property outside the list ones still parses');
  });

  it('an expunged email is not found, and its document is pruned', async () => {
    const [first] = [...views.keys()];
    const before = (await call(indexedEngine, 'Email/query', { filter: { text: 'plan is ready' } })).ids as string[];
    assert.ok(before.includes(first!));
    await call(indexedEngine, 'Email/set', { destroy: [first] });
    views.delete(first!);
    assert.ok(!((await call(indexedEngine, 'Email/query', { filter: { text: 'plan is ready' } })).ids as string[]).includes(first!));
    assert.equal(await store.pruneSearchDocuments(), 1);
    await compareAll('after expunge');
  });
});
