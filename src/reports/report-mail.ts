/**
 * The mail that carries an aggregate report (TLS-RPT, RFC 8460 §5.3; DMARC, RFC 7489 §7.2.1.1): a short
 * text part and the gzip-compressed report as an attachment, queued for the report address like any mail.
 */
import { randomBytes } from 'node:crypto';
import { formatDate, newMessageId } from '../message/compose.ts';
import type { QueueStore } from '../store/types.ts';
import type { ReportSigner } from './report-signer.ts';

export interface ReportMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** RFC 8460 §5.3: multipart/report; report-type="tlsrpt" (null: multipart/mixed, as DMARC reports are sent). */
  reportType: string | null;
  /** Extra header fields, e.g. TLS-Report-Domain. */
  headers: [string, string][];
  attachment: { contentType: string; filename: string; data: Buffer };
  now: Date;
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

export function buildReportMail(m: ReportMail): Buffer {
  const boundary = `=_report_${randomBytes(12).toString('hex')}`;
  const fromDomain = m.from.slice(m.from.lastIndexOf('@') + 1);
  const type = m.reportType ? `multipart/report; report-type="${m.reportType}"; boundary="${boundary}"` : `multipart/mixed; boundary="${boundary}"`;
  const lines = [
    `From: <${m.from}>`,
    `To: <${m.to}>`,
    `Subject: ${m.subject}`,
    `Date: ${formatDate(m.now)}`,
    `Message-ID: ${newMessageId(fromDomain)}`,
    ...m.headers.map(([n, v]) => `${n}: ${v}`),
    'MIME-Version: 1.0',
    `Content-Type: ${type}`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    m.text,
    '',
    `--${boundary}`,
    `Content-Type: ${m.attachment.contentType}`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${m.attachment.filename}"`,
    '',
    base64Lines(m.attachment.data),
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

/**
 * Queues the report, DKIM-signed when a signer is given; the envelope sender is null (<>) so that no bounce of a
 * report loops back (RFC 5321 §6.1).
 */
export async function queueReport(options: { store: Pick<QueueStore, 'enqueue'>; signer: ReportSigner | null }, m: ReportMail, origin: string): Promise<string> {
  const message = buildReportMail(m);
  const signed = options.signer ? await options.signer.sign(message, m.from) : message;
  return options.store.enqueue({ sender: '', recipients: [{ address: m.to }], origin }, signed);
}
