// ESLint rule: no import cycle among the files under a folder, counting `import type` too.
// import-x/no-cycle skips type-only imports; inside a protocol engine a type cycle still means two
// modules that each need the other's shape, so the folder keeps a strict graph.
import fs from 'node:fs';
import path from 'node:path';

const IMPORT = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]/g;
const cache = new Map();

/** Relative imports of a file (any kind), resolved to absolute paths. */
function importsOf(file) {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return [];
  }
  const hit = cache.get(file);
  if (hit !== undefined && hit.mtimeMs === stat.mtimeMs) return hit.deps;
  const text = fs.readFileSync(file, 'utf8');
  const deps = [...text.matchAll(IMPORT)].map((m) => path.resolve(path.dirname(file), m[1]));
  cache.set(file, { mtimeMs: stat.mtimeMs, deps });
  return deps;
}

/** A path of imports from `start` back to `target` that stays under `root`, or null. */
function pathBack(start, target, root) {
  const seen = new Set([start]);
  const queue = [[start]];
  while (queue.length > 0) {
    const route = queue.shift();
    for (const dep of importsOf(route[route.length - 1])) {
      if (dep === target) return route;
      if (!dep.startsWith(root + path.sep) || seen.has(dep)) continue;
      seen.add(dep);
      queue.push([...route, dep]);
    }
  }
  return null;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import cycles, type-only imports included, among the files under a folder.' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, required: ['root'], additionalProperties: false }],
    messages: { cycle: 'Import cycle (type-only imports count here): {{route}}' },
  },
  create(context) {
    const file = context.physicalFilename;
    const root = path.resolve(context.cwd, context.options[0].root);
    if (!file.startsWith(root + path.sep)) return {};
    const check = (node) => {
      if (node.source === null || node.source === undefined || !String(node.source.value).startsWith('.')) return;
      const dep = path.resolve(path.dirname(file), String(node.source.value));
      if (!dep.startsWith(root + path.sep)) return;
      const route = pathBack(dep, file, root);
      if (route === null) return;
      const rel = (p) => path.relative(root, p);
      context.report({ node, messageId: 'cycle', data: { route: [file, ...route, file].map(rel).join(' → ') } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};
