import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { CliIo, InputStream } from './context.ts';
import { readNewPassword } from './password-input.ts';

/** A terminal that types `keys` one chunk per prompt, recording raw mode and what was echoed. */
function fakeTerminal(keys: string[]): { io: CliIo; shown: () => string; rawModes: boolean[] } {
  const emitter = new EventEmitter();
  const rawModes: boolean[] = [];
  let shown = '';
  const stdin = Object.assign(emitter, {
    isTTY: true,
    setRawMode(mode: boolean) {
      rawModes.push(mode);
      if (mode) setImmediate(() => emitter.emit('data', Buffer.from(keys.shift() ?? '\u0003')));
    },
    resume() {},
    pause() {},
    [Symbol.asyncIterator]: () => { throw new Error('not read as a stream'); },
  }) as unknown as InputStream;
  const io: CliIo = { stdin, stdout: { write: (s) => { shown += String(s); } }, stderr: { write: (s) => { shown += String(s); } } };
  return { io, shown: () => shown, rawModes };
}

test('on a terminal the password is asked twice without echo; backspace edits', async () => {
  const t = fakeTerminal(['secrett\u007f\r', 'secret\r']);
  assert.equal(await readNewPassword(t.io, { fromStdin: false, minLength: 1 }), 'secret');
  assert.equal(t.shown(), 'Password: \nRepeat password: \n');
  assert.deepEqual(t.rawModes, [true, false, true, false]);
});

test('different passwords or Ctrl-C are refused', async () => {
  await assert.rejects(readNewPassword(fakeTerminal(['one\r', 'two\r']).io, { fromStdin: false, minLength: 1 }), /the passwords do not match/);
  await assert.rejects(readNewPassword(fakeTerminal(['ab\u0003']).io, { fromStdin: false, minLength: 1 }), /cancelled/);
});

test('--password-stdin reads everything but one trailing newline', async () => {
  const io = (text: string): CliIo => ({ stdin: Readable.from([Buffer.from(text)]), stdout: { write: () => true }, stderr: { write: () => true } });
  assert.equal(await readNewPassword(io('pass word \n'), { fromStdin: true, minLength: 1 }), 'pass word ');
  await assert.rejects(readNewPassword(io('two\nlines\n'), { fromStdin: true, minLength: 1 }), /line breaks/);
});

test('a password shorter than auth.min_password_length is refused, counted in characters', async () => {
  const io = (text: string): CliIo => ({ stdin: Readable.from([Buffer.from(text)]), stdout: { write: () => true }, stderr: { write: () => true } });
  await assert.rejects(readNewPassword(io('short\n'), { fromStdin: true, minLength: 8 }), /the password has 5 characters; at least 8 are required \(auth\.min_password_length\)/);
  assert.equal(await readNewPassword(io('äöüäöüäö\n'), { fromStdin: true, minLength: 8 }), 'äöüäöüäö');
});
