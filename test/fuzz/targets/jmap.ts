/**
 * The JMAP engine (RFC 8620) fed arbitrary request bodies: never throws, always answers a problem (400 with a
 * JMAP error type) or a Response whose every invocation is well formed, and no method call ends in serverFail
 * (a handler that crashed on client input).
 */
import assert from 'node:assert/strict';
import type { ApiResult } from '../../../src/protocols/jmap/engine.ts';
import { ALICE, makeEngine } from '../../../src/protocols/jmap/testing/memory-backend.ts';
import { NoteStore, noteMethods } from '../../../src/protocols/jmap/testing/note-methods.ts';
import type { FuzzTarget } from '../engine/target.ts';

const CORE = 'urn:ietf:params:jmap:core';
const MAIL = 'urn:ietf:params:jmap:mail';

function engine() {
  const store = new NoteStore();
  for (const t of ['a', 'b', 'c']) store.create(t);
  return makeEngine({ methods: noteMethods(store), limits: { maxCallsInRequest: 8, maxObjectsInGet: 20, maxObjectsInSet: 20, maxSizeRequest: 4096 } }).engine;
}

export function checkJmapResult(result: ApiResult): void {
  if (result.kind === 'problem') {
    assert.equal(result.status, 400);
    assert.match(result.body.type, /^urn:ietf:params:jmap:error:(notJSON|notRequest|unknownCapability|limit)$/);
    if (result.body.type.endsWith(':limit')) assert.equal(typeof result.body.limit, 'string');
    return;
  }
  assert.equal(result.status, 200);
  for (const [name, args, callId] of result.body.methodResponses) {
    assert.equal(typeof name, 'string');
    assert.equal(typeof callId, 'string');
    assert.ok(args !== null && typeof args === 'object' && !Array.isArray(args));
    if (name === 'error') assert.notEqual(args.type, 'serverFail', 'a method crashed on client input');
  }
  JSON.stringify(result.body);
}

export const jmapTarget: FuzzTarget = {
  name: 'jmap',
  dictionary: [
    '{', '}', '[', ']', ',', ':', '"', 'null', 'true', '-1', '0', '1e400', '"\\u0000"', '"\\ud800"',
    `"${CORE}"`, `"${MAIL}"`, '"using"', '"methodCalls"', '"createdIds"', '"Core/echo"', '"Note/get"', '"Note/set"',
    '"Note/query"', '"Note/changes"', '"Note/queryChanges"', '"accountId"', '"A1"', '"S1"', '"ids"', '"#ids"',
    '"resultOf"', '"name"', '"path"', '"/ids"', '"/list/*/id"', '"/created/k1/id"', '"create"', '"update"', '"destroy"',
    '"ifInState"', '"#k1"', '"k1"', '"filter"', '"operator"', '"conditions"', '"AND"', '"sort"', '"property"', '"title"',
    '"anchor"', '"position"', '"limit"', '"sinceState"', '"maxChanges"', '"sinceQueryState"', '"__proto__"', '"tags/0"',
  ],
  seeds: [
    `{"using":["${CORE}"],"methodCalls":[["Core/echo",{"hello":true},"c1"]]}`,
    `{"using":["${CORE}","${MAIL}"],"methodCalls":[["Note/query",{"accountId":"A1","sort":[{"property":"title"}],"limit":2},"t0"],["Note/get",{"accountId":"A1","#ids":{"resultOf":"t0","name":"Note/query","path":"/ids"}},"t1"]]}`,
    `{"using":["${CORE}","${MAIL}"],"methodCalls":[["Note/set",{"accountId":"A1","ifInState":"3","create":{"k1":{"title":"x"}},"update":{"#k1":{"title":"y"}},"destroy":["N1"]},"s"],["Note/changes",{"accountId":"A1","sinceState":"3","maxChanges":1},"c"]],"createdIds":{}}`,
    `{"using":["${CORE}","${MAIL}"],"methodCalls":[["Note/query",{"accountId":"A1","filter":{"operator":"NOT","conditions":[{"hasTag":"x"}]},"anchor":"N2","anchorOffset":-1},"q"],["Note/queryChanges",{"accountId":"A1","sinceQueryState":"1","upToId":"N3"},"qc"]]}`,
  ],
  maxLength: 2048,
  async run(data) {
    checkJmapResult(await engine().handle(ALICE, { body: new Uint8Array(data), contentType: 'application/json' }));
  },
};
