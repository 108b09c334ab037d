// PHP memory a request leaves allocated when it ends cleanly: objects still alive in reference
// cycles, which a release PHP never collects at shutdown (only debug builds do) and frees with
// its whole heap. Through php-cli (Composer's case), a worker handler and a classic script.
// Without sanitizers this checks what they answer. Under scripts/test-asan.sh it also runs
// scripts/asan/check-reports.mjs on the LeakSanitizer logs of the processes it starts: with
// PHP's tracked allocator a clean request end forgot those blocks, and LeakSanitizer reported
// them under our frames (phpa_php_run_cli, request_body); docs/asan.md, "Leaks: what counts".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CLI, ROOT, runCaddyfile, startServer, tempDir } from './helpers/server.js';

const underAsan = /libasan/.test(process.env.LD_PRELOAD ?? '') && /log_path=/.test(process.env.ASAN_OPTIONS ?? '');
const dirs: string[] = [];

/** Under ASan: the processes started from now on write their reports to a directory of their own. */
function logApart(): string {
  const dir = tempDir();
  dirs.push(dir);
  if (underAsan) process.env.ASAN_OPTIONS = process.env.ASAN_OPTIONS!.replace(/log_path=[^:]*/, `log_path=${path.join(dir, 'asan')}`);
  return dir;
}

/** Under ASan: nothing reported through our code by the processes logging to dir. */
function expectNoLeakOfOurs(dir: string): void {
  if (!underAsan) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/asan/check-reports.mjs'), dir, ROOT], { encoding: 'utf8' });
  expect(r.status, r.stdout + r.stderr).toBe(0);
}

// Objects in cycles, made the ways PHP code usually makes them: a self-reference, an object
// graph from json_decode(), a closure bound to its object, an exception kept by its holder, and
// objects of a shared extension (PDO with SQLite, a connection and a statement).
const NODE = `
final class Node { public array $kids = []; public ?Node $up = null; public $fn;
  function add(Node $k): void { $k->up = $this; $this->kids[] = $k; $this->fn = fn () => $this; } }
`;
const CYCLES = `
$a = new stdClass; $a->self = $a;
$j = json_decode('{"items":[{"id":1},{"id":2}]}'); $j->root = $j;
$n = new Node; $n->add(new Node);
$e = new Exception('kept'); $h = new stdClass; $h->e = $e; $h->me = $h;
$db = new PDO('sqlite::memory:'); $st = $db->query('SELECT 2'); $k = new stdClass; $k->db = $db; $k->st = $st; $k->me = $k;
`;

describe('request memory left in cycles at a clean request end', () => {
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('php-cli: a script that leaves cycles behind and ends with exit()', () => {
    const logs = logApart();
    const script = path.join(tempDir(), 'cycles.php');
    fs.writeFileSync(script, `<?php${NODE}${CYCLES}echo count($j->items), " ", get_class($n->kids[0]->up), "\\n"; exit(3);\n`);
    const r = spawnSync(process.execPath, [CLI, 'php-cli', script], { encoding: 'utf8' });
    expect(r.stdout).toBe('2 Node\n');
    expect(r.status).toBe(3);
    const code = spawnSync(process.execPath, [CLI, 'php-cli', '-r', `${NODE}${CYCLES}echo "ok";`], { encoding: 'utf8' });
    expect(code.stdout).toBe('ok');
    expect(code.status).toBe(0);
    expectNoLeakOfOurs(logs);
  });

  it('an async worker: handlers that leave garbage cycles, then the server stops', async () => {
    const logs = logApart();
    const srv = await startServer({
      workerSource: `<?php${NODE}
FrankenPHP\\HttpServer::onRequest(function ($req, $res) {
${CYCLES}
    $res->write('ok ' . count($j->items));
    $res->end();
});
`,
    });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${srv.url}/`);
        expect(await r.text()).toBe('ok 2');
      }
    } finally {
      expect(await srv.stop()).toBe(0);
    }
    expectNoLeakOfOurs(logs);
  });

  it('classic scripts: a script that leaves cycles behind, request after request', async () => {
    const logs = logApart();
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'index.php'), `<?php${NODE}${CYCLES}echo 'ok ', count($j->items);\n`);
    const server = await runCaddyfile(`http://127.0.0.1:0 {\n\troot * ${root}\n\tphp_server\n}\n`, 1);
    try {
      const line = server.output.find((l) => l.includes('Server listening at'))!;
      const port = Number(/:(\d+)"?,?/.exec(line.slice(line.indexOf('Server listening at')))![1]);
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/`);
        expect(await r.text()).toBe('ok 2');
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expectNoLeakOfOurs(logs);
  });
});
