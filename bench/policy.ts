/**
 * Inbound acceptance rate on the MX port with every policy check on (127.0.0.1 untrusted, SPF/DKIM/DMARC,
 * FCrDNS, HELO, spam score; DNS answered by a loopback server) against the unchecked rate (trusted client).
 * Usage: node --import tsx bench/policy.ts [messages=400] [concurrency=16]
 */
import { NodeResolver } from '../src/dns/node-resolver.ts';
import { startDnsServer } from '../test/harness/dns-server.ts';
import { sendRaw } from '../test/harness/smtp-raw.ts';
import { startTestServer } from '../test/harness/server.ts';

const total = Number(process.argv[2] ?? 400);
const concurrency = Number(process.argv[3] ?? 16);
const RCPT = 'bob@example.test';
const DATA = `From: <a@sender.test>\r\nTo: <${RCPT}>\r\nSubject: bench\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <bench@client.test>\r\n\r\n${'Some body text for the benchmark.\r\n'.repeat(60)}`;

async function measure(trusted: boolean): Promise<number> {
  const dns = await startDnsServer({
    '127.0.0.1': { PTR: ['client.test'] },
    'client.test': { A: ['127.0.0.1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    'sender.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    '_dmarc.sender.test': { TXT: ['v=DMARC1; p=none'] },
  });
  const policy = trusted ? {} : { trustedNetworks: [], rateConnectionsPerIp: 0, rateConnectionsPerNetwork: 0, rateMessagesPerIp: 0, rateMessagesPerNetwork: 0 };
  const t = await startTestServer({ dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }), config: { policy, limits: { connectionsPerIp: 1000 } } });
  await t.addUser(RCPT, 'pw');
  let next = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < total) {
      const reply = await sendRaw(t.ports.smtp, { from: 'a@sender.test', to: [RCPT], data: DATA, helo: 'client.test' });
      if (reply.code !== 250) failed++;
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await t.stop();
  await dns.stop();
  if (failed) throw new Error(`${failed} messages refused (${trusted ? 'trusted' : 'checked'})`);
  return total / seconds;
}

const unchecked = await measure(true);
const checked = await measure(false);
const ratio = checked / unchecked;
console.log(JSON.stringify({ messages: total, concurrency, uncheckedPerSecond: Math.round(unchecked), checkedPerSecond: Math.round(checked), ratio: Number(ratio.toFixed(2)), goal: '>= 0.5', ok: ratio >= 0.5 }));
process.exit(ratio >= 0.5 ? 0 : 1);
