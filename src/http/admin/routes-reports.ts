/**
 * Admin API routes for the aggregate reports other servers sent us (TLS-RPT, DMARC): what `postamt tlsrpt
 * report` and `postamt dmarc report` print, filtered to the caller's domains.
 */
import { z } from 'zod';
import { route } from './route.ts';

const address = z.object({ address: z.string().min(3).max(320).optional().describe('The account that receives the reports (server admins; default: the configured address)') });

export const reportRoutes = [
  route({
    method: 'get', path: '/reports/tlsrpt', tag: 'reports', summary: 'TLS-RPT reports received about our domains (RFC 8460): per reporter and policy, successful and failed sessions and why',
    query: address, run: ({ admin, as, query }) => admin.reports.tlsrpt(as, query),
  }),
  route({
    method: 'get', path: '/reports/dmarc', tag: 'reports', summary: 'DMARC aggregate reports received about our domains (RFC 7489 §7.2): who sends in our name and whether it passes',
    query: address, run: ({ admin, as, query }) => admin.reports.dmarc(as, query),
  }),
];
