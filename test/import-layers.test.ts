// The TypeScript sources import in one direction: no module imports itself back through others,
// and the folders of src/ form layers, each importing only those below it (the CLI on top,
// config at the bottom). Type-only imports are left out: they vanish from the built code.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(__dirname, '../src');

/** Lowest first: a folder may import its own modules and those of folders before it. */
const LAYERS = ['config', 'caddyfile', 'native', 'server', 'supervisor', 'bench', 'cli'];
/** Modules every layer may import: leaves that import nothing of ours. */
const SHARED = new Set(['server/errors.ts']);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Module (relative to src/) → the modules of ours it loads at run time. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of sources(src)) {
    const text = fs.readFileSync(file, 'utf8');
    const deps: string[] = [];
    const statics = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm;
    for (const m of text.matchAll(statics)) if (!m[1]) deps.push(m[2]!);
    for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) deps.push(m[1]!);
    const ours = deps
      .filter((d) => d.startsWith('.'))
      .map((d) => path.relative(src, path.resolve(path.dirname(file), d)).replace(/\.js$/, '.ts'));
    g.set(path.relative(src, file), ours);
  }
  return g;
}

function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of g.get(n) ?? []) {
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of g.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('import layers of src/', () => {
  const g = graph();

  it('reads the imports (the graph is not empty and resolves to files)', () => {
    expect(g.size).toBeGreaterThan(50);
    const missing = [...g.values()].flat().filter((d) => !fs.existsSync(path.join(src, d)));
    expect(missing).toEqual([]);
    expect(g.get('cli/main.ts')).toContain('cli/commands/run.ts');
  });

  it('has no import cycle between modules', () => {
    expect(cycles(g).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('imports only downwards between folders', () => {
    const wrong: string[] = [];
    for (const [from, deps] of g) {
      const a = LAYERS.indexOf(from.split('/')[0]!);
      for (const to of deps) {
        if (SHARED.has(to)) continue;
        const b = LAYERS.indexOf(to.split('/')[0]!);
        if (a < 0 || b < 0 || b > a) wrong.push(`${from} -> ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    const looped = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(cycles(looped)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
