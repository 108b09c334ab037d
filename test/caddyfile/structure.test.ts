import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adaptCaddyfile } from '../../src/caddyfile/index.js';
import { expandShorthands } from '../../src/caddyfile/placeholders.js';

const F = '/virtual/Caddyfile';
const adapt = (text: string, env: Record<string, string> = {}) => adaptCaddyfile(text, F, { env }).config;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-caddyfile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
function write(files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
    fs.writeFileSync(path.join(tmp, name), text);
  }
  return tmp;
}

describe('site addresses', () => {
  it.each([
    [':8080', { scheme: 'http', host: '', port: 8080, bind: '' }],
    ['localhost:8080', { scheme: 'http', host: 'localhost', port: 8080, bind: 'localhost' }],
    ['http://127.0.0.1:0', { scheme: 'http', host: '127.0.0.1', port: 0, bind: '127.0.0.1' }],
    ['127.0.0.1:9000', { scheme: 'http', host: '127.0.0.1', port: 9000, bind: '127.0.0.1' }],
    ['https://example.com', { scheme: 'https', host: 'example.com', port: 443, bind: '' }],
    ['http://example.com', { scheme: 'http', host: 'example.com', port: 80, bind: '' }],
    ['[::1]:9000', { scheme: 'http', host: '::1', port: 9000, bind: '::1' }],
    [':443', { scheme: 'https', host: '', port: 443, bind: '' }],
  ])('%s', (addr, expected) => {
    expect(adapt(`${addr} {\n}\n`).sites[0]!.addresses[0]).toMatchObject(expected);
  });

  it('reads several addresses, comma-separated, across lines', () => {
    const c = adapt(':8080, :8081,\n:8082 {\n}\n');
    expect(c.sites[0]!.addresses.map((a) => a.port)).toEqual([8080, 8081, 8082]);
  });

  it('makes a site with tls an https site', () => {
    const c = adapt(':8443 {\n\ttls a.pem b.pem\n}\n');
    expect(c.sites[0]!.addresses[0]).toMatchObject({ scheme: 'https', port: 8443 });
    expect(c.sites[0]!.tls).toMatchObject({ certFile: '/virtual/a.pem', keyFile: '/virtual/b.pem' });
  });

  it('reads drain_timeout, and Caddy\'s grace_period as the same setting', () => {
    expect(adapt('{\n\tdrain_timeout 1m30s\n}\n').global!.drainTimeoutMs).toBe(90_000);
    expect(adapt('{\n\tgrace_period 250ms\n}\n').global!.drainTimeoutMs).toBe(250);
    expect(adapt(':80 {\n}\n').global).toBeUndefined();
  });

  it('uses http_port for addresses without a port', () => {
    expect(adapt('{\n\thttp_port 8000\n}\nhttp://x {\n}\n').sites[0]!.addresses[0]!.port).toBe(8000);
  });
});

