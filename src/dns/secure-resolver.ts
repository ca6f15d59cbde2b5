/**
 * TLSA lookups through one configured validating resolver, trusting its AD bit (RFC 4035 §3.2.3) and
 * nothing else, as Postfix's smtp_dns_support_level = dane does. node:dns neither asks for TLSA nor shows
 * the AD bit, so the query is written and read here (RFC 1035 wire format, EDNS0 from RFC 6891).
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
}

export interface SecureResolver {
  tlsa(name: string): Promise<SecureAnswer<TlsaRecord>>;
}

export interface DnssecResolverOptions {
  /** "ip:port" or "ip" (port 53), "[v6]:port" for IPv6. */
  server: string;
  timeoutMs?: number;
}

const TYPE_TLSA = 52;
const TYPE_OPT = 41;

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

function skipName(msg: Buffer, offset: number): number {
  let pos = offset;
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[pos];
    if (len === undefined) throw new Error('truncated name');
    if ((len & 0xc0) === 0xc0) return pos + 2;
    if (len === 0) return pos + 1;
    pos += 1 + len;
  }
  throw new Error('name too long');
}

export interface ParsedResponse {
  id: number;
  rcode: number;
  authenticated: boolean;
  truncated: boolean;
  answers: { type: number; data: Buffer }[];
}

export function parseResponse(msg: Buffer): ParsedResponse {
  if (msg.length < 12) throw new Error('short DNS response');
  const flags = msg.readUInt16BE(2);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = skipName(msg, pos) + 4;
  const answers: ParsedResponse['answers'] = [];
  for (let i = 0; i < an; i++) {
    pos = skipName(msg, pos);
    if (pos + 10 > msg.length) throw new Error('truncated record');
    const type = msg.readUInt16BE(pos);
    const len = msg.readUInt16BE(pos + 8);
    const data = msg.subarray(pos + 10, pos + 10 + len);
    if (data.length !== len) throw new Error('truncated record data');
    answers.push({ type, data });
    pos += 10 + len;
  }
  return { id: msg.readUInt16BE(0), rcode: flags & 0x000f, authenticated: (flags & 0x0020) !== 0, truncated: (flags & 0x0200) !== 0, answers };
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
    const response = await this.#query(name, TYPE_TLSA);
    // RFC 7671 §4.1 / RFC 7672 §2.2: SERVFAIL and the like mean the TLSA records cannot be known.
    if (response.rcode === 2) throw new DnsError('servfail', name, 'TLSA');
    if (response.rcode === 5) throw new DnsError('refused', name, 'TLSA');
    if (response.rcode !== 0 && response.rcode !== 3) throw new DnsError('servfail', name, 'TLSA', `rcode ${response.rcode}`);
    const records = response.answers
      .filter((a) => a.type === TYPE_TLSA && a.data.length >= 3)
      .map((a) => ({ usage: a.data[0]!, selector: a.data[1]!, matchingType: a.data[2]!, data: Buffer.from(a.data.subarray(3)) }));
    return { records, authenticated: response.authenticated, nxdomain: response.rcode === 3 };
  }

  async #query(name: string, qtype: number): Promise<ParsedResponse> {
    const id = randomBytes(2).readUInt16BE(0);
    const query = buildQuery(id, name, qtype);
    const udp = await this.#udp(query, id, name);
    // RFC 1035 §4.2.1 / RFC 7766 §5: a truncated answer is asked again over TCP.
    return udp.truncated ? this.#tcp(query, id, name) : udp;
  }

  #udp(query: Buffer, id: number, name: string): Promise<ParsedResponse> {
    return new Promise((resolve, reject) => {
      const socket = createSocket(isIPv6(this.#host) ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        socket.close();
        reject(new DnsError('timeout', name, 'TLSA'));
      }, this.#timeoutMs);
      socket.on('error', (err) => {
        clearTimeout(timer);
        socket.close();
        reject(new DnsError('servfail', name, 'TLSA', err.message));
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
        resolve(parsed);
      });
      socket.send(query, this.#port, this.#host);
    });
  }

  #tcp(query: Buffer, id: number, name: string): Promise<ParsedResponse> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.#host, port: this.#port });
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DnsError('timeout', name, 'TLSA'));
      }, this.#timeoutMs);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.on('connect', () => socket.write(Buffer.concat([len, query])));
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(new DnsError('servfail', name, 'TLSA', err.message));
      });
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        clearTimeout(timer);
        socket.destroy();
        try {
          const parsed = parseResponse(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          if (parsed.id !== id) throw new Error('response id mismatch');
          resolve(parsed);
        } catch (err) {
          reject(new DnsError('servfail', name, 'TLSA', (err as Error).message));
        }
      });
    });
  }
}
