// The native addon, typed. Lifetimes are part of the contract:
// - a body Buffer whose frame came with a non-zero `handle` points into PHP's memory; it is
//   valid until `release(handle)` and must not be read after (release throws when called twice);
// - `submit` copies the envelope and the body, so the caller may reuse their bytes at once;
// - body chunks are strings (copied bytes, one latin1 char per byte: write them with the
//   'latin1' encoding) or Buffers (zero-copy, see above; or copied runs over 64 MiB, which a
//   V8 string could not hold).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { EngineOptions } from '../config/defaults.js';
import { PhpasyncError } from '../server/errors.js';

/** The bridge enums of php/phpa_bridge.h that JS reads, named without their `PHPA_` prefix. */
export interface BridgeConstants {
  /** Frame flags: status and headers present; last frame; with END, the response failed after
   * flush() sent its head. */
  FRAME_HEAD: number;
  FRAME_END: number;
  FRAME_ABORT: number;
  /** Event kinds of onEvent. */
  EVENT_READY: number;
  EVENT_FAILED: number;
  EVENT_LOG: number;
  EVENT_EXITED: number;
  /** Log levels of EVENT_LOG. */
  LOG_DEBUG: number;
  LOG_INFO: number;
  LOG_WARN: number;
  LOG_ERROR: number;
  /** What the engine's threads run (the `mode` option). */
  MODE_ASYNC_WORKER: number;
  MODE_CLASSIC_WORKER: number;
  MODE_SCRIPTS: number;
}

const BRIDGE_KEYS = [
  'FRAME_HEAD', 'FRAME_END', 'FRAME_ABORT',
  'EVENT_READY', 'EVENT_FAILED', 'EVENT_LOG', 'EVENT_EXITED',
  'LOG_DEBUG', 'LOG_INFO', 'LOG_WARN', 'LOG_ERROR',
  'MODE_ASYNC_WORKER', 'MODE_CLASSIC_WORKER', 'MODE_SCRIPTS',
] as const satisfies readonly (keyof BridgeConstants)[];

export type FrameCallback = (
  id: number,
  flags: number,
  status: number,
  /** The head's name, value, … pairs: joined by NUL bytes in one string (split it), or, when
   * a name or value holds a NUL itself, as an array; undefined without headers. */
  headers: string | string[] | undefined,
  body: BodyChunk | BodyChunk[] | undefined,
  handle: number,
  /** Set when the addon could not turn the frame into JS values: headers and body are then
   * undefined, and the request must be failed (the handle still has to be released). */
  error: string | undefined,
) => void;

/** A body chunk: a latin1 string (bytes copied out of PHP), a Buffer over PHP's memory (frame
 * with a handle), or a Buffer that owns a copied run too large for one string. */
export type BodyChunk = string | Buffer;

export type EventCallback = (kind: number, thread: number, level: number, requestId: number, message: string) => void;

/** What the addon's Engine takes: every option given (engineOptions() in src/config/defaults.ts
 * fills them in), php.ini and environment serialized, and the two callbacks. */
export interface NativeEngineOptions extends Omit<EngineOptions, 'phpIni' | 'env' | 'mode'> {
  /** constants.MODE_* */
  mode: number;
  /** `key=value` lines, one per php.ini setting. */
  iniEntries: string;
  /** `KEY=VALUE` strings. */
  env: string[];
  onFrame: FrameCallback;
  onEvent: EventCallback;
}

export interface EngineStats {
  /** wakes: eventfd writes that woke the parked thread (JS side). */
  threads: { queued: number; submitted: number; outstandingBuffers: number; wakes: number }[];
  outstandingBuffers: number;
  heldByJs: number;
  /** Wakes of the JS thread that delivered frames, and the frames they delivered. */
  dispatches: number;
  framesDelivered: number;
}

export interface NativeEngine {
  start(): void;
  /** Thread index the request went to, plus 1<<16 when its wake was left to flushWakes(); -1
   * when every ring is full, -2 after stop(). envelope: with nil at bodyAt where the body goes
   * (src/server/envelope.ts); body: the request body, which takes the nil's place, or null. */
  submit(id: number, envelope: Uint8Array, bodyAt: number, body: Uint8Array | null): number;
  /** Wakes the parked PHP threads that have jobs waiting; PhpEngine calls it at the end of a
   * turn whose submit() deferred a wake. */
  flushWakes(): void;
  /** unsent: the connection closed before the frame was written (PHP stops streaming to it). */
  release(handle: number, unsent?: boolean): void;
  /** The client of request `id` (submitted to `thread`) went away: drop or interrupt it. */
  cancel(thread: number, id: number): void;
  stop(): void;
  /** Joins the threads once they all reported EXITED; false when they did not finish in `ms`. */
  join(ms?: number): boolean;
  stats(): EngineStats;
}

interface Addon {
  Engine: new (options: NativeEngineOptions) => NativeEngine;
  constants: Record<string, unknown>;
  phpInfo(): { phpVersion: string; zts: boolean };
  runCli(mode: number, target: string, args: string[], binary: string): number;
  socketUnsent(fd: number): number;
  socketUnread(fd: number): number;
  listenPending(fd: number): number;
}

