/**
 * Header unfolding is linear: a field folded over 200,000 lines (the header bomb that froze mailauth's
 * quadratic parser for 96 s) is parsed in a fraction of a second, by our parser and by the DKIM splitter.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { splitMessage } from '../policy/dkim-canon.ts';
import { parseHeaderFields } from './header-fields.ts';

const bomb = Buffer.from('From: a@b.test\r\nSubject: a\r\n' + ' b\r\n'.repeat(200_000) + 'To: c@d.test\r\n\r\nbody\r\n');

it('unfolds a Subject folded over 200,000 lines in linear time', () => {
  const started = performance.now();
  const fields = parseHeaderFields(bomb, 0, bomb.indexOf('\r\n\r\n') + 2, 100);
  const { fields: dkimFields } = splitMessage(bomb);
  const ms = performance.now() - started;
  assert.deepEqual(fields.map((f) => f.name), ['From', 'Subject', 'To']);
  assert.equal(fields[1]!.value.length, 'a'.length + ' b'.length * 200_000);
  assert.equal(dkimFields.length, 3);
  // Generous for a loaded machine: the quadratic parser needs about 96 s for this input.
  assert.ok(ms < 5000, `took ${ms} ms`);
});
