// Mail clients set themselves up: the exact requests Thunderbird, Outlook and an Apple device make, sent with
// curl, and the answers read with independent XML and property-list parsers (Python's), the way the clients
// read them. A client following the answer reaches the real listeners.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import tls from 'node:tls';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { caFile, curl } from '../harness/curl.ts';

const ALICE = 'alice@example.test';
const PASS = 'correct horse battery staple';

/** Thunderbird's clientConfig read with ElementTree: every server with its fields. */
function readThunderbird(xml: string): { id: string; incoming: Record<string, string>[]; outgoing: Record<string, string>[] } {
  const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
assert root.tag == 'clientConfig' and root.get('version') == '1.1'
p = root.find('emailProvider')
def server(e):
    d = {c.tag: c.text for c in e}
    d['type'] = e.get('type')
    return d
print(json.dumps({'id': p.get('id'), 'domains': [d.text for d in p.findall('domain')],
  'incoming': [server(e) for e in p.findall('incomingServer')], 'outgoing': [server(e) for e in p.findall('outgoingServer')]}))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: xml }).toString());
}

/** Outlook's POX answer read with ElementTree in its namespaces. */
function readAutodiscover(xml: string): { protocols: Record<string, string>[]; error: string | null } {
  const script = `
import json, sys, xml.etree.ElementTree as ET
ns = {'a': 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006',
      'o': 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'}
root = ET.fromstring(sys.stdin.buffer.read())
assert root.tag == '{%s}Autodiscover' % ns['a']
protocols = [{c.tag.split('}')[1]: c.text for c in p} for p in root.findall('o:Response/o:Account/o:Protocol', ns)]
err = root.find('a:Response/a:Error/a:ErrorCode', ns)
print(json.dumps({'protocols': protocols, 'error': err.text if err is not None else None}))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: xml }).toString());
}

/** The profile read with plistlib, as macOS reads property lists. */
function readPlist(xml: string): any {
  return JSON.parse(execFileSync('python3', ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], { input: xml }).toString());
}

function outlookRequest(address: string, schema = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>${schema}</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;
}

/** The first line a server sends on a TLS connection to `port`. */
function tlsGreeting(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => undefined);
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('mail client autoconfiguration', () => {
  let t: TestServer;
  let ca: { path: string; remove(): void };
  let https: string;
  let http: string;

  before(async () => {
    t = await startTestServer({ startQueue: false });
    await t.addUser(ALICE, PASS);
    ca = caFile(t.ca);
    https = `https://localhost:${t.ports.https}`;
    http = `http://127.0.0.1:${t.ports.http}`;
  });
  after(async () => {
    await t?.stop();
    ca?.remove();
  });

  it('answers Thunderbird on autoconfig.<domain> with IMAP, POP3 and submission, implicit TLS first', async () => {
    // Thunderbird asks http://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<address> (after https).
    const r = await curl(['-H', 'Host: autoconfig.example.test', `${http}/mail/config-v1.1.xml?emailaddress=alice%40example.test`]);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type']!, /^application\/xml/);
    const config = readThunderbird(r.body);
    assert.equal(config.id, 'example.test');
    assert.deepEqual(config.incoming.map((s) => [s.type, Number(s.port), s.socketType]), [
      ['imap', t.ports.imaps, 'SSL'], ['imap', t.ports.imap, 'STARTTLS'], ['pop3', t.ports.pop3s, 'SSL'], ['pop3', t.ports.pop3, 'STARTTLS'],
    ]);
    assert.deepEqual(config.outgoing.map((s) => [s.type, Number(s.port), s.socketType]), [['smtp', t.ports.submissions, 'SSL'], ['smtp', t.ports.submission, 'STARTTLS']]);
    for (const s of [...config.incoming, ...config.outgoing]) {
      assert.equal(s.hostname, 'mx.postamt.test');
      assert.equal(s.username, '%EMAILADDRESS%');
      assert.equal(s.authentication, 'password-cleartext');
    }
    // The first server in the answer is a real IMAP listener over TLS.
    assert.match(await tlsGreeting(Number(config.incoming[0]!.port), t.ca), /^\* OK/);
  });

  it('answers Thunderbird under /.well-known on the https listener, from the Host alone', async () => {
    const r = await curl(['--cacert', ca.path, '--resolve', `example.test:${t.ports.https}:127.0.0.1`, '-k', `https://example.test:${t.ports.https}/.well-known/autoconfig/mail/config-v1.1.xml`]);
    assert.equal(r.status, 200);
    assert.equal(readThunderbird(r.body).id, 'example.test');
  });

  it('describes no domain it does not host', async () => {
    const r = await curl(['-H', 'Host: autoconfig.elsewhere.test', `${http}/mail/config-v1.1.xml?emailaddress=bob%40elsewhere.test`]);
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.body, /mx\.postamt\.test/);
  });

  it("answers Outlook's POX autodiscover POST with the IMAP and SMTP servers", async () => {
    for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const r = await curl(['--cacert', ca.path, '-X', 'POST', '-H', 'Content-Type: text/xml', '--data-binary', outlookRequest(ALICE), `${https}${path}`]);
      assert.equal(r.status, 200, path);
      const answer = readAutodiscover(r.body);
      assert.equal(answer.error, null);
      assert.deepEqual(answer.protocols.map((p) => [p.Type, p.Server, Number(p.Port), p.SSL, p.LoginName]), [
        ['IMAP', 'mx.postamt.test', t.ports.imaps, 'on', ALICE],
        ['SMTP', 'mx.postamt.test', t.ports.submissions, 'on', ALICE],
      ]);
    }
  });

  it('answers autodiscover errors in the protocol for other schemas and foreign domains', async () => {
    const sync = await curl(['--cacert', ca.path, '-X', 'POST', '--data-binary', outlookRequest(ALICE, 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006'), `${https}/autodiscover/autodiscover.xml`]);
    assert.equal(readAutodiscover(sync.body).error, '601');
    const foreign = await curl(['--cacert', ca.path, '-X', 'POST', '--data-binary', outlookRequest('bob@elsewhere.test'), `${https}/autodiscover/autodiscover.xml`]);
    assert.equal(readAutodiscover(foreign.body).error, '600');
    assert.doesNotMatch(foreign.body, /mx\.postamt\.test/);
    const huge = await curl(['--cacert', ca.path, '-X', 'POST', '--data-binary', 'x'.repeat(100_000), `${https}/autodiscover/autodiscover.xml`]);
    assert.equal(huge.status, 413);
  });

  it('gives a logged-in user an Apple profile for their account, without the password', async () => {
    const anonymous = await curl(['--cacert', ca.path, `${https}/autoconfig/apple.mobileconfig`]);
    assert.equal(anonymous.status, 401);
    const r = await curl(['--cacert', ca.path, '-u', `${ALICE}:${PASS}`, `${https}/autoconfig/apple.mobileconfig`]);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-apple-aspen-config');
    assert.match(r.headers['content-disposition']!, /attachment; filename="mx\.postamt\.test\.mobileconfig"/);
    const profile = readPlist(r.body);
    assert.equal(profile.PayloadType, 'Configuration');
    assert.equal(profile.PayloadContent.length, 1);
    const mail = profile.PayloadContent[0];
    assert.equal(mail.PayloadType, 'com.apple.mail.managed');
    assert.equal(mail.EmailAccountType, 'EmailTypeIMAP');
    assert.equal(mail.EmailAddress, ALICE);
    assert.equal(mail.IncomingMailServerHostName, 'mx.postamt.test');
    assert.equal(mail.IncomingMailServerPortNumber, t.ports.imaps);
    assert.equal(mail.OutgoingMailServerPortNumber, t.ports.submissions);
    assert.equal(mail.IncomingMailServerUseSSL, true);
    assert.equal(mail.IncomingMailServerUsername, ALICE);
    assert.doesNotMatch(r.body, new RegExp(PASS));
    // Downloading it again gives the same UUIDs, so the device replaces the profile instead of adding another.
    const again = readPlist((await curl(['--cacert', ca.path, '-u', `${ALICE}:${PASS}`, `${https}/autoconfig/apple.mobileconfig`])).body);
    assert.equal(again.PayloadUUID, profile.PayloadUUID);
    assert.equal(again.PayloadContent[0].PayloadUUID, mail.PayloadUUID);
  });
});