// The repository root: three levels above dist/src/native, two above src/native (tests run the .ts).
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.basename(path.resolve(here, '../..')) === 'dist' ? path.resolve(here, '../../..') : path.resolve(here, '../..');
let addon: Addon | undefined;

/**
 * PHPASYNC_ADDON names another build of the addon (an absolute path, or relative to the current
 * directory), e.g. the sanitizer build of scripts/test-asan.sh; unset, build/Release is used.
 */
export function addonPath(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.PHPASYNC_ADDON;
  if (chosen === undefined || chosen === '') return path.join(root, 'build/Release/phpasync.node');
  const file = path.resolve(chosen);
  if (!fs.existsSync(file)) throw new PhpasyncError('PHPASYNC_ADDON_PATH', [file]);
  return file;
}

export function loadAddon(): Addon {
  if (addon) return addon;
  const file = addonPath();
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (err) {
    const e = err as Error;
    const hint = process.env.PHPASYNC_ADDON ? 'It was named by PHPASYNC_ADDON.' : 'Run ./build.sh first.';
    throw new PhpasyncError('PHPASYNC_ADDON', [file, e.message, hint], { cause: err });
  }
  return addon;
}

export function createEngine(options: NativeEngineOptions): NativeEngine {
  return new (loadAddon().Engine)(options);
}

/** The bridge enums from an addon's `constants` export. */
export function readBridgeConstants(exported: Record<string, unknown>): BridgeConstants {
  const out = {} as BridgeConstants;
  for (const key of BRIDGE_KEYS) {
    const v = exported[key];
    if (typeof v !== 'number') throw new PhpasyncError('PHPASYNC_ADDON_CONSTANTS', [key]);
    out[key] = v;
  }
  return out;
}

let bridge: BridgeConstants | undefined;

/** The bridge enums, as the loaded addon defines them. */
export function bridgeConstants(): BridgeConstants {
  return (bridge ??= readBridgeConstants(loadAddon().constants));
}

export interface VersionInfo {
  phpVersion: string;
  zts: boolean;
  opcache: boolean;
  jit: boolean;
  scheduler: string;
}

/**
 * Facts about the linked PHP, read by running PHP once with phpasync's defaults (so OPcache
 * and JIT are reported as a server would have them). Uses up the process's one PHP start.
 */
export function nativeVersion(): VersionInfo {
  const info = loadAddon().phpInfo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phpasync-version-'));
  const script = path.join(dir, 'version.php');
  const out = path.join(dir, 'out.json');
  fs.writeFileSync(
    script,
    `<?php $s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
file_put_contents(${JSON.stringify(out)}, json_encode(['opcache' => (bool)($s['opcache_enabled'] ?? false), 'jit' => (bool)($s['jit']['on'] ?? false)]));`,
  );
  try {
    runPhpCli({ mode: 'script', script, args: [] });
    const facts = JSON.parse(fs.readFileSync(out, 'utf8')) as { opcache: boolean; jit: boolean };
    return { ...info, ...facts, scheduler: 'phpasync fibers (stock PHP)' };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What php-cli runs (the modes of php/phpa_bridge.h's phpa_cli_mode, in the same order). */
export type CliRun =
  | { mode: 'script'; script: string; args: string[]; binary?: string }
  | { mode: 'code'; code: string; args: string[]; binary?: string }
  | { mode: 'info' | 'modules' | 'version'; binary?: string };

const CLI_MODES = { script: 'CLI_SCRIPT', code: 'CLI_CODE', info: 'CLI_INFO', modules: 'CLI_MODULES', version: 'CLI_VERSION' } as const;

/** Runs PHP as its CLI would; returns the exit status. Blocks the event loop. */
export function runPhpCli(run: CliRun): number {
  const addon = loadAddon();
  const mode = addon.constants?.[CLI_MODES[run.mode]];
  if (typeof mode !== 'number') throw new PhpasyncError('PHPASYNC_ADDON_CONSTANTS', [CLI_MODES[run.mode]]);
  const target = run.mode === 'script' ? run.script : run.mode === 'code' ? run.code : '';
  const args = run.mode === 'script' || run.mode === 'code' ? run.args : [];
  return addon.runCli(mode, target, args, run.binary ?? '');
}

/** Bytes the kernel still holds in the send queue of TCP socket `fd`; -1 where unknown. */
export function socketUnsent(fd: number): number {
  return loadAddon().socketUnsent(fd);
}

/** Bytes the kernel holds in the receive queue of TCP socket `fd` not read yet; -1 where unknown. */
export function socketUnread(fd: number): number {
  return loadAddon().socketUnread(fd);
}

/** 1 if a connection waits in listening socket `fd`'s accept queue, 0 if none, -1 where unknown. */
export function listenPending(fd: number): number {
  return loadAddon().listenPending(fd);
}
