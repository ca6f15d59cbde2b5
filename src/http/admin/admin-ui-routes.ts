/**
 * Serves the admin UI's built files (dist/ui/admin, made by scripts/build-ui.mjs from ui/admin) at /admin/
 * under a strict CSP: scripts, styles and connections only to this origin, no inline script or style,
 * nothing framed. The UI routes by URL fragment, so these few paths are all the server serves.
 */
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
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
const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export function adminUiRoutes(options: { dir: URL }): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>({ strict: true });
  for (const [path, file] of Object.entries(FILES)) {
    app.get(path, async (c) => {
      let data: Buffer;
      try {
        data = await readFile(new URL(file, options.dir));
      } catch {
        c.var.log.reason = 'admin-ui-not-built';
        return c.text('The admin UI is not built: run `npm install` (or `npm run build:ui`).', 503, { 'Content-Security-Policy': ADMIN_CSP });
      }
      return c.body(new Uint8Array(data), 200, { 'Content-Type': TYPES[file]!, 'Content-Security-Policy': ADMIN_CSP, 'Cache-Control': 'no-cache' });
    });
  }
  return app;
}