describe('structure', () => {
  it('reads a single site without braces', () => {
    const c = adapt(':8080\nroot * /srv\nphp_server\n');
    expect(c.sites).toHaveLength(1);
    expect(c.sites[0]!.directives.map((d) => d.name)).toEqual(['root', 'php_server']);
  });

  it('accepts an empty block written {}', () => {
    expect(adapt(':8080 {}\n').sites[0]!.directives).toEqual([]);
  });

  it('resolves relative paths against the Caddyfile directory', () => {
    const c = adapt('{\n\tfrankenphp {\n\t\tworker w.php\n\t}\n}\n:80 {\n\troot * pub\n}\n');
    expect(c.frankenphp!.workers[0]!.file).toBe('/virtual/w.php');
    expect(c.sites[0]!.root).toBe('/virtual/pub');
  });

  it('treats root with one argument as the path, not a matcher', () => {
    const d = adapt(':80 {\n\troot /srv/www\n}\n').sites[0]!.directives[0]!;
    expect(d.matcher).toBeUndefined();
    expect(d.root).toBe('/srv/www');
  });

  it("runs directives in Caddy's order, not the written one, except inside route", () => {
    const c = adapt(
      ':80 {\n\tfile_server\n\tphp_server\n\trespond /x 200\n\troute {\n\t\tfile_server\n\t\trewrite * /a\n\t}\n\trewrite * /b\n\troot * .\n}\n',
    );
    const site = c.sites[0]!;
    expect(site.directives.map((d) => d.name)).toEqual(['root', 'rewrite', 'route', 'respond', 'php_server', 'file_server']);
    expect(site.directives[2]!.children.map((d) => d.name)).toEqual(['file_server', 'rewrite']);
  });

  it('honours the order global option', () => {
    const c = adapt('{\n\torder file_server before respond\n}\n:80 {\n\trespond 200\n\tfile_server\n}\n');
    expect(c.sites[0]!.directives.map((d) => d.name)).toEqual(['file_server', 'respond']);
  });

  it('orders same directives by path specificity and groups the exclusive ones', () => {
    const c = adapt(':80 {\n\thandle {\n\t\trespond 1\n\t}\n\thandle /a/* {\n\t\trespond 2\n\t}\n\thandle /a/b/* {\n\t\trespond 3\n\t}\n}\n');
    const dirs = c.sites[0]!.directives;
    expect(dirs.map((d) => d.matcher ?? '')).toEqual(['/a/b/*', '/a/*', '']);
    expect(dirs.every((d) => d.group === 'handle')).toBe(true);
  });

  it('normalizes placeholder shorthands to their long form', () => {
    expect(expandShorthands('{path}?{query}&h={header.X-Y}&{remote_host}&\\{path}&{unknown}')).toBe(
      '{http.request.uri.path}?{http.request.uri.query}&h={http.request.header.X-Y}&{http.request.remote.host}&\\{path}&{unknown}',
    );
  });
});

describe('imports', () => {
  it('imports a file relative to the importing file, with arguments', () => {
    const dir = write({
      'a/Caddyfile': ':80 {\n\timport ../common.caddy /srv "two words"\n}\n',
      'common.caddy': 'root * {args[0]}\nrespond "{args[1]}"\n',
    });
    const c = adaptCaddyfile(fs.readFileSync(path.join(dir, 'a/Caddyfile'), 'utf8'), path.join(dir, 'a/Caddyfile'), {
      env: {},
    }).config;
    const [root, respond] = c.sites[0]!.directives;
    expect(root!.root).toBe('/srv');
    expect(respond!.respond!.body).toBe('two words');
    expect(respond!.source.file).toBe(path.join(dir, 'common.caddy'));
  });

  it('expands {args[:]} into several words', () => {
    const c = adapt('(enc) {\n\tencode {args[:]}\n}\n:80 {\n\timport enc zstd gzip\n}\n');
    expect(c.sites[0]!.directives[0]!.encode!.formats.map((f) => f.name)).toEqual(['zstd', 'gzip']);
  });

  it('imports globs in name order, skipping hidden files, and warns when nothing matches', () => {
    const dir = write({
      'g/Caddyfile': 'import sites/*.caddy\nimport none/*.caddy\n',
      'g/sites/b.caddy': ':82 {\n}\n',
      'g/sites/a.caddy': ':81 {\n}\n',
      'g/sites/.c.caddy': ':83 {\n}\n',
    });
    const file = path.join(dir, 'g/Caddyfile');
    const r = adaptCaddyfile(fs.readFileSync(file, 'utf8'), file, { env: {} });
    expect(r.config.sites.map((s) => s.addresses[0]!.port)).toEqual([81, 82]);
    expect(r.warnings).toEqual([`${file}:2:8: import: no file matches ${path.join(dir, 'g/none/*.caddy')}`]);
  });

  it('detects import cycles between files', () => {
    const dir = write({ 'c/one.caddy': 'import two.caddy\n', 'c/two.caddy': 'import one.caddy\n' });
    const file = path.join(dir, 'c/one.caddy');
    expect(() => adaptCaddyfile('import one.caddy\n', path.join(dir, 'c/Caddyfile'), { env: {} })).toThrow(
      `${path.join(dir, 'c/two.caddy')}:1:8: import cycle: ${file} -> ${path.join(dir, 'c/two.caddy')} -> ${file}`,
    );
  });
});
