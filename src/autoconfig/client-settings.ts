/**
 * What a mail client needs to reach this server (host name, port and TLS mode of each mail service), worked
 * out once from `[listen]` for every way of configuring clients: Thunderbird autoconfig, Outlook
 * autodiscover and Apple configuration profiles. Implicit TLS comes first where both are offered (RFC 8314 §3.3).
 */
import type { Config } from '../config/schema.ts';
import { parseDomain } from '../admin/validate.ts';
import { splitAddress } from '../delivery/recipients.ts';

export type MailService = 'imap' | 'pop3' | 'smtp';

export interface ServerEndpoint {
  service: MailService;
  hostname: string;
  port: number;
  /** 'tls': TLS from the first byte (RFC 8314); 'starttls': upgraded on the plain port. */
  security: 'tls' | 'starttls';
}

export interface ClientSettings {
  hostname: string;
  /** Incoming servers, IMAP before POP3, the preferred one of each first. */
  incoming: ServerEndpoint[];
  /** Submission servers, the preferred one first. */
  outgoing: ServerEndpoint[];
}

type MailListener = 'imap' | 'imaps' | 'pop3' | 'pop3s' | 'submission' | 'submissions';

/** `bound`: the ports the listeners actually got (they differ from the config only for port 0). */
export function clientSettings(config: Pick<Config, 'hostname' | 'listen'>, bound: Partial<Record<MailListener, number | null>> = {}): ClientSettings {
  const hostname = config.hostname;
  const endpoint = (service: MailService, role: MailListener, security: ServerEndpoint['security']): ServerEndpoint[] => {
    const listener = config.listen[role];
    if (!listener) return [];
    return [{ service, hostname, port: bound[role] || listener.port, security }];
  };
  return {
    hostname,
    incoming: [...endpoint('imap', 'imaps', 'tls'), ...endpoint('imap', 'imap', 'starttls'), ...endpoint('pop3', 'pop3s', 'tls'), ...endpoint('pop3', 'pop3', 'starttls')],
    outgoing: [...endpoint('smtp', 'submissions', 'tls'), ...endpoint('smtp', 'submission', 'starttls')],
  };
}

/** The domain part of an address in the form the store keeps (lower-case A-label); null when it is not an address. */
export function domainOfAddress(address: string): string | null {
  const { local, domain } = splitAddress(address);
  if (!local || !domain) return null;
  try {
    return parseDomain(domain);
  } catch {
    return null;
  }
}

/** XML character data and attribute values (XML 1.0 §2.4, §3.3.3). */
export function xmlText(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
