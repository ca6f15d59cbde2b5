/**
 * Identifiers: session ids and queue ids. Queue ids are short, sortable by time and unique per process
 * (like Postfix's long queue ids): base-36 milliseconds plus a random suffix.
 */
import { randomBytes } from 'node:crypto';

export function newId(): string {
  return Date.now().toString(36).toUpperCase().padStart(9, '0') + randomBytes(5).toString('hex').toUpperCase();
}

export function newSessionId(): string {
  return randomBytes(6).toString('base64url');
}
