// `phpasync reload --config F` (src/cli/commands/reload.ts) posts the adapted Caddyfile to the
// running server's admin endpoint (POST /load, src/server/admin.ts); the server checks it and
// replaces its PHP process with one running it (src/server/reload.ts). Under a running load: no
// request fails. A config that is not valid, whose worker fails to start, or that changes what
// needs a restart is refused: the CLI exits non-zero with the reason, the old config serves on.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { freePort, startLoad } from './helpers/load-loop.js';
import { runCli, startServer, waitFor, type RunningServer } from './helpers/server.js';

const worker = (answer: string): string => `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    usleep(5000);
    $res->write(${JSON.stringify(answer)});
    $res->end();
});
`;

async function body(url: string): Promise<string> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  return r.text();
}

/** The Caddyfile startServer wrote (`run --config FILE`). */
const caddyfileOf = (srv: RunningServer): string => srv.proc.spawnargs[4]!;

/** A copy of the server's Caddyfile with `edit` applied, next to it. */
function variant(srv: RunningServer, name: string, edit: (text: string) => string): string {
  const file = path.join(path.dirname(caddyfileOf(srv)), name);
  fs.writeFileSync(file, edit(fs.readFileSync(caddyfileOf(srv), 'utf8')));
  return file;
}

function post(url: string, headers: Record<string, string>, data: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    // The server may answer (and close) before the whole of an oversized body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(data);
  });
}

async function supervised(): Promise<{ srv: RunningServer; admin: number }> {
  const admin = await freePort();
  const srv = await startServer({ workerSource: worker('v1'), globalOptions: `admin 127.0.0.1:${admin}\n\tprocesses 1` });
  return { srv, admin };
}

