// `adapt` output for whole Caddyfiles, compared with JSON files kept next to them.
// Regenerate after an intended change with: UPDATE_GOLDEN=1 npx vitest run test/caddyfile/golden

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCaddyfile } from '../../src/caddyfile/index.js';

const fixtures = path.resolve(__dirname, '../fixtures/caddyfile');

/** Absolute paths differ per checkout: the fixture directory is written as <fixtures>. */
function portable(value: unknown): string {
  return JSON.stringify(value, null, 2).split(fixtures).join('<fixtures>') + '\n';
}

const cases: { name: string; file: string; env?: Record<string, string> }[] = [
  { name: 'guide', file: 'guide.Caddyfile' },
  { name: 'snippets', file: 'snippets/Caddyfile', env: { PORT: '9100', WORKERS: '3' } },
  { name: 'matchers', file: 'matchers.Caddyfile' },
  { name: 'multisite', file: 'multisite.Caddyfile' },
];

describe('golden adapt output', () => {
  for (const c of cases) {
    it(c.file, () => {
      const result = loadCaddyfile(path.join(fixtures, c.file), { env: c.env ?? {} });
      const golden = path.join(fixtures, `${c.name}.json`);
      const actual = portable(result);
      if (process.env['UPDATE_GOLDEN'] || !fs.existsSync(golden)) fs.writeFileSync(golden, actual);
      expect(actual).toBe(fs.readFileSync(golden, 'utf8'));
    });
  }
});
