/**
 * A `PolicyResolver` answering from a table, for unit tests and dry runs: unknown names are ENOTFOUND,
 * known names without the type ENODATA, and a name marked `fail` gives ESERVFAIL.
 */
import { ptrName } from './ip-prefix.ts';
import type { PolicyResolver } from './types.ts';

export interface StaticRecordSet {
  A?: string[];
  AAAA?: string[];
  /** One string per record (split into 255-octet strings like a real answer). */
  TXT?: string[];
  MX?: { exchange: string; priority: number }[];
  PTR?: string[];
  CNAME?: string[];
  fail?: boolean;
  /** Answer only after this many milliseconds (to test timeouts). */
  delayMs?: number;
}

/** Keys are names; an IP address key means its in-addr.arpa / ip6.arpa name (for PTR). */
export function staticResolver(records: Record<string, StaticRecordSet>, log: string[] = []): PolicyResolver {
  const table = new Map<string, StaticRecordSet>();
  for (const [name, set] of Object.entries(records)) table.set((ptrName(name) ?? name).toLowerCase().replace(/\.$/, ''), set);
  return {
    async resolve(name: string, rrtype: string): Promise<unknown> {
      const key = name.toLowerCase().replace(/\.$/, '');
      log.push(`${rrtype} ${key}`);
      const set = table.get(key);
      if (set?.delayMs) await new Promise((r) => setTimeout(r, set.delayMs));
      const fail = (code: string) => Object.assign(new Error(`${rrtype} ${name}: ${code}`), { code });
      if (!set) throw fail('ENOTFOUND');
      if (set.fail) throw fail('ESERVFAIL');
      const values = set[rrtype as 'A'];
      if (!values || values.length === 0) throw fail('ENODATA');
      if (rrtype === 'TXT') return (values as string[]).map((v) => v.match(/[\s\S]{1,255}/g) ?? ['']);
      return values;
    },
  };
}
