/**
 * DANE's lookups (MX, A/AAAA with their CNAME chain, TLSA) through one configured validating resolver, trusting
 * its AD bit (RFC 4035 §3.2.3) and nothing else, as Postfix's smtp_dns_support_level = dane does. node:dns
 * neither asks for TLSA nor shows the AD bit, so queries are written and read here (RFC 1035, EDNS0 RFC 6891).
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import { DnsError, normalizeDnsName } from './resolver.ts';

export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  /** The certificate association data. */
  data: Buffer;
}

export interface SecureAnswer<T> {
  records: T[];
  /** The resolver set AD: it validated the answer (or the denial) with DNSSEC. */
  authenticated: boolean;
  /** NXDOMAIN (records is empty). */
  nxdomain: boolean;
  /** The smallest TTL in the answer section (CNAMEs included); absent for an empty answer. */
  ttlSeconds?: number;
}

export interface SecureMx {
  exchange: string;
  priority: number;
}

export interface SecureAddresses extends SecureAnswer<string> {
  /** The name the addresses belong to: `name` itself, or the end of its CNAME chain (RFC 7672 §2.2.2). */
  finalName: string;
}

export interface SecureResolver {
  tlsa(name: string): Promise<SecureAnswer<TlsaRecord>>;
  mx(name: string): Promise<SecureAnswer<SecureMx>>;
  addresses(name: string, family: 4 | 6): Promise<SecureAddresses>;
}

export interface DnssecResolverOptions {
  /** "ip:port" or "ip" (port 53), "[v6]:port" for IPv6. */
  server: string;
  timeoutMs?: number;
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_MX = 15;
const TYPE_AAAA = 28;
const TYPE_TLSA = 52;
const TYPE_OPT = 41;
const TYPE_NAMES: Record<number, string> = { [TYPE_A]: 'A', [TYPE_MX]: 'MX', [TYPE_AAAA]: 'AAAA', [TYPE_TLSA]: 'TLSA' };

export function parseServer(server: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : 53 };
  if (isIPv6(server)) return { host: server, port: 53 };
  const [host, port] = server.split(':');
  return { host: host!, port: port ? Number(port) : 53 };
}

function encodeName(name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0).map((l) => Buffer.from(l, 'ascii'));
  return Buffer.concat([...labels.flatMap((b) => [Buffer.from([b.length]), b]), Buffer.from([0])]);
}

export function buildQuery(id: number, name: string, qtype: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // RD=1; RFC 6840 §5.7: AD=1 in the query asks for the AD bit without the signatures (DO stays for caches).
  header.writeUInt16BE(0x0100 | 0x0020, 2);
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2);
  // RFC 6891 §6.1.2: OPT with a 1232-octet payload; RFC 3225 §3: DO=1.
  const opt = Buffer.from([0, 0, TYPE_OPT, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
  return Buffer.concat([header, encodeName(name), question, opt]);
}

/** A domain name at `offset`, following compression pointers (RFC 1035 §4.1.4); `next` is past it in place. */
export function readName(msg: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[pos];
    if (len === undefined) throw new Error('truncated name');
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new Error('truncated name');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1]!;
      continue;
    }
    if (len === 0) return { name: labels.join('.').toLowerCase(), next: next < 0 ? pos + 1 : next };
    labels.push(msg.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
  }
  throw new Error('name too long');
}

export interface ParsedResponse {
  id: number;
  rcode: number;
  authenticated: boolean;
  truncated: boolean;
  /** `offset` of the record data in the message, for names inside it that are compressed. */
  answers: { owner: string; type: number; ttl: number; data: Buffer; offset: number }[];
}

export function parseResponse(msg: Buffer): ParsedResponse {
  if (msg.length < 12) throw new Error('short DNS response');
  const flags = msg.readUInt16BE(2);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = readName(msg, pos).next + 4;
  const answers: ParsedResponse['answers'] = [];
  for (let i = 0; i < an; i++) {
    const owner = readName(msg, pos);
    pos = owner.next;
    if (pos + 10 > msg.length) throw new Error('truncated record');
    const type = msg.readUInt16BE(pos);
    const len = msg.readUInt16BE(pos + 8);
    const data = msg.subarray(pos + 10, pos + 10 + len);
    if (data.length !== len) throw new Error('truncated record data');
    answers.push({ owner: owner.name, type, ttl: msg.readUInt32BE(pos + 4), data, offset: pos + 10 });
    pos += 10 + len;
  }
  return { id: msg.readUInt16BE(0), rcode: flags & 0x000f, authenticated: (flags & 0x0020) !== 0, truncated: (flags & 0x0200) !== 0, answers };
}

/**
 * The records of `qtype` for `name` and the CNAME chain that led to them (RFC 1034 §3.6.2): the chain is
 * walked from `name` through the answer section, so records of unrelated owners are ignored.
 */
function chainAnswers(msg: Buffer, response: ParsedResponse, name: string, qtype: number): { finalName: string; records: ParsedResponse['answers'] } {
  let owner = name;
  for (let hops = 0; hops < 16; hops++) {
    const cname = response.answers.find((a) => a.type === TYPE_CNAME && a.owner === owner);
    if (!cname || qtype === TYPE_CNAME) break;
    owner = readName(msg, cname.offset).name;
  }
  return { finalName: owner, records: response.answers.filter((a) => a.type === qtype && a.owner === owner) };
}

