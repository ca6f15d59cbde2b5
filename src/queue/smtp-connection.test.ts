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

test('transactions on one connection: RSET only after one the server may still hold open', async () => {
  const sink = await startSmtpSink({ rcpt: (address) => (address.startsWith('nobody@') ? '550 5.1.1 no such user' : undefined) });
  try {
    const opened = await SmtpConnection.open({ ip: '127.0.0.1', port: sink.port, hostname: 'sink.test', heloName: 'client.test', tlsMode: 'none' });
    assert.ok(opened.ok);
    const conn = opened.connection;
    const send = (to: string) => conn.send({ reversePath: 'a@x.test', recipients: [{ address: to }], size: 20, needs8bit: false }, Buffer.from(`Subject: ${to}\r\n\r\nhi\r\n`));
    assert.equal((await send('b@y.test')).recipients[0]!.reply.code, 250);
    assert.equal((await send('c@y.test')).recipients[0]!.reply.code, 250);
    // Every RCPT refused: the pipelined DATA is refused too and the server's transaction stays open.
    assert.equal((await send('nobody@y.test')).recipients[0]!.reply.code, 550);
    // The sink answers a MAIL inside an open transaction 503 (RFC 5321 §4.1.4): this one needs the RSET.
    assert.equal((await send('d@y.test')).recipients[0]!.reply.code, 250);
    await conn.close();
    assert.deepEqual(sink.messages.map((m) => m.recipients[0]), ['b@y.test', 'c@y.test', 'd@y.test']);
    assert.deepEqual(sink.sessions[0]!.filter((l) => /^(MAIL|RSET|DATA)/.test(l)).map((l) => l.split(' ')[0]), ['MAIL', 'DATA', 'MAIL', 'DATA', 'MAIL', 'DATA', 'RSET', 'MAIL', 'DATA']);
  } finally {
    await sink.stop();
  }
});
