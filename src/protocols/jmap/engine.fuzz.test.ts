import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CORE_CAPABILITY, MAIL_CAPABILITY } from './capabilities.ts';
import type { ApiResult } from './engine.ts';
import { ALICE, makeEngine } from './testing/memory-backend.ts';
import { NoteStore, noteMethods } from './testing/note-methods.ts';

const METHOD_NAMES = ['Core/echo', 'Note/get', 'Note/set', 'Note/query', 'Note/changes', 'Note/queryChanges', 'Foo/bar', '__proto__', 'constructor'];
const KEYS = ['accountId', 'ids', '#ids', 'properties', 'create', 'update', 'destroy', 'ifInState', 'filter', 'sort', 'position', 'anchor', 'limit', 'sinceState', 'maxChanges', 'resultOf', 'name', 'path', 'operator', 'conditions', '__proto__', 'title', 'tags/0'];
const STRINGS = ['A1', 'S1', 'N1', 'N2', '#k1', 'k1', 'c0', 'c1', '/ids', '/list/*/id', '/*', '', '~', '~2', '/created/k1/id', 'AND', 'NOT', 'title', 'Note/query', 'Core/echo', '4', 'x'.repeat(300)];

function engine() {
  const store = new NoteStore();
  for (const t of ['a', 'b', 'c']) store.create(t);
  return makeEngine({ methods: noteMethods(store) }).engine;
}

function checkResult(result: ApiResult): void {
  if (result.kind === 'problem') {
    assert.ok(result.status === 400 || result.status === 503);
    assert.match(result.body.type, /^(urn:ietf:params:jmap:error:|about:blank$)/);
    return;
  }
  assert.equal(result.status, 200);
  assert.equal(typeof result.body.sessionState, 'string');
  for (const [name, args, callId] of result.body.methodResponses) {
    assert.equal(typeof name, 'string');
    assert.equal(typeof callId, 'string');
    assert.ok(args && typeof args === 'object');
    if (name === 'error') assert.notEqual(args.type, 'serverFail', `a handler crashed: ${JSON.stringify(result.body)}`);
  }
  JSON.stringify(result.body);
}

describe('JMAP engine fuzzing', () => {
  it('never throws on arbitrary text', async () => {
    const e = engine();
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => checkResult(await e.handle(ALICE, { body: text }))),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary JSON values', async () => {
    const e = engine();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => checkResult(await e.handle(ALICE, { body: JSON.stringify(value) }))),
      { numRuns: 300 },
    );
  });

  it('answers well-formed requests with random calls, references and arguments without a serverFail', async () => {
    const leaf = fc.oneof(fc.constantFrom(...STRINGS), fc.integer({ min: -5, max: 600 }), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 4 })),
    })).v;
    const call = fc.tuple(fc.constantFrom(...METHOD_NAMES), fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }), fc.constantFrom('c0', 'c1', 'c2'));
    const request = fc.record({
      using: fc.subarray([CORE_CAPABILITY, MAIL_CAPABILITY]),
      methodCalls: fc.array(call, { maxLength: 6 }),
      createdIds: fc.option(fc.dictionary(fc.constantFrom('k1', 'k2'), fc.constantFrom('N1', 'N9')), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => checkResult(await engine().handle(ALICE, { body: JSON.stringify(r), contentType: 'application/json' }))),
      { numRuns: 400 },
    );
  });
});
