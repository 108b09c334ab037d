// JS reads the bridge enums (frame flags, event kinds, log levels) from the addon's `constants`
// export; an addon without it gets the transitional copy in src/native/index.ts, which must match
// php/phpa_bridge.h until every build exports them.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { bridgeConstants, readBridgeConstants, type BridgeConstants } from '../src/native/index.js';

const repo = path.resolve(__dirname, '..');

function findHeader(dir: string): string | undefined {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const found = findHeader(p);
      if (found) return found;
    } else if (e.name === 'phpa_bridge.h') return p;
  }
  return undefined;
}

/** `PHPA_FRAME_HEAD = 1,` and the like, without the prefix. */
function headerEnums(): Record<string, number> {
  const file = findHeader(path.join(repo, 'php'));
  if (!file) throw new Error('php/**/phpa_bridge.h not found');
  const text = fs.readFileSync(file, 'utf8');
  return Object.fromEntries([...text.matchAll(/\bPHPA_((?:FRAME|EVENT|LOG|MODE)_[A-Z_]+)\s*=\s*(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

describe('bridge constants', () => {
  const header = headerEnums();

  it('the loaded addon gives the header values', () => {
    const k = bridgeConstants();
    for (const [key, value] of Object.entries(k)) expect(header[key], key).toBe(value);
  });

  it('takes the values an addon exports', () => {
    const k = bridgeConstants();
    const exported = Object.fromEntries(Object.entries(k).map(([key, v]) => [key, v + 100]));
    const read: BridgeConstants = readBridgeConstants({ ...exported, FRAME_UNSENT: 8 });
    expect(read.FRAME_END).toBe(k.FRAME_END + 100);
    expect(read.MODE_SCRIPTS).toBe(k.MODE_SCRIPTS + 100);
  });

  it('refuses constants that lack a value JS needs', () => {
    const { FRAME_ABORT: _, ...partial } = bridgeConstants();
    expect(() => readBridgeConstants(partial)).toThrow(expect.objectContaining({ code: 'PHPASYNC_ADDON_CONSTANTS' }));
    expect(() => readBridgeConstants({ ...partial, FRAME_ABORT: '4' })).toThrow("the phpasync addon's constants lack FRAME_ABORT (a number)");
  });
});
