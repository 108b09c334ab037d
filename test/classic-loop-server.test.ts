// $_SERVER's script variables in the classic worker loop, as FrankenPHP fills them for a
// worker: the worker file is the script (SCRIPT_FILENAME, SCRIPT_NAME under the site's root,
// DOCUMENT_ROOT), and a request path naming a .php file is split there (DOCUMENT_URI,
// PATH_INFO, PATH_TRANSLATED), PHP_SELF = SCRIPT_NAME + PATH_INFO. The worker file runs in its
// directory (getcwd()), without moving Node's. Real server, real HTTP.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, startServer, tempDir, type RunningServer } from './helpers/server.js';

const LOOP = path.join(ROOT, 'test/fixtures/classic-loop/public');
const WORKER = path.join(LOOP, 'index.php');

const server = async (s: RunningServer, target: string): Promise<Record<string, string | null>> =>
  (await (await fetch(`${s.url}${target}`)).json()) as Record<string, string | null>;

describe('classic worker loop: $_SERVER for a worker file under the root', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ worker: WORKER, async: false, siteBody: `root * ${LOOP}\n\tphp_server` });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('names the worker file the script for any path', async () => {
    expect(await server(s, '/some/route?x=1')).toEqual({
      SCRIPT_NAME: '/index.php',
      SCRIPT_FILENAME: WORKER,
      PATH_INFO: '',
      PHP_SELF: '/index.php',
      DOCUMENT_ROOT: LOOP,
      DOCUMENT_URI: '',
      PATH_TRANSLATED: null,
      REQUEST_URI: '/some/route?x=1',
    });
  });

  it('splits a path that names a .php file: PATH_INFO, PHP_SELF, PATH_TRANSLATED', async () => {
    expect(await server(s, '/index.php/users/7?x=1')).toEqual({
      SCRIPT_NAME: '/index.php',
      SCRIPT_FILENAME: WORKER,
      PATH_INFO: '/users/7',
      PHP_SELF: '/index.php/users/7',
      DOCUMENT_ROOT: LOOP,
      DOCUMENT_URI: '/index.php',
      PATH_TRANSLATED: `${LOOP}/users/7`,
      REQUEST_URI: '/index.php/users/7?x=1',
    });
    // Another .php name in the path: the worker is still the script (FrankenPHP's rule).
    expect(await server(s, '/legacy/Other.PHP/a/b')).toMatchObject({ SCRIPT_NAME: '/index.php', PATH_INFO: '/a/b', PHP_SELF: '/index.php/a/b', DOCUMENT_URI: '/legacy/Other.PHP' });
    // Decoded, as PHP's CGI variables are; `.php` must end a path element.
    expect(await server(s, '/index.php/caf%C3%A9%20x')).toMatchObject({ PATH_INFO: '/café x', PHP_SELF: '/index.php/café x' });
    expect(await server(s, '/a.phpx/b')).toMatchObject({ PATH_INFO: '', PHP_SELF: '/index.php', DOCUMENT_URI: '' });
  });

  it('runs the worker file in its own directory, and Node\'s stays where it was', async () => {
    expect(await server(s, '/cwd')).toEqual({ cwd: LOOP });
    // On an NTS PHP the PHP thread has a working directory of its own: the server's did not move.
    expect(fs.readlinkSync(`/proc/${s.proc.pid}/cwd`)).toBe(process.cwd());
  });

  it('does not keep one request\'s PATH_INFO for the next', async () => {
    await server(s, '/index.php/first');
    expect(await server(s, '/')).toMatchObject({ PATH_INFO: '', PHP_SELF: '/index.php', PATH_TRANSLATED: null });
  });
});

describe('classic worker loop: $_SERVER for a worker file outside the root', () => {
  let s: RunningServer;
  const root = fs.realpathSync(tempDir());
  beforeAll(async () => {
    s = await startServer({ worker: WORKER, async: false, siteBody: `root * ${root}\n\tphp_server` });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('has no SCRIPT_NAME and no PATH_INFO, as FrankenPHP', async () => {
    expect(await server(s, '/index.php/users/7')).toEqual({
      SCRIPT_NAME: '',
      SCRIPT_FILENAME: WORKER,
      PATH_INFO: '',
      PHP_SELF: '',
      DOCUMENT_ROOT: root,
      DOCUMENT_URI: '',
      PATH_TRANSLATED: null,
      REQUEST_URI: '/index.php/users/7',
    });
  });
});
