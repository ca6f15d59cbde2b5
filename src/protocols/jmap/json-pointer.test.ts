import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePointer, parsePointer } from './json-pointer.ts';

// RFC 6901 §5: the example document and its pointers.
const DOC = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'c%d': 2, 'e^f': 3, 'g|h': 4, 'i\\j': 5, 'k"l': 6, ' ': 7, 'm~n': 8 };

describe('JSON Pointer (RFC 6901) with the JMAP "*" extension (RFC 8620 §3.7)', () => {
  for (const [pointer, expected] of [
    ['', DOC], ['/foo', ['bar', 'baz']], ['/foo/0', 'bar'], ['/', 0], ['/a~1b', 1], ['/c%d', 2], ['/e^f', 3],
    ['/g|h', 4], ['/i\\j', 5], ['/k"l', 6], ['/ ', 7], ['/m~0n', 8],
  ] as const) {
    it(`evaluates the RFC 6901 §5 example ${JSON.stringify(pointer)}`, () => {
      assert.deepEqual(evaluatePointer(DOC, pointer), { ok: true, value: expected });
    });
  }

  it('decodes "~01" as "~1", not "/" (RFC 6901 §4 order)', () => {
    assert.deepEqual(parsePointer('/~01'), ['~1']);
    assert.deepEqual(evaluatePointer({ '~1': 'x', '/': 'y' }, '/~01'), { ok: true, value: 'x' });
  });

  it('refuses pointers without a leading "/" and bad "~" escapes', () => {
    assert.equal(parsePointer('foo'), null);
    assert.equal(parsePointer('/a~2'), null);
    assert.equal(parsePointer('/a~'), null);
  });

  it('does not read inherited members', () => {
    assert.equal(evaluatePointer({}, '/constructor').ok, false);
    assert.equal(evaluatePointer({}, '/__proto__').ok, false);
    assert.equal(evaluatePointer([1], '/length').ok, false);
  });

  it('maps "*" over arrays, flattening arrays the rest of the pointer returns', () => {
    const doc = { list: [{ id: 'a', ids: ['1', '2'] }, { id: 'b', ids: [] }, { id: 'c', ids: ['3'] }] };
    assert.deepEqual(evaluatePointer(doc, '/list/*/id'), { ok: true, value: ['a', 'b', 'c'] });
    assert.deepEqual(evaluatePointer(doc, '/list/*/ids'), { ok: true, value: ['1', '2', '3'] });
    assert.deepEqual(evaluatePointer(doc, '/list/*'), { ok: true, value: doc.list });
    assert.deepEqual(evaluatePointer({ list: [] }, '/list/*/id'), { ok: true, value: [] });
  });

  it('treats "*" as a member name on objects', () => {
    assert.deepEqual(evaluatePointer({ '*': 1 }, '/*'), { ok: true, value: 1 });
  });
});
