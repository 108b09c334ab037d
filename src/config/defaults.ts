// Every default and every allowed range of phpasync's settings, in one place. The Caddyfile
// adapter checks ranges against these tables, the server fills in defaults from them, and the
// native addon receives every engine option explicitly (it checks types, it has no defaults).
// It imports only types and the errors table: `adapt` and `validate` read it without loading
// the server.

import { PhpasyncError } from '../server/errors.js';
import type { WorkerConfig } from './model.js';

/** An integer setting: its default and the inclusive range the runtime accepts. */
export interface IntSetting {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** What a special value at the edge of the range means, e.g. `0 = never`. */
  readonly note?: string;
}

/**
 * The options of one async worker's engine, complete: what the Fastify plugin hands to
 * PhpEngine and PhpEngine to the addon (which only adds its callbacks and serializes
 * phpIni/env). `engineOptions()` fills in what a caller leaves out.
 */
/** What the engine's PHP threads run: an async worker (HttpServer::onRequest(), a coroutine
 * per request), a classic worker (a loop on frankenphp_handle_request()), or classic scripts
 * (each request runs the .php file it names under documentRoot). */
export type EngineMode = 'async-worker' | 'classic-worker' | 'scripts';

export interface EngineOptions {
  mode: EngineMode;
  /** Absolute path of the worker file; '' in scripts mode. */
  workerFile: string;
  /** Absolute path the scripts are served from; a classic worker's site root ($_SERVER); '' in an async worker. */
  documentRoot: string;
  /** PHP threads (the worker's `num`). */
  threads: number;
  /** Per-thread request ring capacity (`buffer_size`). */
  bufferSize: number;
  /** Per-thread bound on coroutines serving requests (`max_coroutines`); at the bound the
   * thread stops taking requests from its ring, so overload turns into 503s. */
  maxCoroutines: number;
  /** write()s shorter than this many bytes are copied, longer ones lent to the socket. */
  copyThreshold: number;
  /** A handler running longer is interrupted and answered 504 (ms; 0 = none). */
  requestTimeoutMs: number;
  /** Restart a thread's interpreter after this many requests (0 = never). */
  maxRequests: number;
  /** Worker file failures in a row after a restart before giving up (-1 = never). */
  maxConsecutiveFailures: number;
  /** php.ini lines (`key=value`), applied after phpasync's own ini defaults. */
  phpIni: Record<string, string>;
  /** Environment of the worker (getenv(), $_SERVER). */
  env: Record<string, string>;
}

type IntOption = 'threads' | 'bufferSize' | 'maxCoroutines' | 'copyThreshold' | 'requestTimeoutMs' | 'maxRequests' | 'maxConsecutiveFailures';

/** Defaults and ranges of the engine's integer options (the worker's Caddyfile settings). */
export const ENGINE: Readonly<Record<IntOption, IntSetting>> = {
  // One NTS PHP can run one thread per process; ZTS builds take up to 256.
  threads: { default: 1, min: 1, max: 256 },
  bufferSize: { default: 20, min: 1, max: 1000 },
  maxCoroutines: { default: 1000, min: 1, max: 1_000_000 },
  // 16 KiB: measured with `node dist/bench/mib.js --sizes ...` (copied vs lent, back to back):
  // copying wins at 1-4 KiB (lent 0.56-0.93x), 8-16 KiB is a wash (0.55-1.45x, noisy), lending
  // wins from 32 KiB (1.3-1.9x).
  copyThreshold: { default: 16_384, min: 0, max: 2 ** 30 },
  // 0 = none; the Caddyfile writes it as a duration from 1ms to 24h, or `off`.
  requestTimeoutMs: { default: 30_000, min: 0, max: 86_400_000, note: '0 = no timeout' },
  // 0 = never; in the Caddyfile absence means never, so `max_requests` starts at 1.
  maxRequests: { default: 0, min: 0, max: 4_000_000_000, note: '0 = never' },
  // -1 = never give up.
  maxConsecutiveFailures: { default: 6, min: -1, max: 1_000_000, note: '-1 = no limit' },
};

/**
 * Every engine option, the caller's where given, the default otherwise. A value out of its
 * range is PHPASYNC_OPTION_RANGE, naming the option (the addon checks only types).
 */
