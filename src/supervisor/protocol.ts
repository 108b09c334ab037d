// Messages between the supervisor and its children, over the IPC channel fork() opens.
import type { PhpasyncConfig } from '../config/model.js';

export type ToChild =
  /** First message: what to serve. `threads` replaces the worker's num (NTS: 1). */
  | { t: 'start'; id: number; config: PhpasyncConfig; threads: number; drainMs: number }
  /** A connection the supervisor accepted (the socket travels with the message); number n. */
  | { t: 'conn'; n: number }
  /** Stop taking work: answer what is open with `Connection: close`, then exit 0. */
  | { t: 'drain' };

export type FromChild =
  /** PHP has booted and the child takes connections. */
  | { t: 'ready' }
  /** The child holds connection n now (sent before it reads a byte of it). */
  | { t: 'took'; n: number }
  /** Counters of the child's engine (summed by stats.ts), sent when they change. */
  | { t: 'stats'; stats: Record<string, number> }
  /** It cannot start (the worker file failed): why, before it exits 1. */
  | { t: 'failed'; message: string };

export function isFromChild(m: unknown): m is FromChild {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
