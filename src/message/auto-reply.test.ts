import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { autoReplyRefusal, composeAutoReply } from './auto-reply.ts';
import { parseHeaderFields } from './header-fields.ts';

function fields(text: string) {
  const buf = Buffer.from(text.replace(/\n/g, '\r\n'));
  return parseHeaderFields(buf, 0, buf.length, 100);
}

const plain = 'From: Carol <carol@elsewhere.test>\nTo: Alice <alice@example.test>\nSubject: Lunch?\nMessage-ID: <m1@elsewhere.test>\n';

describe('autoReplyRefusal (RFC 3834 §2, RFC 5230 §4.5-§4.6)', () => {
  const check = (sender: string, header: string, recipients = ['alice@example.test']) => autoReplyRefusal({ sender, fields: fields(header), recipients });
  it('answers a personal message that names the user in To or Cc', () => {
    assert.equal(check('carol@elsewhere.test', plain), null);
    assert.equal(check('carol@elsewhere.test', 'To: team@elsewhere.test\nCc: "A" <Alice+work@Example.test>\n'), null, 'Cc, case and +detail');
    assert.equal(check('carol@elsewhere.test', 'To: friends: alice@example.test;\n'), null, 'inside a group');
  });
  it('does not answer a null, daemon or list-owner return path', () => {
    assert.equal(check('', plain), 'null_sender');
    assert.equal(check('MAILER-DAEMON@elsewhere.test', plain), 'system_sender');
    assert.equal(check('owner-list@elsewhere.test', plain), 'system_sender');
    assert.equal(check('list-request@elsewhere.test', plain), 'system_sender');
  });
  it('does not answer automatic or list mail', () => {
    assert.equal(check('carol@elsewhere.test', plain + 'Auto-Submitted: auto-replied\n'), 'auto_submitted');
    assert.equal(check('carol@elsewhere.test', plain + 'Auto-Submitted: no\n'), null, '"no" is a person');
    assert.equal(check('carol@elsewhere.test', plain + 'List-Id: <dev.lists.elsewhere.test>\n'), 'list_mail');
    assert.equal(check('carol@elsewhere.test', plain + 'List-Unsubscribe: <mailto:x@elsewhere.test>\n'), 'list_mail');
    for (const p of ['bulk', 'list', 'Junk']) assert.equal(check('carol@elsewhere.test', plain + `Precedence: ${p}\n`), 'bulk_precedence');
  });
  it('does not answer mail that does not name the user (Bcc from elsewhere, lists) or that the user sent', () => {
    assert.equal(check('carol@elsewhere.test', 'To: someone@elsewhere.test\n'), 'not_addressed');
    assert.equal(check('alice@example.test', plain), 'own_message');
  });
});

describe('composeAutoReply (RFC 3834 §3)', () => {
  it('replies with Re: subject, In-Reply-To, References and Auto-Submitted: auto-replied', () => {
    const original = fields(plain + 'References: <m0@elsewhere.test>\n');
    const reply = composeAutoReply({ from: 'alice@example.test', to: 'carol@elsewhere.test', original, vacation: { subject: null, textBody: 'Away until Monday.', htmlBody: null }, now: new Date(0) }).toString();
    const head = reply.slice(0, reply.indexOf('\r\n\r\n'));
    assert.match(head, /^From: <alice@example\.test>$/m);
    assert.match(head, /^To: <carol@elsewhere\.test>$/m);
    assert.match(head, /^Subject: Re: Lunch\?$/m);
    assert.match(head, /^In-Reply-To: <m1@elsewhere\.test>$/m);
    assert.match(head, /^References: <m0@elsewhere\.test>\r\n <m1@elsewhere\.test>$/m);
    assert.match(head, /^Auto-Submitted: auto-replied$/m);
    assert.match(head, /^Message-ID: <[0-9a-f]+@example\.test>$/m);
    assert.match(reply, /Away until Monday\./);
  });
  it('uses the vacation subject when set, never "Re: Re:", and sends HTML with a text alternative', () => {
    const original = fields('Subject: Re: plans\n');
    const own = composeAutoReply({ from: 'a@example.test', to: 'c@elsewhere.test', original, vacation: { subject: 'Out of office', textBody: null, htmlBody: '<p>Gone &amp; back</p>' }, now: new Date(0) }).toString();
    assert.match(own, /^Subject: Out of office$/m);
    assert.match(own, /multipart\/alternative/);
    assert.match(own, /Gone & back/);
    const re = composeAutoReply({ from: 'a@example.test', to: 'c@elsewhere.test', original, vacation: { subject: null, textBody: 'x', htmlBody: null }, now: new Date(0) }).toString();
    assert.match(re, /^Subject: Re: plans$/m);
  });
});
