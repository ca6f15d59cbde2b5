/**
 * What the operator is told about a running server beside its readiness checks (`/readyz` details,
 * `postamt status`, the admin dashboard): the queue's depth and oldest entry, the certificate's expiry,
 * the store's size, and where each listener is bound.
 */
import { X509Certificate } from 'node:crypto';
import type { QueueStats } from '../store/types.ts';

export interface ServerStatus {
  queue: { messages: number; pendingRecipients: number; oldestEntry: string | null; oldestAgeSeconds: number };
  certificate: { subject: string; notAfter: string; daysLeft: number } | null;
  store: { backend: string; databaseBytes: number | null; walBytes: number | null };
  listeners: Record<string, number | null>;
}

export interface StatusSources {
  queueStats(): Promise<QueueStats>;
  /** PEM of the default certificate. */
  certificatePem(): string;
  backend: string;
  storeFileSizes(): { databaseBytes: number; walBytes: number } | null;
  ports(): Record<string, number | null>;
}

export async function serverStatus(sources: StatusSources, now = new Date()): Promise<ServerStatus> {
  const q = await sources.queueStats();
  const files = sources.storeFileSizes();
  return {
    queue: {
      messages: q.messages,
      pendingRecipients: q.pendingRecipients,
      oldestEntry: q.oldestCreatedAt?.toISOString() ?? null,
      oldestAgeSeconds: q.oldestCreatedAt ? Math.max(0, Math.round((now.getTime() - q.oldestCreatedAt.getTime()) / 1000)) : 0,
    },
    certificate: certificateStatus(sources.certificatePem(), now),
    store: { backend: sources.backend, databaseBytes: files?.databaseBytes ?? null, walBytes: files?.walBytes ?? null },
    listeners: sources.ports(),
  };
}

function certificateStatus(pem: string, now: Date): ServerStatus['certificate'] {
  if (!pem) return null;
  try {
    const cert = new X509Certificate(pem);
    const notAfter = new Date(cert.validTo);
    return { subject: cert.subject.replace(/\n/g, ', '), notAfter: notAfter.toISOString(), daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000) };
  } catch {
    return null;
  }
}
