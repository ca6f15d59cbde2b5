/**
 * Identifiers: session ids and queue ids. Queue ids are short, sortable by time and unique (like
 * Postfix's long queue ids): base-36 milliseconds, a per-process counter and a per-process random tag
 * (so two processes, or a restart within the same millisecond, never collide).
 */
import { randomBytes } from 'node:crypto';

const processTag = randomBytes(3).toString('hex').toUpperCase();
let counter = 0;

export function newId(): string {
  counter = (counter + 1) % 1_679_616; // 36^4
  return Date.now().toString(36).toUpperCase().padStart(9, '0') + counter.toString(36).toUpperCase().padStart(4, '0') + processTag;
}

export function newSessionId(): string {
  counter = (counter + 1) % 1_679_616;
  return `${processTag.toLowerCase()}${Date.now().toString(36)}${counter.toString(36)}`;
}
