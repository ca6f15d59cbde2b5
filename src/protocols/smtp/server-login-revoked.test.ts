// A submission session whose login stops being valid (account removed or disabled, password changed) is
// ended with 421 4.7.0: at once between commands (a message being sent is abandoned), and after the reply
// of a command in progress, so an acknowledged message always gets its 250 before the 421.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineOutput } from '../engine.ts';
import type { LoginWatcher } from '../sasl/types.ts';
import { outputText, smtpHarness } from './testing.ts';

const AUTH = `AUTH PLAIN ${Buffer.from('\0alice\0secret').toString('base64')}\r\n`;

function watched(): { logins: LoginWatcher; revoke: (reason: string) => void; watching: () => number } {
  let revoke: ((reason: string) => void) | null = null;
  let count = 0;
  return {
    logins: {
      watch(_identity, session, onRevoke) {
        assert.equal(session.protocol, 'smtp');
        revoke = onRevoke;
        count++;
        return () => {
          count--;
        };
      },
    },
    revoke: (reason) => revoke?.(reason),
    watching: () => count,
  };
}

function pushes(h: ReturnType<typeof smtpHarness>): EngineOutput[] {
  const out: EngineOutput[] = [];
  h.session.options.context.push = (o) => out.push(o);
  return out;
}

test('revoked between commands: 421 4.7.0 at once, the message being sent is abandoned', async () => {
  const w = watched();
  const h = smtpHarness({ role: 'submission', tls: { protocol: 'TLSv1.3', cipher: 'x' }, hooks: { logins: w.logins } });
  const pushed = pushes(h);
  await h.start();
  await h.say('EHLO client.example\r\n');
  assert.match(await h.say(AUTH), /^235 /);
  assert.equal(w.watching(), 1);
  await h.say('MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
  await h.say('Subject: half\r\n\r\nfirst part\r\n');
  w.revoke('account removed');
  assert.equal(pushed.length, 1);
  assert.match(outputText(pushed[0]!), /^421 4\.7\.0 .*account removed/);
  assert.equal(pushed[0]!.then, 'close');
  assert.equal(h.messages[0]!.state, 'aborted');
  assert.equal(await h.say('.\r\nMAIL FROM:<alice@example.org>\r\n'), '', 'nothing more is answered');
  h.session.closed();
  assert.equal(w.watching(), 0);
});

test('revoked while a message commits: its 250 comes first, then 421, and pipelined commands are not run', async () => {
  const w = watched();
  let release!: () => void;
  const committing = new Promise<void>((r) => (release = r));
  const h = smtpHarness({
    role: 'submission',
    tls: { protocol: 'TLSv1.3', cipher: 'x' },
    hooks: { logins: w.logins },
    commit: async () => {
      await committing;
      return { ok: true, text: 'Ok: queued as X1' };
    },
  });
  const pushed = pushes(h);
  await h.start();
  await h.say('EHLO client.example\r\n');
  await h.say(AUTH);
  await h.say('MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
  const reply = h.sayFull('Subject: whole\r\n\r\nbody\r\n.\r\nMAIL FROM:<alice@example.org>\r\n');
  await new Promise((r) => setImmediate(r));
  w.revoke('password changed');
  release();
  const out = await reply;
  assert.equal(pushed.length, 0);
  assert.match(outputText(out), /^250 [^\r]*queued as X1\r\n421 4\.7\.0 [^\r]*password changed[^\r]*\r\n$/);
  assert.equal(out.then, 'close');
  assert.equal(h.messages[0]!.state, 'committed');
  assert.equal(h.messages.length, 1);
});

test('STARTTLS forgets the login, and with it the watch', async () => {
  const w = watched();
  const h = smtpHarness({ role: 'submission', sasl: undefined, tls: null, hooks: { logins: w.logins } });
  await h.start();
  await h.say('EHLO client.example\r\n');
  h.session.identity = { accountId: 1, address: 'alice@example.org' };
  assert.equal(w.watching(), 1);
  h.startTls();
  assert.equal(w.watching(), 0);
});
