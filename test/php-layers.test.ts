// php/ keeps its layers (README, "php/ in layers"): includes point down only (embed -> server ->
// async -> runtime -> bridge), no include cycle, no C file over 500 lines, addon/ sees php/ only
// through the bridge. scripts/check-php-layers.mjs does the check; this runs it on the tree and
// shows that it catches an upward include and a cycle.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { checkLayers as check } from '../scripts/check-php-layers.mjs';
import { ROOT, tempDir } from './helpers/server.js';

/** A small tree with one file per layer, each including the layer below. */
function tree(extra: Record<string, string> = {}): string {
  const root = tempDir();
  const files: Record<string, string> = {
    'php/phpa_bridge.h': '',
    'php/runtime/runtime.h': '#include "phpa_bridge.h"\n',
    'php/async/async.h': '#include "runtime/runtime.h"\n',
    'php/server/server.h': '#include "async/async.h"\n',
    'php/embed/embed.h': '#include "server/server.h"\n',
    'php/embed/thread.c': '#include "embed/embed.h"\n',
    'addon/host.cc': '#include "../php/phpa_bridge.h"\n',
    ...extra,
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe('php/ layers', () => {
  it('this tree: every include points down, no cycle, no C file over 500 lines', () => {
    expect(check(ROOT)).toEqual([]);
  });

  it('the check refuses an upward include, naming the file, the line and the layers', () => {
    expect(check(tree())).toEqual([]);
    const root = tree({ 'php/runtime/scheduler.c': '#include "runtime/runtime.h"\n#include "server/server.h"\n' });
    expect(check(root)).toEqual(['php/runtime/scheduler.c:2: #include "server/server.h" points up (runtime -> server)']);
  });

  it('the check refuses a cycle inside a layer, a missing header, and addon/ reaching past the bridge', () => {
    const root = tree({
      'php/async/a.h': '#include "async/b.h"\n',
      'php/async/b.h': '#include "async/a.h"\n#include "async/gone.h"\n',
      'addon/engine.cc': '#include "../php/runtime/runtime.h"\n',
    });
    const problems = check(root);
    expect(problems).toContain('php/async/b.h:2: #include "async/gone.h": no such file');
    expect(problems.some((p) => p.startsWith('include cycle: ') && p.includes('async/a.h') && p.includes('async/b.h'))).toBe(true);
    expect(problems).toContain('addon/engine.cc:1: #include "../php/runtime/runtime.h": addon/ includes only php/phpa_bridge.h');
  });
});
