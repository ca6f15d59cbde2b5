#!/usr/bin/env node
// Bundles the webmail (ui/webmail) into dist/ui and the admin UI (ui/admin) into dist/ui/admin with esbuild:
// run by `npm install` (prepare), `npm start` and `npm test`. Prints each first-load JavaScript size
// compressed (gzip and brotli) and fails above 150 KB.
import { mkdirSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const LIMIT = 150 * 1024;

for (const [name, src, out] of [['webmail', join(root, 'ui', 'webmail'), join(root, 'dist', 'ui')], ['admin UI', join(root, 'ui', 'admin'), join(root, 'dist', 'ui', 'admin')]]) {
  await bundle(name, src, out);
}

async function bundle(name, src, out) {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(src, 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(src, 'app.css'), join(out, 'app.css'));
  // Compressed copies beside each file: the server sends the one the browser accepts, with no work per request.
  for (const file of ['app.js', 'app.css']) {
    const data = readFileSync(join(out, file));
    writeFileSync(join(out, `${file}.gz`), gzipSync(data, { level: 9 }));
    writeFileSync(join(out, `${file}.br`), brotliCompressSync(data));
  }
  const js = readFileSync(join(out, 'app.js'));
  const gz = readFileSync(join(out, 'app.js.gz')).length;
  const br = readFileSync(join(out, 'app.js.br')).length;
  const kb = (n) => (n / 1024).toFixed(1) + ' KB';
  console.log(`${name} built in ${out.slice(root.length)}: first-load JavaScript ${kb(js.length)} raw, ${kb(gz)} gzip, ${kb(br)} brotli (limit ${kb(LIMIT)} compressed)`);
  if (gz > LIMIT) {
    console.error(`the ${name} bundle is over the first-load limit`);
    process.exit(1);
  }
}
