/**
 * A tiny authoritative DNS server on loopback for tests (UDP, RFC 1035 wire format written by hand):
 * answers MX/A/AAAA/TXT/PTR/CNAME/TLSA from a records table (following CNAMEs as a recursive resolver does),
 * NXDOMAIN for unknown names, NODATA for known names; a record set marked AD is answered with the AD bit, as a
 * validating resolver does for a DNSSEC-signed zone (a secure denial of existence is a set marked AD without records).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { reverseName } from '../../src/dns/resolver.ts';

export interface DnsRecordSet {
  MX?: { preference: number; exchange: string }[];
  A?: string[];
  AAAA?: string[];
  /** A string is one TXT record (split into 255-octet strings on the wire); an array gives the strings. */
  TXT?: (string | string[])[];
  PTR?: string[];
  CNAME?: string;
  /** TLSA records (RFC 6698 §2.1); `data` as hex or bytes. */
  TLSA?: { usage: number; selector: number; matchingType: number; data: string | Buffer }[];
  /** Set the AD bit on answers for this name (a validated answer, RFC 4035 §3.2.3). */
  AD?: boolean;
  /** Answer SERVFAIL for this name. */
  SERVFAIL?: boolean;
  /** Never answer (the client times out). */
  DROP?: boolean;
  ttl?: number;
}

/** Keys are names (case-insensitive, trailing dot optional); for PTR use the reverse name or the IP. */
export type DnsRecords = Record<string, DnsRecordSet>;

export interface DnsServerHandle {
  port: number;
  address: string;
  /** `${address}:${port}` for NodeResolver({ servers: [...] }) and dns.setServers. */
  server: string;
  setRecords(records: DnsRecords): void;
  /** Questions received, e.g. 'MX example.test'. */
  queries: string[];
  stop(): Promise<void>;
}

const TYPES: Record<number, keyof DnsRecordSet> = { 1: 'A', 5: 'CNAME', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 52: 'TLSA' };

function normalizeRecords(records: DnsRecords): Map<string, DnsRecordSet> {
  const out = new Map<string, DnsRecordSet>();
  for (const [name, set] of Object.entries(records)) {
    const key = isIPv4(name) || isIPv6(name) ? reverseName(name) : name.toLowerCase().replace(/\.$/, '');
    out.set(key, set);
  }
  return out;
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const parts = labels.map((l) => {
    const b = Buffer.from(l, 'utf8');
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function readName(msg: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[pos];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return { name: labels.join('.'), next: pos + 1 };
    if ((len & 0xc0) !== 0) throw new Error('compression in question');
    labels.push(msg.subarray(pos + 1, pos + 1 + len).toString('utf8'));
    pos += 1 + len;
  }
  throw new Error('name too long');
}

function rdata(type: keyof DnsRecordSet, value: unknown): Buffer {
  switch (type) {
    case 'A':
      return Buffer.from((value as string).split('.').map(Number));
    case 'AAAA':
      return Buffer.from(reverseName(value as string).replace(/\.ip6\.arpa$/, '').split('.').reverse().join(''), 'hex');
    case 'MX': {
      const mx = value as { preference: number; exchange: string };
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(mx.preference);
      return Buffer.concat([pref, encodeName(mx.exchange)]);
    }
    case 'TXT': {
      const v = value as string | string[];
      const strings: Buffer[] = [];
      if (Array.isArray(v)) strings.push(...v.map((s) => Buffer.from(s, 'utf8')));
      else {
        const b = Buffer.from(v, 'utf8');
        for (let i = 0; i < b.length || i === 0; i += 255) strings.push(b.subarray(i, i + 255));
      }
      return Buffer.concat(strings.flatMap((s) => [Buffer.from([s.length]), s]));
    }
    case 'TLSA': {
      const t = value as { usage: number; selector: number; matchingType: number; data: string | Buffer };
      return Buffer.concat([Buffer.from([t.usage, t.selector, t.matchingType]), typeof t.data === 'string' ? Buffer.from(t.data, 'hex') : t.data]);
    }
    case 'PTR':
    case 'CNAME':
      return encodeName(value as string);
    default:
      return Buffer.alloc(0);
  }
}

function resourceRecord(owner: string, rrtype: number, ttl: number, data: Buffer): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(rrtype, 0);
  head.writeUInt16BE(1, 2);
  head.writeUInt32BE(ttl, 4);
  head.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(owner), head, data]);
}

function answer(query: Buffer, records: Map<string, DnsRecordSet>): Buffer | null {
  if (query.length < 12) return null;
  const id = query.readUInt16BE(0);
  const flags = query.readUInt16BE(2);
  if (flags & 0x8000) return null; // a response, not a query
  const { name, next } = readName(query, 12);
  const qtype = query.readUInt16BE(next);
  const question = query.subarray(12, next + 4);
  let owner = name.toLowerCase();
  let set = records.get(owner);
  if (set?.DROP) return null;
  let rcode = 0;
  let ad = set?.AD === true;
  const answers: Buffer[] = [];
  // A recursive resolver follows a CNAME for other types (RFC 1034 §3.6.2, §4.3.2): the chain goes into the
  // answer section, and the answer is validated (AD) only when every set along the chain is.
  for (let hops = 0; set?.CNAME && qtype !== 5 && hops < 8; hops++) {
    answers.push(resourceRecord(owner, 5, set.ttl ?? 300, encodeName(set.CNAME)));
    owner = set.CNAME.toLowerCase().replace(/\.$/, '');
    set = records.get(owner);
    if (set?.DROP) return null;
    ad = ad && set?.AD === true;
  }
  if (!set) rcode = 3;
  else if (set.SERVFAIL) rcode = 2;
  else {
    const type = TYPES[qtype];
    const ttl = set.ttl ?? 300;
    const values: unknown[] = type === 'CNAME' ? (set.CNAME ? [set.CNAME] : []) : type ? ((set[type] as unknown[] | undefined) ?? []) : [];
    for (const v of values) answers.push(resourceRecord(owner, qtype, ttl, rdata(type!, v)));
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // QR=1, opcode copied, AA=1, RD copied, RA=1, AD when the set is marked validated, rcode.
  header.writeUInt16BE(0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | 0x0080 | (ad && rcode !== 2 ? 0x0020 : 0) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}

export async function startDnsServer(records: DnsRecords = {}, options: { host?: string } = {}): Promise<DnsServerHandle> {
  const host = options.host ?? '127.0.0.1';
  let table = normalizeRecords(records);
  const queries: string[] = [];
  const socket: Socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  socket.on('message', (msg, rinfo) => {
    try {
      const q = readName(msg, 12);
      const qtype = msg.readUInt16BE(q.next);
      queries.push(`${TYPES[qtype] ?? qtype} ${q.name.toLowerCase()}`);
      const reply = answer(msg, table);
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    } catch {
      // Malformed query: no answer, like a real server dropping garbage.
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  const { port } = socket.address();
  return {
    port,
    address: host,
    server: isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    setRecords(next) {
      table = normalizeRecords(next);
    },
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
