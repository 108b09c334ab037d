// Restarting PHP when files change (src/server/watch.ts, src/server/reload.ts): the worker
// `watch` directive, `php-server --watch` and `run --watch`. A restart is a new supervised
// process that serves before the old one drains: under a running load no request fails, and
// the new code answers afterwards.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { startLoad } from './helpers/load-loop.js';
import { CLI, startServer, tempDir, waitFor, type RunningServer } from './helpers/server.js';

const worker = (answer: string): string => `<?php
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
    usleep(5000); // requests are in flight when the restart comes
    $res->write(${JSON.stringify(answer)});
    $res->end();
});
`;

async function body(url: string): Promise<string> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  return r.text();
}

/** Polls until the server answers `want` (the restart takes a process start). */
async function waitForAnswer(url: string, want: string): Promise<void> {
  const until = Date.now() + 20_000;
  let last = '';
  while (Date.now() < until) {
    last = await body(url);
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server still answers '${last}', not '${want}'`);
}

/** `phpasync ARGS` in `cwd`, up once it says where it listens. */
async function startCli(args: string[], cwd: string): Promise<RunningServer> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        output.push(line);
        const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`phpasync exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  const logs = (): Record<string, unknown>[] =>
    output.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    output,
    logs,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

const watchLines = (srv: RunningServer): Record<string, unknown>[] =>
  srv.logs().filter((l) => typeof l['msg'] === 'string' && / changed.*: restarting the PHP workers$/.test(l['msg']));

describe('worker watch', () => {
  it('a changed worker file restarts PHP under load: no request fails, the new code answers, one log line names the file', async () => {
    const srv = await startServer({ workerSource: worker('v1'), workerExtra: 'watch' });
    try {
      const dir = path.dirname(srv.proc.spawnargs[4]!);
      const file = path.join(dir, 'worker.php');
      expect(await body(srv.url + '/')).toBe('v1');
      const load = startLoad(srv.url + '/');
      await new Promise((r) => setTimeout(r, 500));
      // A file the default pattern (**/*.{php,yaml,yml,twig,env}) does not take, then the
      // worker written as an editor may: truncated, then in three writes. One restart.
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'not watched');
      const fd = fs.openSync(file, 'w');
      const text = worker('v2');
      for (const part of [text.slice(0, 10), text.slice(10, 40), text.slice(40)]) fs.writeSync(fd, part);
      fs.closeSync(fd);
      await waitForAnswer(srv.url + '/', 'v2');
      await waitFor(() => srv.logs().some((l) => l['msg'] === 'watch: the PHP workers run the new code'), 20_000);
      const r = await load.stop();
      expect(r.failures).toEqual([]);
      expect(r.answered).toBeGreaterThan(0);
      expect(r.bodies.at(-1)).toBe('v2');
      // The old code answered until the new process served, never after.
      const firstNew = r.bodies.indexOf('v2');
      expect(firstNew).toBeGreaterThan(0);
      expect(r.bodies.slice(firstNew).filter((b) => b !== 'v2').length).toBeLessThanOrEqual(6); // at most the requests in flight then
      const lines = watchLines(srv);
      expect(lines.map((l) => l['files'])).toEqual([[file]]);
      expect(lines[0]!['msg']).toBe(`watch: ${file} changed: restarting the PHP workers`);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('a worker file that fails after the change: the old code keeps serving, the error is logged', async () => {
    const srv = await startServer({ workerSource: worker('v1'), workerExtra: 'watch' });
    try {
      const file = path.join(path.dirname(srv.proc.spawnargs[4]!), 'worker.php');
      fs.writeFileSync(file, '<?php\nthrow new Exception("broken on purpose");\n');
      const line = await waitFor(
        () => srv.logs().find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('watch: the new workers did not start')),
        20_000,
      );
      expect(line['msg']).toContain('broken on purpose');
      expect(await body(srv.url + '/')).toBe('v1');
      // Fixed: the next change restarts it.
      fs.writeFileSync(file, worker('v3'));
      await waitForAnswer(srv.url + '/', 'v3');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});

describe('php-server --watch', () => {
  it('a change to a PHP file under the current directory restarts the worker', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src/answer.php'), "<?php\nreturn 'one';\n");
    fs.writeFileSync(
      path.join(dir, 'worker.php'),
      `<?php\n$answer = require __DIR__ . '/src/answer.php';\nFrankenPHP\\HttpServer::onRequest(function ($req, $res) use ($answer) { $res->write($answer); $res->end(); });\n`,
    );
    const srv = await startCli(['php-server', '--listen', '127.0.0.1:0', '--worker', 'worker.php', '--async', '--watch'], dir);
    try {
      expect(await body(srv.url + '/')).toBe('one');
      fs.writeFileSync(path.join(dir, 'src/answer.php'), "<?php\nreturn 'two';\n");
      await waitForAnswer(srv.url + '/', 'two');
      expect(watchLines(srv).map((l) => l['files'])).toEqual([[path.join(dir, 'src/answer.php')]]);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});

describe('run --watch', () => {
  it('a changed Caddyfile is loaded under load; one that does not parse is refused and the old config keeps serving', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'one.php'), worker('one'));
    fs.writeFileSync(path.join(dir, 'two.php'), worker('two'));
    const caddyfile = (file: string): string =>
      `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile ${file}\n\t\t\tasync\n\t\t\tmatch *\n\t\t}\n\t}\n}\n\nhttp://127.0.0.1:0 {\n\troute {\n\t\tphp_server\n\t}\n}\n`;
    const config = path.join(dir, 'Caddyfile');
    fs.writeFileSync(config, caddyfile('one.php'));
    const srv = await startCli(['run', '--config', config, '--watch'], dir);
    try {
      expect(await body(srv.url + '/')).toBe('one');
      const load = startLoad(srv.url + '/');
      await new Promise((r) => setTimeout(r, 300));
      fs.writeFileSync(config, caddyfile('two.php'));
      await waitForAnswer(srv.url + '/', 'two');
      const r = await load.stop();
      expect(r.failures).toEqual([]);
      expect(srv.logs().some((l) => l['msg'] === `watch: ${config} changed: loading it`)).toBe(true);
      // A Caddyfile that does not parse: logged, nothing restarts.
      fs.writeFileSync(config, caddyfile('two.php') + 'respond {\n');
      const bad = await waitFor(
        () => srv.logs().find((l) => typeof l['msg'] === 'string' && l['msg'].includes('changed but cannot be read; the old config keeps serving')),
        20_000,
      );
      expect(bad['msg']).toContain(config);
      expect(await body(srv.url + '/')).toBe('two');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});