export function engineOptions(o: Partial<EngineOptions> & { workerFile: string }): EngineOptions {
  const int = (key: IntOption): number => {
    const s = ENGINE[key];
    const v = o[key];
    if (v === undefined) return s.default;
    if (!Number.isInteger(v) || v < s.min || v > s.max) {
      throw new PhpasyncError('PHPASYNC_OPTION_RANGE', [key, `${rangeText(s)}${s.note ? ` (${s.note})` : ''}`]);
    }
    return v;
  };
  return {
    mode: o.mode ?? 'async-worker',
    workerFile: o.workerFile,
    documentRoot: o.documentRoot ?? '',
    threads: int('threads'),
    bufferSize: int('bufferSize'),
    maxCoroutines: int('maxCoroutines'),
    copyThreshold: int('copyThreshold'),
    requestTimeoutMs: int('requestTimeoutMs'),
    maxRequests: int('maxRequests'),
    maxConsecutiveFailures: int('maxConsecutiveFailures'),
    phpIni: o.phpIni ?? {},
    env: o.env ?? {},
  };
}

/** The engine options of a worker of the config model (absent settings take their default). */
export function workerEngineOptions(w: WorkerConfig, phpIni: Record<string, string> = {}): EngineOptions {
  return engineOptions({
    // A worker without `async` loops on frankenphp_handle_request() (FrankenPHP's worker mode).
    mode: w.async ? 'async-worker' : 'classic-worker',
    workerFile: w.file,
    threads: w.num,
    bufferSize: w.bufferSize,
    maxCoroutines: w.maxCoroutines,
    requestTimeoutMs: w.requestTimeoutMs,
    maxRequests: w.maxRequests,
    maxConsecutiveFailures: w.maxConsecutiveFailures,
    phpIni,
    env: w.env,
  });
}

/** The engine options of classic scripts (no worker): documentRoot is the first PHP site's root. */
export function scriptsEngineOptions(documentRoot: string, phpIni: Record<string, string> = {}, env: Record<string, string> = {}): EngineOptions {
  return engineOptions({ mode: 'scripts', workerFile: '', documentRoot, phpIni, env });
}

/** `--buffer-size`, `buffer_size <1..1000>`: a range as the help texts and messages show it. */
export function rangeText(s: IntSetting): string {
  return `${s.min}..${s.max}`;
}

/** `processes` (global option): supervised processes sharing the address (src/supervisor/).
 * Unset, one process serves alone, unsupervised (on an NTS PHP `num N` asks for N processes). */
export const PROCESSES: IntSetting = { default: 1, min: 1, max: 256 };

/** How long in-flight requests may run on after SIGTERM/SIGINT (`drain_timeout`, `grace_period`). */
export const DRAIN_TIMEOUT_MS = 30_000;

/** frankenphp `max_wait_time`: how long a request may wait for a ring slot when every ring is
 * full, before its 503. Not 0 (FrankenPHP's): a burst read in one event-loop turn overran the
 * default ring of 20 before PHP woke (7 % 503s at c=50 on hello-world, PHP far from busy). */
export const MAX_WAIT_MS = 100;

/** How long stopping waits for the PHP threads to join once they all reported that they exited. */
export const THREAD_JOIN_MS = 5000;

/** Classic scripts next to a worker: how long a request waits for a classic-scripts process to
 * be ready (the first ones boot with the first such request; a dead one is restarting) before
 * it is answered 503 (src/server/scripts-pool.ts). */
export const CLASSIC_START_WAIT_MS = 10_000;

/** Largest request body accepted when the site sets no `request_body { max_size }`; larger: 413. */
export const BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/** Port served when the site address names none. */
export const LISTEN_PORT = 8080;

/** The HTTP server's timeouts (`servers { timeouts { … } }`), in ms; 0 turns one off. */
export interface HttpTimeouts {
  readBodyMs: number;
  readHeaderMs: number;
  writeMs: number;
  idleMs: number;
}

/**
 * Defaults, where the Caddyfile sets none:
 *   read_header 1m  Caddy's default (and Node's).
 *   read_body   5m  Caddy has none, Node's default is 5m: a client trickling a body (1 byte
 *                   every 2 s) would otherwise hold its connection and its buffer forever, and
 *                   5 min still lets the largest body accepted by default (64 MiB) come in at
 *                   ~2 Mbit/s.
 *   write       1m  Caddy has none (and its `write` is a deadline for the whole response, which
 *                   would cut large downloads to slow clients). phpasync's is the time the
 *                   writing may make no progress, as nginx's send_timeout (whose default is
 *                   60 s): a client that stops reading is cut, and the response's bytes (held
 *                   by the host, no longer by PHP) are freed, while a slow reader is never cut.
 *   idle        5m  Caddy's default.
 */
export const HTTP_TIMEOUTS: Readonly<HttpTimeouts> = {
  readBodyMs: 300_000,
  readHeaderMs: 60_000,
  writeMs: 60_000,
  idleMs: 300_000,
};
