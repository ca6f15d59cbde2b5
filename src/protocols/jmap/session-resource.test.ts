import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CORE_CAPABILITY, MAIL_CAPABILITY } from './capabilities.ts';
import { buildSession, checkSessionUrls, expandUrlTemplate } from './session-resource.ts';
import { ALICE, makeEngine } from './testing/memory-backend.ts';

const URLS = {
  apiUrl: 'https://mail.example.org/jmap/api/',
  downloadUrl: 'https://mail.example.org/jmap/download/{accountId}/{blobId}/{name}?type={type}',
  uploadUrl: 'https://mail.example.org/jmap/upload/{accountId}/',
  eventSourceUrl: 'https://mail.example.org/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}',
};

describe('JMAP Session resource (RFC 8620 §2)', () => {
  it('lists capabilities with the Core limits the engine enforces, the accounts, primary accounts, URLs and state', async () => {
    const { engine, backend } = makeEngine({ limits: { maxCallsInRequest: 8 } });
    const session = await buildSession({ engine, backend, identity: ALICE, urls: URLS });
    assert.deepEqual(session.capabilities[CORE_CAPABILITY], {
      maxSizeUpload: 50_000_000,
      maxConcurrentUpload: 4,
      maxSizeRequest: 10_000_000,
      maxConcurrentRequests: 4,
      maxCallsInRequest: 8,
      maxObjectsInGet: 500,
      maxObjectsInSet: 500,
      collationAlgorithms: ['i;ascii-numeric', 'i;ascii-casemap', 'i;unicode-casemap'],
    });
    assert.deepEqual(session.capabilities[MAIL_CAPABILITY], {});
    assert.deepEqual(Object.keys(session.accounts), ['A1', 'S1', 'N1']);
    assert.equal(session.accounts.S1!.isReadOnly, true);
    assert.deepEqual(session.primaryAccounts, { [CORE_CAPABILITY]: 'A1', [MAIL_CAPABILITY]: 'A1' });
    assert.equal(session.username, 'alice@example.org');
    assert.equal(session.apiUrl, URLS.apiUrl);
    assert.equal(session.downloadUrl, URLS.downloadUrl);
    assert.equal(session.state, 'session-1');
    // A client can JSON round-trip it without surprises, and changing it changes nothing in the engine.
    (session.capabilities[CORE_CAPABILITY] as Record<string, unknown>).maxCallsInRequest = 99;
    assert.equal(engine.capabilities[CORE_CAPABILITY]!.maxCallsInRequest, 8);
  });

  it('leaves out primary accounts for capabilities or accounts that are not in the session', async () => {
    const { engine, backend } = makeEngine();
    backend.primaryAccountsFor = async () => ({ [MAIL_CAPABILITY]: 'A1', 'urn:example:unknown': 'A1', [CORE_CAPABILITY]: 'gone' });
    const session = await buildSession({ engine, backend, identity: ALICE, urls: URLS });
    assert.deepEqual(session.primaryAccounts, { [MAIL_CAPABILITY]: 'A1' });
  });

  it('refuses URL templates missing a variable the RFC requires', () => {
    checkSessionUrls(URLS);
    assert.throws(() => checkSessionUrls({ ...URLS, downloadUrl: 'https://x/{accountId}/{blobId}/{name}' }), /downloadUrl must contain \{type\}/);
    assert.throws(() => checkSessionUrls({ ...URLS, uploadUrl: 'https://x/upload/' }), /uploadUrl must contain \{accountId\}/);
    assert.throws(() => checkSessionUrls({ ...URLS, eventSourceUrl: 'https://x/?types={types}' }), /\{closeafter\}/);
  });

  it('expands templates with every value percent-encoded (RFC 6570 simple expansion)', () => {
    assert.equal(
      expandUrlTemplate(URLS.downloadUrl, { accountId: 'A1', blobId: 'B-2_x', name: 'my file (1)!.pdf', type: 'application/pdf' }),
      'https://mail.example.org/jmap/download/A1/B-2_x/my%20file%20%281%29%21.pdf?type=application%2Fpdf',
    );
  });
});
