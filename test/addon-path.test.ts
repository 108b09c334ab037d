// Which addon build is loaded: build/Release unless PHPASYNC_ADDON names another (the ASan
// build of scripts/test-asan.sh); a name that does not exist is refused by name.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { addonPath } from '../src/native/index.js';

const repo = path.resolve(__dirname, '..');

describe('addonPath(env)', () => {
  it('is build/Release/phpasync.node when PHPASYNC_ADDON is unset or empty', () => {
    const normal = path.join(repo, 'build/Release/phpasync.node');
    expect(addonPath({})).toBe(normal);
    expect(addonPath({ PHPASYNC_ADDON: '' })).toBe(normal);
  });

  it('is the file PHPASYNC_ADDON names, made absolute', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-addon-path-'));
    try {
      const file = path.join(dir, 'other.node');
      fs.writeFileSync(file, '');
      expect(addonPath({ PHPASYNC_ADDON: file })).toBe(file);
      expect(addonPath({ PHPASYNC_ADDON: path.relative(process.cwd(), file) })).toBe(file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a PHPASYNC_ADDON that does not exist, naming it', () => {
    expect(() => addonPath({ PHPASYNC_ADDON: '/nonexistent/phpasync.node' })).toThrow(
      /^PHPASYNC_ADDON names \/nonexistent\/phpasync\.node, which does not exist$/,
    );
  });
});