function ipv6Text(data: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(data.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** RFC 2181 §5.2: the records of one answer are cached for the shortest TTL among them. */
function answerTtl(response: ParsedResponse): { ttlSeconds?: number } {
  if (response.answers.length === 0) return {};
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  return { ttlSeconds: Math.min(...response.answers.map((a) => (a.ttl > 0x7fffffff ? 0 : a.ttl))) };
}

export class DnssecResolver implements SecureResolver {
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;

  constructor(options: DnssecResolverOptions) {
    const { host, port } = parseServer(options.server);
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  async tlsa(rawName: string): Promise<SecureAnswer<TlsaRecord>> {
    const name = normalizeDnsName(rawName);
    const { response, records } = await this.#lookup(name, TYPE_TLSA);
    const tlsa = records.filter((a) => a.data.length >= 3).map((a) => ({ usage: a.data[0]!, selector: a.data[1]!, matchingType: a.data[2]!, data: Buffer.from(a.data.subarray(3)) }));
    return { records: tlsa, authenticated: response.authenticated, nxdomain: response.rcode === 3, ...answerTtl(response) };
  }

  async mx(rawName: string): Promise<SecureAnswer<SecureMx>> {
    const name = normalizeDnsName(rawName);
    const { response, records, msg } = await this.#lookup(name, TYPE_MX);
    const mx = records.filter((a) => a.data.length >= 3).map((a) => ({ priority: a.data.readUInt16BE(0), exchange: readName(msg, a.offset + 2).name }));
    return { records: mx, authenticated: response.authenticated, nxdomain: response.rcode === 3, ...answerTtl(response) };
  }

  async addresses(rawName: string, family: 4 | 6): Promise<SecureAddresses> {
    const name = normalizeDnsName(rawName);
    const qtype = family === 4 ? TYPE_A : TYPE_AAAA;
    const { response, records, finalName } = await this.#lookup(name, qtype);
    const addresses = records
      .filter((a) => a.data.length === (family === 4 ? 4 : 16))
      .map((a) => (family === 4 ? [...a.data].join('.') : ipv6Text(a.data)));
    return { records: addresses, authenticated: response.authenticated, nxdomain: response.rcode === 3, finalName, ...answerTtl(response) };
  }

  async #lookup(name: string, qtype: number): Promise<{ response: ParsedResponse; records: ParsedResponse['answers']; finalName: string; msg: Buffer }> {
    const type = TYPE_NAMES[qtype] ?? String(qtype);
    const { response, msg } = await this.#query(name, qtype, type);
    // RFC 7671 §4.1 / RFC 7672 §2.2: SERVFAIL (bogus) and the like mean the records cannot be known.
    if (response.rcode === 2) throw new DnsError('servfail', name, type);
    if (response.rcode === 5) throw new DnsError('refused', name, type);
    if (response.rcode !== 0 && response.rcode !== 3) throw new DnsError('servfail', name, type, `rcode ${response.rcode}`);
    return { response, msg, ...chainAnswers(msg, response, name, qtype) };
  }

  async #query(name: string, qtype: number, type: string): Promise<{ response: ParsedResponse; msg: Buffer }> {
    const id = randomBytes(2).readUInt16BE(0);
    const query = buildQuery(id, name, qtype);
    const udp = await this.#udp(query, id, name, type);
    // RFC 1035 §4.2.1 / RFC 7766 §5: a truncated answer is asked again over TCP.
    return udp.response.truncated ? this.#tcp(query, id, name, type) : udp;
  }

  #udp(query: Buffer, id: number, name: string, type: string): Promise<{ response: ParsedResponse; msg: Buffer }> {
    return new Promise((resolve, reject) => {
      const socket = createSocket(isIPv6(this.#host) ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        socket.close();
        reject(new DnsError('timeout', name, type));
      }, this.#timeoutMs);
      socket.on('error', (err) => {
        clearTimeout(timer);
        socket.close();
        reject(new DnsError('servfail', name, type, err.message));
      });
      socket.on('message', (msg, rinfo) => {
        // Only the configured resolver is believed (the AD bit is worth nothing from anyone else).
        if (rinfo.port !== this.#port) return;
        let parsed: ParsedResponse;
        try {
          parsed = parseResponse(msg);
        } catch {
          return;
        }
        if (parsed.id !== id) return;
        clearTimeout(timer);
        socket.close();
        resolve({ response: parsed, msg });
      });
      socket.send(query, this.#port, this.#host);
    });
  }

  #tcp(query: Buffer, id: number, name: string, type: string): Promise<{ response: ParsedResponse; msg: Buffer }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.#host, port: this.#port });
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DnsError('timeout', name, type));
      }, this.#timeoutMs);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.on('connect', () => socket.write(Buffer.concat([len, query])));
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(new DnsError('servfail', name, type, err.message));
      });
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        clearTimeout(timer);
        socket.destroy();
        try {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          const parsed = parseResponse(msg);
          if (parsed.id !== id) throw new Error('response id mismatch');
          resolve({ response: parsed, msg });
        } catch (err) {
          reject(new DnsError('servfail', name, type, (err as Error).message));
        }
      });
    });
  }
}
