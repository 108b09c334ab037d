// php-server builds Caddyfile text from its flags and adapts it like any file.

import { describe, expect, it } from 'vitest';
import { adaptCaddyfile } from '../../src/caddyfile/index.js';
import { tokenize } from '../../src/caddyfile/lexer.js';
import { quoteToken } from '../../src/caddyfile/writer.js';
import { phpServerCaddyfile } from '../../src/cli/commands/php-server.js';

const base = { listen: ':8080', root: '/srv/app', workers: [] as string[], async: false, watch: false, debug: false };

describe('php-server flags → config', () => {
  it('serves a root with php_server', () => {
    const { config } = adaptCaddyfile(phpServerCaddyfile(base), '/cwd/(php-server flags)', { env: {} });
    expect(config.frankenphp).toBeUndefined();
    const site = config.sites[0]!;
    expect(site.addresses[0]).toMatchObject({ scheme: 'http', port: 8080 });
    expect(site.root).toBe('/srv/app');
    expect(site.directives.map((d) => d.name)).toEqual(['root', 'php_server']);
  });

  it('turns --worker --async --buffer-size into a guide-style async worker', () => {
    const text = phpServerCaddyfile({ ...base, listen: '127.0.0.1:9000', workers: ['/srv/app/w.php'], async: true, bufferSize: 50, watch: true });
    const { config } = adaptCaddyfile(text, '/cwd/(php-server flags)', { env: {} });
    expect(config.frankenphp!.workers).toMatchObject([
      { file: '/srv/app/w.php', num: 1, async: true, bufferSize: 50, match: ['*'], watch: ['/cwd/**/*.{php,yaml,yml,twig,env}'] },
    ]);
    expect(config.sites[0]!.addresses[0]).toMatchObject({ host: '127.0.0.1', port: 9000 });
  });

  it('quotes paths so the lexer reads them back unchanged', () => {
    for (const p of ['/plain/path.php', '/with space/a.php', '/with"quote', '/with`tick', '/a#b', '/{x}', '']) {
      const toks = tokenize(`root ${quoteToken(p)}`, '/v', { env: {} });
      expect(toks[1]!.text).toBe(p);
    }
    expect(() => quoteToken('/srv/{$HOME}')).toThrow("'/srv/{$HOME}' contains {$");
    expect(() => phpServerCaddyfile({ ...base, root: '/srv/{$HOME}' })).toThrow("php-server: '/srv/{$HOME}' contains {$");
  });
});
