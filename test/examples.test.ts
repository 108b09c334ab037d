// The deployment examples in examples/ stay valid: the systemd unit passes systemd's own
// checker once its paths name this checkout (as a user would edit them).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT, tempDir } from './helpers/server.js';

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('examples', () => {
  it.skipIf(!hasSystemdAnalyze)('phpasync.service passes systemd-analyze verify', () => {
    const unit = fs
      .readFileSync(path.join(ROOT, 'examples/phpasync.service'), 'utf8')
      .replaceAll('/usr/bin/node', process.execPath)
      .replaceAll('/opt/phpasync', ROOT);
    const file = path.join(tempDir(), 'phpasync.service');
    fs.writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/phpasync\.service/);
  });
});
