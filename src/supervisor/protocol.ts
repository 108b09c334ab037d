// Messages between the supervisor and its children, over the IPC channel fork() opens.
import type { PhpasyncConfig } from '../config/model.js';
import type { MetricsJson } from './metrics.js';

export type ToChild =
  /** First message: what to serve. `threads` replaces the worker's num (NTS: 1). */
  | { t: 'start'; id: number; config: PhpasyncConfig; threads: number; drainMs: number }
  /** A connection the supervisor accepted (the socket travels with the message); n counts the
   * connections sent to this child: 1, 2, 3, … */
  | { t: 'conn'; n: number }
  /** Stop taking work: answer what is open with `Connection: close`, then exit 0. */
  | { t: 'drain' }
  /** Connection n was sent a while ago and not taken: answer `missed` if it never arrived. */
  | { t: 'revoke'; n: number }
  /** Send your Prometheus metrics (answered by a `metrics` message with the same id). */
  | { t: 'metrics'; id: number };

export type FromChild =
  /** PHP has booted and the child takes connections. */
  | { t: 'ready' }
  /** The child holds connection n now (sent before it reads a byte of it). */
  | { t: 'took'; n: number }
  /** Connections from..to never arrived (Node drops a connection the child has no descriptor for). */
  | { t: 'missed'; from: number; to: number }
  /** Counters of the child's engine (summed by stats.ts), sent when they change. */
  | { t: 'stats'; stats: Record<string, number> }
  /** It cannot start (the worker file failed): why, before it exits 1. */
  | { t: 'failed'; message: string }
  /** The child's metrics registry as JSON ([] when the config has no `metrics`). */
  | { t: 'metrics'; id: number; metrics: MetricsJson };

export function isFromChild(m: unknown): m is FromChild {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
