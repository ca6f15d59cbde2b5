/**
 * Every fuzz target by name. A loader resolves to null while the module it exercises has not
 * landed (the harness file is ready; the target switches on by itself once the module exists).
 */
import type { TargetLoader } from '../engine/target.ts';

export const TARGETS: Record<string, TargetLoader> = {
  pop3: async () => (await import('./pop3.ts')).pop3Target,
  mime: async () => (await import('./mime.ts')).mimeTarget,
  address: async () => (await import('./address.ts')).addressTarget,
  bounce: async () => (await import('./bounce.ts')).bounceTarget,
  'smtp-reply': async () => (await import('./smtp-reply.ts')).smtpReplyTarget,
  verp: async () => (await import('./verp.ts')).verpTarget,
  'imap-parser': async () => (await import('./imap-parser.ts')).imapParserTarget,
  'imap-session': async () => (await import('./imap-session.ts')).imapSessionTarget,
  'smtp-session': async () => (await import('./smtp-session.ts')).loadSmtpSessionTarget(),
  jmap: async () => (await import('./jmap.ts')).jmapTarget,
};
