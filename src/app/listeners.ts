/**
 * The protocol roles Postamt listens for, and which engine and TLS mode each uses.
 */
import type { RefusalReason } from '../transport/ip-limits.ts';

export const LISTENER_ROLES = ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s'] as const;
export type ListenerRole = (typeof LISTENER_ROLES)[number];

/** HTTP listeners: the same application on both, `https` with the mail ports' certificates. */
export const HTTP_LISTENER_ROLES = ['http', 'https'] as const;
export type HttpListenerRole = (typeof HTTP_LISTENER_ROLES)[number];

export const IMPLICIT_TLS: Record<ListenerRole, boolean> = {
  smtp: false,
  submission: false,
  submissions: true,
  imap: false,
  imaps: true,
  pop3: false,
  pop3s: true,
};

/** What a refused connection is told, per protocol (RFC 5321 §3.8 421; RFC 9051 BYE; RFC 2449 [SYS/TEMP]). */
export function refusalText(role: ListenerRole, reason: RefusalReason): string {
  const why = reason === 'per-ip' ? 'Too many connections from your address' : reason === 'per-network' ? 'Too many connections from your network' : 'Too many connections';
  if (role.startsWith('imap')) return `* BYE [UNAVAILABLE] ${why}\r\n`;
  if (role.startsWith('pop3')) return `-ERR [SYS/TEMP] ${why}\r\n`;
  return `421 4.7.0 ${why}, try again later\r\n`;
}

export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip === '::ffff:127.0.0.1';
}
