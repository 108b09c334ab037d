// An async worker's file and handlers run in a working directory of the PHP thread's own: the
// worker file's directory at boot, and a handler's chdir() moves only PHP's. On an NTS PHP the
// process has one directory shared with Node, which both used to move.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

const WORKER = `<?php
use FrankenPHP\\HttpServer;
HttpServer::onRequest(function ($req, $res) {
    $path = parse_url($req->getUri(), PHP_URL_PATH);
    if ($path === '/chdir') chdir('/');
    $res->setHeader('Content-Type', 'text/plain');
    $res->write(getcwd());
    $res->end();
});
`;

describe('async worker: the working directory', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ workerSource: WORKER });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps Node\'s directory while the worker file and its handlers move PHP\'s', async () => {
    // The server inherits ours; the worker file lives in a temp dir.
    const nodeCwd = fs.realpathSync(process.cwd());
    expect(fs.readlinkSync(`/proc/${server.proc.pid}/cwd`)).toBe(nodeCwd);
    const boot = await (await fetch(`${server.url}/`)).text();
    expect(boot).not.toBe('/');
    expect(await (await fetch(`${server.url}/chdir`)).text()).toBe('/');
    expect(await (await fetch(`${server.url}/`)).text()).toBe('/'); // the worker's state, as before
    expect(fs.readlinkSync(`/proc/${server.proc.pid}/cwd`)).toBe(nodeCwd);
    expect(nodeCwd).not.toBe('/');
  });
});