describe('reload --config', () => {
  it('applies a new config under load: no request fails, the new worker answers; bad configs are refused and the old one serves on', async () => {
    const { srv } = await supervised();
    try {
      const dir = path.dirname(caddyfileOf(srv));
      fs.writeFileSync(path.join(dir, 'v2.php'), worker('v2'));
      fs.writeFileSync(path.join(dir, 'throws.php'), '<?php\nthrow new Exception("boom at boot");\n');
      expect(await body(srv.url + '/')).toBe('v1');
      const load = startLoad(srv.url + '/');
      await new Promise((r) => setTimeout(r, 300));

      const good = variant(srv, 'good.Caddyfile', (t) => t.replace(/file \S+worker\.php/, `file ${path.join(dir, 'v2.php')}`));
      const ok = await runCli(['reload', '--config', good]);
      expect(ok).toEqual({ code: 0, out: 'phpasync reload: the new config is serving\n' });
      expect(await body(srv.url + '/')).toBe('v2');

      // Not valid for the server (the worker file does not exist): exit 2, FILE:LINE and why.
      const missing = variant(srv, 'missing.Caddyfile', (t) => t.replace(/file \S+worker\.php/, `file ${path.join(dir, 'nowhere.php')}`));
      const m = await runCli(['reload', '--config', missing]);
      expect(m.code).toBe(2);
      expect(m.out).toContain('reload: the new config is not valid; the old one keeps serving');
      expect(m.out).toContain(`missing.Caddyfile:6: worker file not found: ${path.join(dir, 'nowhere.php')}`);
      expect(await body(srv.url + '/')).toBe('v2');

      // Valid, but its worker throws at boot: the new process never serves; PHP's message.
      const throws = variant(srv, 'throws.Caddyfile', (t) => t.replace(/file \S+worker\.php/, `file ${path.join(dir, 'throws.php')}`));
      const b = await runCli(['reload', '--config', throws]);
      expect(b.code).toBe(1);
      expect(b.out).toContain('reload: not applied: the new workers did not start; the old config keeps serving');
      expect(b.out).toContain('Uncaught Exception: boom at boot');
      expect(await body(srv.url + '/')).toBe('v2');

      // What only a restart can change: said, nothing applied.
      const moved = variant(srv, 'moved.Caddyfile', (t) => t.replace('http://127.0.0.1:0', 'http://127.0.0.1:1'));
      const a = await runCli(['reload', '--config', moved]);
      expect(a.code).toBe(1);
      expect(a.out).toContain('reload: not applied: a restart of the server is needed to change the listening addresses (http://127.0.0.1:0 -> http://127.0.0.1:1)');

      // Does not parse: refused before anything is sent.
      const broken = variant(srv, 'broken.Caddyfile', (t) => t + '\nrespond {\n');
      const p = await runCli(['reload', '--config', broken]);
      expect(p.code).toBe(2);
      expect(p.out).toContain('broken.Caddyfile');

      const r = await load.stop();
      expect(r.failures).toEqual([]);
      expect(r.answered).toBeGreaterThan(0);
      expect(new Set(r.bodies)).toEqual(new Set(['v1', 'v2']));
      expect(await body(srv.url + '/')).toBe('v2');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('two processes: both are replaced by ones running the new config', async () => {
    const admin = await freePort();
    const srv = await startServer({ workerSource: worker('v1'), num: 2, globalOptions: `admin 127.0.0.1:${admin}` });
    try {
      const dir = path.dirname(caddyfileOf(srv));
      fs.writeFileSync(path.join(dir, 'v2.php'), worker('v2'));
      const good = variant(srv, 'good.Caddyfile', (t) => t.replace(/file \S+worker\.php/, `file ${path.join(dir, 'v2.php')}`));
      const load = startLoad(srv.url + '/');
      const ok = await runCli(['reload', '--config', good]);
      const r = await load.stop();
      expect(ok.code).toBe(0);
      expect(r.failures).toEqual([]);
      // Each new connection goes to the next child in turn: both answer the new code.
      for (let i = 0; i < 6; i++) expect(await body(srv.url + '/')).toBe('v2');
      expect(srv.logs().filter((l) => typeof l['msg'] === 'string' && /^reload: child \d replaced$/.test(l['msg'])).length).toBe(2);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('two processes, the second new one fails: the first goes back to the old config, both serve it', async () => {
    const admin = await freePort();
    const srv = await startServer({ workerSource: worker('v1'), num: 2, globalOptions: `admin 127.0.0.1:${admin}` });
    try {
      const dir = path.dirname(caddyfileOf(srv));
      const marker = path.join(dir, 'booted-once');
      // Boots once (the first new child), then throws (the second).
      fs.writeFileSync(
        path.join(dir, 'once.php'),
        `<?php\nif (file_exists(${JSON.stringify(marker)})) throw new Exception("second boot fails");\ntouch(${JSON.stringify(marker)});\n` +
          worker('once').replace('<?php\n', ''),
      );
      const once = variant(srv, 'once.Caddyfile', (t) => t.replace(/file \S+worker\.php/, `file ${path.join(dir, 'once.php')}`));
      const load = startLoad(srv.url + '/');
      const r = await runCli(['reload', '--config', once]);
      const l = await load.stop();
      expect(r.code).toBe(1);
      expect(r.out).toContain('second boot fails');
      expect(l.failures).toEqual([]);
      for (let i = 0; i < 6; i++) expect(await body(srv.url + '/')).toBe('v1');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('/load takes only a POST of application/json, up to 1 MiB, and no request from a browser', async () => {
    const { srv, admin } = await supervised();
    try {
      const url = `http://127.0.0.1:${admin}/load`;
      const json = { 'Content-Type': 'application/json' };
      const config = (await runCli(['adapt', '--config', caddyfileOf(srv)])).out;
      const type = await post(url, { 'Content-Type': 'text/caddyfile' }, fs.readFileSync(caddyfileOf(srv)));
      expect(type.status).toBe(415);
      expect(JSON.parse(type.body).message).toBe('/load takes application/json (what `phpasync adapt` prints), got text/caddyfile');
      const big = await post(url, json, Buffer.alloc(2 * 1024 * 1024, 0x20));
      expect(big.status).toBe(413);
      const browser = await post(url, { ...json, Origin: 'http://example.com' }, config);
      expect(browser.status).toBe(403);
      const notJson = await post(url, json, '{"sites": [');
      expect(notJson.status).toBe(400);
      const notConfig = await post(url, json, '{"sites": []}');
      expect(notConfig.status).toBe(400);
      expect(JSON.parse(notConfig.body).message).toContain('not a phpasync config');
      const getLoad = await fetch(url);
      expect(getLoad.status).toBe(405);
      expect(await body(srv.url + '/')).toBe('v1'); // none of it changed anything
      // The same config again: applied (a restart onto the same config).
      const same = await post(url, json, config);
      expect(same.status).toBe(200);
      expect(JSON.parse(same.body)).toEqual({ applied: true, message: 'the new config is serving', errors: [] });
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('a server of one process checks the config and says it cannot apply it (exit 1); without an admin endpoint the CLI says so', async () => {
    const admin = await freePort();
    const srv = await startServer({ workerSource: worker('v1'), globalOptions: `admin :${admin}` });
    try {
      // `:port` is loopback, as Caddy's default admin address.
      // (Said once PHP is up, after the server listens.)
      await waitFor(() => srv.output.some((l) => l.includes(`Admin endpoint listening at http://127.0.0.1:${admin} (/health/live, /health/ready, /load)`)));
      const r = await runCli(['reload', '--config', caddyfileOf(srv)]);
      expect(r.code).toBe(1);
      expect(r.out).toContain('reload: not applied: this server runs one process, and PHP cannot start twice in one process');
      expect(await body(srv.url + '/')).toBe('v1');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
    const closed = await freePort();
    const none = await runCli(['reload', '--config', caddyfileOf(srv), '--address', `127.0.0.1:${closed}`]);
    expect(none.code).toBe(1);
    expect(none.out).toContain(`no admin endpoint answers at http://127.0.0.1:${closed}/load (ECONNREFUSED)`);
  });
});
