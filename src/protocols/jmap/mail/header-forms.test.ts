import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asAddresses, asDate, asMessageIds, asText, asURLs, parseHeaderProperty } from './header-forms.ts';
import { flagToKeyword, isValidKeyword, keywordToFlag } from './keywords.ts';

describe('header forms (RFC 8621 §4.1.2)', () => {
  it('parses header:Name[:asForm][:all] and refuses forms a known field does not allow', () => {
    assert.deepEqual(parseHeaderProperty('header:X-Thing'), { name: 'X-Thing', form: 'Raw', all: false });
    assert.deepEqual(parseHeaderProperty('header:From:asAddresses:all'), { name: 'From', form: 'Addresses', all: true });
    assert.equal(parseHeaderProperty('header:From:asDate'), null);
    assert.equal(parseHeaderProperty('header:Subject:asAddresses'), null);
    assert.equal(parseHeaderProperty('header:X:all:asText'), null, 'the form comes before :all');
    assert.equal(parseHeaderProperty('header:Bad Name'), null);
  });
  it('decodes Text, Addresses, MessageIds, Date and URLs', () => {
    assert.equal(asText(' =?UTF-8?B?R3LDvMOfZQ==?=\r\n more '), 'Grüße more');
    assert.deepEqual(asAddresses(' "Doe, Jane" <jane@x.test>, g: a@x.test;'), [{ name: 'Doe, Jane', email: 'jane@x.test' }, { name: null, email: 'a@x.test' }]);
    assert.deepEqual(asMessageIds(' <a@x> <b@y>'), ['a@x', 'b@y']);
    assert.equal(asMessageIds(' nothing here'), null);
    assert.equal(asDate(' Tue, 2 Jan 2024 10:00:00 +0100 (CET)'), '2024-01-02T09:00:00Z');
    assert.equal(asDate(' yesterday'), null);
    assert.deepEqual(asURLs(' <mailto:l@x?subject=help>, <https://x/l>'), ['mailto:l@x?subject=help', 'https://x/l']);
  });
});

describe('keywords (RFC 8621 §4.1.1)', () => {
  it('maps the four system flags both ways and keeps other keywords lower-case', () => {
    assert.equal(keywordToFlag('$Seen'), '\\Seen');
    assert.equal(keywordToFlag('$Junk'), '$junk');
    assert.equal(flagToKeyword('\\Answered'), '$answered');
    assert.equal(flagToKeyword('\\Deleted'), null);
    assert.equal(isValidKeyword('has space'), false);
    assert.equal(isValidKeyword('a]b'), false);
  });
});
