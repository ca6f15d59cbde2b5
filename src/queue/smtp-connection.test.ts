import { test } from 'node:test';
import assert from 'node:assert/strict';
import selfsigned from 'selfsigned';
import { startSmtpSink } from '../../test/harness/smtp-sink.ts';
import { SmtpConnection } from './smtp-connection.ts';

const pems = selfsigned.generate([{ name: 'commonName', value: 'sink.test' }], { days: 1, keySize: 2048 });

test('STARTTLS then AUTH PLAIN then a delivery, over a real socket', async () => {
  const sink = await startSmtpSink({ tls: { key: pems.private, cert: pems.cert }, auth: { username: 'relay', password: 's3cret' }, features: ['8BITMIME'] });
  try {
    const opened = await SmtpConnection.open({ ip: '127.0.0.1', port: sink.port, hostname: 'sink.test', heloName: 'client.test', tlsMode: 'required', auth: { username: 'relay', password: 's3cret' } });
    assert.ok(opened.ok, opened.ok ? '' : opened.reply.lines.join());
    const conn = opened.connection;
    assert.match(conn.tlsProtocol ?? '', /^TLSv1\.[23]$/);
    const result = await conn.send({ reversePath: 'a@x.test', recipients: [{ address: 'b@y.test' }], size: 20, needs8bit: false }, Buffer.from('Subject: t\r\n\r\nhi\r\n'));
    assert.equal(result.recipients[0]!.reply.code, 250);
    await conn.close();
    assert.equal(sink.messages[0]!.tls, true);
    assert.equal(sink.messages[0]!.authUser, 'relay');
    assert.ok(sink.sessions[0]!.some((l) => l.startsWith('AUTH PLAIN ')));
  } finally {
    await sink.stop();
  }
});

test('a 4xx greeting and a silent server are reported as temporary failures', async () => {
  const busy = await startSmtpSink({ greeting: '421 4.3.2 busy' });
  const silent = await startSmtpSink({ silent: true });
  try {
    const a = await SmtpConnection.open({ ip: '127.0.0.1', port: busy.port, hostname: 'x', heloName: 'c', tlsMode: 'none' });
    assert.ok(!a.ok && a.reply.code === 421 && a.stage === 'greeting');
    const b = await SmtpConnection.open({ ip: '127.0.0.1', port: silent.port, hostname: 'x', heloName: 'c', tlsMode: 'none', timeouts: { greetingMs: 100 } });
    assert.ok(!b.ok && b.reply.enhancedCode === '4.4.2');
  } finally {
    await busy.stop();
    await silent.stop();
  }
});
