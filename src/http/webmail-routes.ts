/**
 * Serves the webmail's built files (dist/ui, made by scripts/build-ui.mjs from ui/webmail at `npm install`)
 * at `/` under the app's strict CSP: scripts and styles only from this origin, no inline script, nothing framed.
 */
import { Hono } from 'hono';
import { serveBuiltFiles } from './built-files.ts';
import type { HttpEnv } from './context.ts';

/**
 * The app's CSP. Mail HTML is shown in a sandboxed srcdoc iframe (no allow-scripts), which inherits this policy
 * and adds a stricter one of its own; inline styles stay allowed because mail HTML is styled inline.
 * Remote images are permitted by this outer policy only so that the user's "show images" can work: the
 * iframe's own policy blocks them until then.
 */
export const WEBMAIL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https: http:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/ui/app.js': 'app.js',
  '/ui/app.css': 'app.css',
};

export function webmailRoutes(options: { dir: URL }): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  serveBuiltFiles(app, {
    dir: options.dir, files: FILES, csp: WEBMAIL_CSP,
    notBuilt: { reason: 'webmail-not-built', text: 'The webmail is not built: run `npm install` (or `npm run build:ui`).' },
  });
  return app;
}
