// php/server/frankenphp.stub.php is the source of truth for the FrankenPHP\* API; the generated
// php/server/frankenphp_arginfo.h must say the same. This compares the stub with what the real
// classes report through Reflection (phpasync php-cli), method by method.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT, runCli, tempDir } from './helpers/server.js';

interface Param {
  name: string;
  type: string;
  default?: string;
}
interface Method {
  name: string;
  static: boolean;
  params: Param[];
  returns: string;
}
type Api = Record<string, { final: boolean; methods: Method[] }>;

/** The stub, parsed: every public method must have a one-line-or-more doc comment. */
function parseStub(src: string): { api: Api; undocumented: string[] } {
  const api: Api = {};
  const undocumented: string[] = [];
  const classRe = /(final )?class (\w+)\s*\{([\s\S]*?)\n\}/g;
  for (const c of src.matchAll(classRe)) {
    const name = `FrankenPHP\\${c[2]}`;
    const methods: Method[] = [];
    const methodRe = /(\/\*\*[\s\S]*?\*\/\s*)?public (static )?function (\w+)\(([^)]*)\): (\??[\w\\]+) \{\}/g;
    for (const m of c[3]!.matchAll(methodRe)) {
      if (!m[1] || !/\w/.test(m[1].replace(/\/\*\*|\*\/|\*/g, ''))) undocumented.push(`${name}::${m[3]}`);
      const params: Param[] = m[4]!.trim()
        ? m[4]!.split(',').map((p) => {
            const pm = /^\s*(\??[\w\\]+) \$(\w+)(?: = (.+))?\s*$/.exec(p);
            if (!pm) throw new Error(`cannot parse parameter "${p}" of ${name}::${m[3]}`);
            return { name: pm[2]!, type: pm[1]!, ...(pm[3] !== undefined ? { default: pm[3].trim() } : {}) };
          })
        : [];
      methods.push({ name: m[3]!, static: Boolean(m[2]), params, returns: m[5]! });
    }
    api[name] = { final: Boolean(c[1]), methods };
  }
  return { api, undocumented };
}

const REFLECT = `<?php
$out = [];
foreach (['FrankenPHP\\\\HttpServer', 'FrankenPHP\\\\Request', 'FrankenPHP\\\\UploadedFile', 'FrankenPHP\\\\Response'] as $c) {
    $rc = new ReflectionClass($c);
    $methods = [];
    foreach ($rc->getMethods() as $m) {
        $params = [];
        foreach ($m->getParameters() as $p) {
            $e = ['name' => $p->getName(), 'type' => (string)$p->getType()];
            if ($p->isDefaultValueAvailable()) $e['default'] = var_export($p->getDefaultValue(), true);
            $params[] = $e;
        }
        $methods[] = ['name' => $m->getName(), 'static' => $m->isStatic(), 'params' => $params, 'returns' => (string)$m->getReturnType()];
    }
    $out[$c] = ['final' => $rc->isFinal(), 'methods' => $methods];
}
file_put_contents($argv[1], json_encode($out));
`;

describe('php/server/frankenphp.stub.php', () => {
  const stub = parseStub(fs.readFileSync(path.join(ROOT, 'php/server/frankenphp.stub.php'), 'utf8'));

  it('documents every method', () => {
    expect(stub.undocumented).toEqual([]);
    expect(Object.keys(stub.api).sort()).toEqual([
      'FrankenPHP\\HttpServer',
      'FrankenPHP\\Request',
      'FrankenPHP\\Response',
      'FrankenPHP\\UploadedFile',
    ]);
  });

  it('agrees with the classes phpasync registers (arginfo), method by method', async () => {
    const dir = tempDir();
    const script = path.join(dir, 'reflect.php');
    const out = path.join(dir, 'api.json');
    fs.writeFileSync(script, REFLECT);
    const r = await runCli(['php-cli', script, out]);
    expect(r.code, r.out).toBe(0);
    const real = JSON.parse(fs.readFileSync(out, 'utf8')) as Api;
    const sortByName = (a: Api): Api =>
      Object.fromEntries(
        Object.entries(a).map(([k, v]) => [k, { ...v, methods: [...v.methods].sort((x, y) => x.name.localeCompare(y.name)) }]),
      );
    expect(sortByName(real)).toEqual(sortByName(stub.api));
  });
});

// The arginfo headers are generated from the stubs by PHP's gen_stub.php (bash
// scripts/gen-arginfo.sh), which writes the SHA-1 of the stub it read into the header: a stub
// edited without regenerating its header fails here, with no PHP parser needed.
describe('generated arginfo headers', () => {
  for (const stub of ['php/async/async.stub.php', 'php/server/frankenphp.stub.php']) {
    it(`${stub.replace('.stub.php', '_arginfo.h')} was generated from the current ${path.basename(stub)}`, () => {
      const code = fs.readFileSync(path.join(ROOT, stub), 'utf8').replace(/\r\n/g, '\n');
      const header = fs.readFileSync(path.join(ROOT, stub.replace('.stub.php', '_arginfo.h')), 'utf8');
      expect(header).toMatch(/^\/\* This is a generated file, edit the \.stub\.php file instead\./);
      const hash = /Stub hash: ([0-9a-f]{40})/.exec(header)?.[1];
      expect(hash).toBe(crypto.createHash('sha1').update(code).digest('hex'));
    });
  }

  it('registers the classes with the flags their stubs declare (final, interfaces, not serializable)', async () => {
    const dir = tempDir();
    const script = path.join(dir, 'flags.php');
    fs.writeFileSync(
      script,
      `<?php
foreach (['Async\\\\Coroutine', 'Async\\\\Timeout', 'FrankenPHP\\\\Request', 'FrankenPHP\\\\Response', 'FrankenPHP\\\\UploadedFile', 'FrankenPHP\\\\HttpServer'] as $c) {
    $rc = new ReflectionClass($c);
    echo $c, ' final=', (int)$rc->isFinal(), ' interfaces=', implode(',', $rc->getInterfaceNames()), "\\n";
}
foreach (['Async\\Timeout', 'FrankenPHP\\Response'] as $c) {
    try { unserialize('O:' . strlen($c) . ':"' . $c . '":0:{}'); } catch (Throwable $e) { echo get_class($e), ': ', $e->getMessage(), "\\n"; }
}
`,
    );
    const r = await runCli(['php-cli', script]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Async\\Coroutine final=1 interfaces=Async\\Completable,Async\\Awaitable');
    expect(r.out).toContain('Async\\Timeout final=1 interfaces=Async\\Completable,Async\\Awaitable');
    expect(r.out).toContain('FrankenPHP\\Request final=1');
    expect(r.out).toContain('FrankenPHP\\HttpServer final=1');
    // @not-serializable in the stub
    expect(r.out).toContain("Exception: Unserialization of 'Async\\Timeout' is not allowed");
    expect(r.out).toContain("Exception: Unserialization of 'FrankenPHP\\Response' is not allowed");
  });
});
