// How many processes serve a config, and how many PHP threads each runs. An NTS PHP has one
// interpreter per process, so there `num N` is read as N processes of one thread; a ZTS PHP runs
// `num` threads per process and the global option `processes` multiplies them. Without either,
// one process serves alone, unsupervised, as before.
import type { PhpasyncConfig } from '../config/model.js';

export interface ProcessPlan {
  /** Supervised children; 0 means one unsupervised process (today's `phpasync run`). */
  processes: number;
  /** PHP threads in each child (its worker's `num`). */
  threads: number;
}

export function processPlan(config: PhpasyncConfig, workerNum: number, php: { zts: boolean }): ProcessPlan {
  const processes = config.global?.processes;
  if (php.zts) return { processes: processes ?? 0, threads: workerNum };
  // NTS: the config checks refuse num > 1 together with `processes`.
  if (processes !== undefined) return { processes, threads: 1 };
  return { processes: workerNum > 1 ? workerNum : 0, threads: 1 };
}
