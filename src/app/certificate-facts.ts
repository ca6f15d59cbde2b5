/**
 * The names and expiry of the certificate the listeners serve, for the admin dashboard.
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateFacts } from '../admin/dashboard.ts';

export function certificateFacts(pem: string, now: Date = new Date()): CertificateFacts[] {
  if (!pem) return [];
  try {
    const cert = new X509Certificate(pem);
    const validTo = new Date(cert.validTo);
    const names = (cert.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^DNS:/, '')).filter(Boolean);
    return [{ names, validTo, daysLeft: Math.floor((validTo.getTime() - now.getTime()) / 86_400_000) }];
  } catch {
    return [];
  }
}
