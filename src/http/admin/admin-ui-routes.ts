/**
 * Serves the admin UI's built files (dist/ui/admin, compressed as the webmail's) at /admin/ under a strict CSP:
 * scripts, styles and connections only to this origin, no inline script or style, nothing framed. The UI
 * routes by URL fragment, so these few paths are all the server serves.
 */
import { Hono } from 'hono';
import { serveBuiltFiles } from '../built-files.ts';
import type { HttpEnv } from '../context.ts';

export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, string> = {
  '/admin': 'index.html',
  '/admin/': 'index.html',
  '/admin/ui/app.js': 'app.js',
  '/admin/ui/app.css': 'app.css',
};
export function adminUiRoutes(options: { dir: URL }): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>({ strict: true });
  serveBuiltFiles(app, {
    dir: options.dir, files: FILES, csp: ADMIN_CSP,
    notBuilt: { reason: 'admin-ui-not-built', text: 'The admin UI is not built: run `npm install` (or `npm run build:ui`).' },
  });
  return app;
}
