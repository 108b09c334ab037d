// Checks that php/ keeps its layers (README "php/ in layers"): every `#include "..."` of a file
// in php/ points to its own layer or a lower one (embed -> server -> async -> runtime -> bridge),
// names a file that exists, and the includes form no cycle. addon/ includes only the bridge.
// Also: no C file in php/ over 500 lines. Prints every violation and exits 1, else prints
// "php layers: ok" and exits 0. Used by test/php-layers.test.ts; run it by hand with
// `node scripts/check-php-layers.mjs [root]`.
import fs from 'node:fs';
import path from 'node:path';

const RANK = { 'phpa_bridge.h': 0, runtime: 1, async: 2, server: 3, embed: 4 };
const MAX_C_LINES = 500;

function layerOf(rel) {
  const first = rel.split('/')[0];
  return first in RANK ? first : null;
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(c|h|cc)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The quoted includes of a source file, with their line numbers. */
export function includesOf(src) {
  const out = [];
  src.split('\n').forEach((line, i) => {
    const m = /^\s*#\s*include\s+"([^"]+)"/.exec(line);
    if (m) out.push({ target: m[1], line: i + 1 });
  });
  return out;
}

export function checkLayers(root) {
  const php = path.join(root, 'php');
  const problems = [];
  const graph = new Map();
  for (const file of walk(php)) {
    const rel = path.relative(php, file).split(path.sep).join('/');
    const layer = layerOf(rel);
    if (layer === null) {
      problems.push(`php/${rel}: not in a layer (runtime/, async/, server/, embed/, or phpa_bridge.h)`);
      continue;
    }
    const src = fs.readFileSync(file, 'utf8');
    if (rel.endsWith('.c') && src.split('\n').length - 1 > MAX_C_LINES) {
      problems.push(`php/${rel}: ${src.split('\n').length - 1} lines, more than ${MAX_C_LINES}: split it by concern`);
    }
    const edges = [];
    for (const { target, line } of includesOf(src)) {
      const tlayer = layerOf(target);
      if (tlayer === null) {
        problems.push(`php/${rel}:${line}: #include "${target}" is not named from php/ (layer/file.h)`);
        continue;
      }
      if (!fs.existsSync(path.join(php, target))) problems.push(`php/${rel}:${line}: #include "${target}": no such file`);
      if (RANK[tlayer] > RANK[layer]) {
        problems.push(`php/${rel}:${line}: #include "${target}" points up (${layer} -> ${tlayer})`);
      }
      edges.push(target);
    }
    graph.set(rel, edges);
  }
  // Cycles: depth-first search over the include graph.
  const state = new Map(); // 1 on the stack, 2 done
  const visit = (node, stack) => {
    if (state.get(node) === 2) return;
    if (state.get(node) === 1) {
      problems.push(`include cycle: ${[...stack.slice(stack.indexOf(node)), node].join(' -> ')}`);
      return;
    }
    state.set(node, 1);
    for (const next of graph.get(node) ?? []) visit(next, [...stack, node]);
    state.set(node, 2);
  };
  for (const node of graph.keys()) visit(node, []);
  // addon/ sees php/ only through the bridge.
  for (const file of walk(path.join(root, 'addon'))) {
    for (const { target, line } of includesOf(fs.readFileSync(file, 'utf8'))) {
      if (target.includes('php/') && target !== '../php/phpa_bridge.h') {
        problems.push(`${path.relative(root, file)}:${line}: #include "${target}": addon/ includes only php/phpa_bridge.h`);
      }
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkLayers(process.argv[2] ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '..'));
  for (const p of problems) console.error(p);
  if (problems.length) process.exit(1);
  console.log('php layers: ok');
}
