// The addon's argument checks: every option must be given (defaults and ranges belong to
// src/), with a fixed TypeError message naming it, thrown before PHP is touched. And the bridge's
// enums as the addon exports them.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadAddon } from '../src/native/index.js';
import { ROOT } from './helpers/server.js';

const ok = {
  threads: 1,
  bufferSize: 20,
  maxCoroutines: 1000,
  copyThreshold: 16384,
  requestTimeoutMs: 30000,
  maxRequests: 0,
  maxConsecutiveFailures: 6,
  mode: 1,
  workerFile: '/x.php',
  documentRoot: '',
  iniEntries: '',
  env: [],
  onFrame: () => {},
  onEvent: () => {},
};

describe('Engine(options) refuses bad options with a fixed message', () => {
  const { Engine } = loadAddon();
  const cases: [string, unknown, RegExp][] = [
    ['no options', undefined, /^Engine\(options\): options must be an object$/],
    ['threads 0', { ...ok, threads: 0 }, /^options\.threads must be a positive integer$/],
    ['threads 1.5', { ...ok, threads: 1.5 }, /^options\.threads must be a positive integer$/],
    ['threads missing', { ...ok, threads: undefined }, /^options\.threads must be a positive integer$/],
    ['bufferSize "20"', { ...ok, bufferSize: '20' }, /^options\.bufferSize must be a positive integer$/],
    ['bufferSize missing', { ...ok, bufferSize: undefined }, /^options\.bufferSize must be a positive integer$/],
    ['maxCoroutines 0', { ...ok, maxCoroutines: 0 }, /^options\.maxCoroutines must be a positive integer$/],
    ['copyThreshold -1', { ...ok, copyThreshold: -1 }, /^options\.copyThreshold must be a non-negative integer$/],
    ['copyThreshold missing', { ...ok, copyThreshold: undefined }, /^options\.copyThreshold must be a non-negative integer$/],
    ['requestTimeoutMs missing', { ...ok, requestTimeoutMs: undefined }, /^options\.requestTimeoutMs must be a non-negative integer/],
    ['maxRequests NaN', { ...ok, maxRequests: NaN }, /^options\.maxRequests must be a non-negative integer/],
    ['maxConsecutiveFailures -2', { ...ok, maxConsecutiveFailures: -2 }, /^options\.maxConsecutiveFailures must be an integer >= -1/],
    ['mode missing', { ...ok, mode: undefined }, /^options\.mode must be one of constants\.MODE_ASYNC_WORKER/],
    ['mode 4', { ...ok, mode: 4 }, /^options\.mode must be one of constants\.MODE_ASYNC_WORKER/],
    ['empty workerFile', { ...ok, workerFile: '' }, /^options\.workerFile must be a non-empty string in the worker modes/],
    ['workerFile in scripts mode', { ...ok, mode: 3, documentRoot: '/srv' }, /^options\.workerFile must be .* "" in scripts mode$/],
    ['documentRoot missing', { ...ok, documentRoot: undefined }, /^options\.documentRoot must be/],
    ['documentRoot in an async worker', { ...ok, documentRoot: '/srv' }, /^options\.documentRoot must be .* "" in an async worker$/],
    ['no documentRoot in scripts mode', { ...ok, mode: 3, workerFile: '' }, /^options\.documentRoot must be a non-empty string in scripts mode/],
    ['iniEntries not a string', { ...ok, iniEntries: 3 }, /^options\.iniEntries must be a string$/],
    ['iniEntries missing', { ...ok, iniEntries: undefined }, /^options\.iniEntries must be a string$/],
    ['env not strings', { ...ok, env: [1] }, /^options\.env must be an array of "KEY=VALUE" strings$/],
    ['env missing', { ...ok, env: undefined }, /^options\.env must be an array of "KEY=VALUE" strings$/],
    ['onFrame missing', { ...ok, onFrame: undefined }, /^options\.onFrame must be a function$/],
    ['onEvent missing', { ...ok, onEvent: 1 }, /^options\.onEvent must be a function$/],
  ];
  for (const [name, options, message] of cases) {
    it(name, () => {
      expect(() => new Engine(options as never)).toThrow(TypeError);
      expect(() => new Engine(options as never)).toThrow(message);
    });
  }

  it('refuses more than one PHP thread on an NTS PHP, naming the reason', () => {
    expect(() => new Engine({ ...ok, threads: 2 })).toThrow(/this PHP is NTS \(not thread-safe\)/);
  });
});

describe('addon.constants', () => {
  it('holds every enum value of php/phpa_bridge.h, by name without PHPA_, frozen', () => {
    const bridge = fs.readFileSync(path.join(ROOT, 'php/phpa_bridge.h'), 'utf8');
    const declared: Record<string, number> = {};
    for (const body of bridge.matchAll(/enum \w+ \{([\s\S]*?)\};/g)) {
      for (const m of body[1]!.matchAll(/PHPA_(\w+) = (\d+)/g)) declared[m[1]!] = Number(m[2]);
    }
    expect(Object.keys(declared).length).toBeGreaterThan(10);
    const { constants } = loadAddon() as unknown as { constants: Record<string, number> };
    expect(constants).toEqual(declared);
    expect(Object.isFrozen(constants)).toBe(true);
  });
});
