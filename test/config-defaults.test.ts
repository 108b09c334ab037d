// src/config/defaults.ts is the one home of the engine's defaults and ranges: the Caddyfile's
// ranges, the plugin's defaults and the options handed to the addon all come from it.
import { describe, expect, it } from 'vitest';

import { adaptCaddyfile } from '../src/caddyfile/index.js';
import { ENGINE, engineOptions, workerEngineOptions } from '../src/config/defaults.js';

const worker = (lines: string): string => `{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile /w.php\n${lines}\t\t}\n\t}\n}\n`;

describe('engine defaults and ranges', () => {
  it('fills in every option the caller leaves out, from the table', () => {
    const o = engineOptions({ workerFile: '/w.php' });
    for (const [key, s] of Object.entries(ENGINE)) expect(o[key as keyof typeof o], key).toBe(s.default);
    expect(o).toMatchObject({ workerFile: '/w.php', phpIni: {}, env: {} });
  });

  it('refuses a value out of its range, naming the option and the range', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ bufferSize: 1001 }, 'options.bufferSize must be an integer in 1..1000'],
      [{ bufferSize: '20' }, 'options.bufferSize must be an integer in 1..1000'],
      [{ threads: 0 }, 'options.threads must be an integer in 1..256'],
      [{ maxCoroutines: 1.5 }, 'options.maxCoroutines must be an integer in 1..1000000'],
      [{ requestTimeoutMs: -1 }, 'options.requestTimeoutMs must be an integer in 0..86400000 (0 = no timeout)'],
      [{ maxConsecutiveFailures: -2 }, 'options.maxConsecutiveFailures must be an integer in -1..1000000 (-1 = no limit)'],
      [{ copyThreshold: 2 ** 30 + 1 }, 'options.copyThreshold must be an integer in 0..1073741824'],
    ];
    for (const [bad, message] of cases) {
      expect(() => engineOptions({ workerFile: '/w.php', ...bad })).toThrow(expect.objectContaining({ code: 'PHPASYNC_OPTION_RANGE', message }));
    }
  });

  it('a Caddyfile worker without settings runs with the table defaults', () => {
    const { config } = adaptCaddyfile(worker('\t\t\tasync\n'), '/c/Caddyfile', { env: {} });
    const o = workerEngineOptions(config.frankenphp!.workers[0]!, { memory_limit: '64M' });
    expect(o).toEqual({ ...engineOptions({ workerFile: '/w.php' }), phpIni: { memory_limit: '64M' } });
  });

  it('the Caddyfile accepts each range edge the engine accepts and refuses one past it', () => {
    const edges: [string, number, number][] = [
      ['buffer_size', ENGINE.bufferSize.min, ENGINE.bufferSize.max],
      ['max_coroutines', ENGINE.maxCoroutines.min, ENGINE.maxCoroutines.max],
      ['max_consecutive_failures', ENGINE.maxConsecutiveFailures.min, ENGINE.maxConsecutiveFailures.max],
    ];
    for (const [name, min, max] of edges) {
      for (const ok of [min, max]) {
        const { config } = adaptCaddyfile(worker(`\t\t\t${name} ${ok}\n`), '/c/Caddyfile', { env: {} });
        expect(() => workerEngineOptions(config.frankenphp!.workers[0]!)).not.toThrow();
      }
      for (const bad of [min - 1, max + 1]) {
        expect(() => adaptCaddyfile(worker(`\t\t\t${name} ${bad}\n`), '/c/Caddyfile', { env: {} })).toThrow(
          `${name} must be an integer in the range ${min}..${max}, got '${bad}'`,
        );
      }
    }
  });
});
