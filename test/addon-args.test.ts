// The addon's argument checks: fixed messages, thrown before PHP is touched.
import { describe, expect, it } from 'vitest';

import { loadAddon } from '../src/native/index.js';

const ok = { workerFile: '/x.php', onFrame: () => {}, onEvent: () => {} };

describe('Engine(options) refuses bad options with a fixed message', () => {
  const { Engine } = loadAddon();
  const cases: [string, unknown, RegExp][] = [
    ['no options', undefined, /^Engine\(options\): options must be an object$/],
    ['threads 0', { ...ok, threads: 0 }, /^options\.threads must be an integer in 1\.\.256$/],
    ['threads 1.5', { ...ok, threads: 1.5 }, /^options\.threads must be an integer in 1\.\.256$/],
    ['bufferSize 1001', { ...ok, bufferSize: 1001 }, /^options\.bufferSize must be an integer in 1\.\.1000$/],
    ['bufferSize "20"', { ...ok, bufferSize: '20' }, /^options\.bufferSize must be an integer in 1\.\.1000$/],
    ['maxCoroutines 0', { ...ok, maxCoroutines: 0 }, /^options\.maxCoroutines must be an integer/],
    ['empty workerFile', { ...ok, workerFile: '' }, /^options\.workerFile must be a non-empty string$/],
    ['iniEntries not a string', { ...ok, iniEntries: 3 }, /^options\.iniEntries must be a string$/],
    ['env not strings', { ...ok, env: [1] }, /^options\.env must be an array of "KEY=VALUE" strings$/],
    ['onFrame missing', { ...ok, onFrame: undefined }, /^options\.onFrame must be a function$/],
    ['onEvent missing', { ...ok, onEvent: 1 }, /^options\.onEvent must be a function$/],
  ];
  for (const [name, options, message] of cases) {
    it(name, () => {
      expect(() => new Engine(options as never)).toThrow(message);
    });
  }

  it('refuses more than one PHP thread on an NTS PHP, naming the reason', () => {
    expect(() => new Engine({ ...ok, threads: 2 })).toThrow(/this PHP is NTS \(not thread-safe\)/);
  });
});
