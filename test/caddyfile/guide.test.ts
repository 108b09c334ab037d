import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCaddyfile } from '../../src/caddyfile/index.js';

const fixtures = path.resolve(__dirname, '../fixtures/caddyfile');

describe('the TrueAsync guide Caddyfile', () => {
  it('adapts to one async worker and one :8080 site', () => {
    const { config, warnings } = loadCaddyfile(path.join(fixtures, 'guide.Caddyfile'));
    expect(warnings).toEqual([]);
    const w = config.frankenphp!.workers[0]!;
    expect(config.frankenphp!.numThreads).toBe(2);
    expect(w.file).toBe(path.join(fixtures, 'examples/async_entrypoint.php'));
    expect(w).toMatchObject({ num: 1, async: true, bufferSize: 20, match: ['*'] });
    const site = config.sites[0]!;
    expect(site.addresses).toMatchObject([{ scheme: 'http', host: '', port: 8080 }]);
    expect(site.root).toBe(path.join(fixtures, 'examples'));
    expect(site.directives.map((d) => d.name)).toEqual(['root', 'route']);
    const [rewrite, phpServer] = site.directives[1]!.children;
    expect(rewrite!.rewrite).toEqual({ to: '/async_entrypoint.php?uri={http.request.uri.path}' });
    expect(phpServer!.phpServer).toMatchObject({ index: false, fileServer: false });
  });
});
