// FrankenPHP's `worker`, in the global `frankenphp` block or inside `php_server`/`php`:
//   worker <file> [<num>]
//   worker [<file>] [<num>] { file, num, name, env, match, async, buffer_size, max_coroutines, watch,
//                             request_timeout, max_requests, max_consecutive_failures }
// max_coroutines, request_timeout and max_requests are phpasync's own. `match` patterns are
// Caddy path patterns (src/config/worker-match.ts); the TrueAsync fork's `drain_timeout` is
// refused with a pointer to the global option.

import path from 'node:path';
import type { WorkerConfig } from '../config/model.js';
import { boolValue, eachSubdirective, intValue, type Line } from './line.js';
import { resolvePath, type AdaptContext } from './context.js';
import { parseDuration } from './units.js';
import { ENGINE, rangeText } from '../config/defaults.js';
import { workerMatchProblem } from '../config/worker-match.js';

/** Files FrankenPHP watches when `watch` is given without a pattern; under the worker file's
 * directory here (src/server/watch.ts reads the patterns). */
export const DEFAULT_WATCH = '**/*.{php,yaml,yml,twig,env}';

const USAGE = 'worker <file> [<num>] | worker { file <path>; num <n>; ... }';

/** `base` is where a relative worker file is found: the Caddyfile's dir, or php_server's root. */
export function parseWorker(line: Line, ctx: AdaptContext, base: string): WorkerConfig {
  line.expectArgs(0, 2, USAGE);
  const worker: WorkerConfig = {
    file: '',
    num: ENGINE.threads.default,
    env: {},
    match: [],
    async: false,
    bufferSize: ENGINE.bufferSize.default,
    watch: [],
    source: { ...line.loc },
  };
  let fileGiven = false;
  let numGiven = false;
  let defaultWatch = false;
  const [fileTok, numTok] = line.args;
  if (fileTok) {
    worker.file = resolvePath(base, fileTok);
    fileGiven = true;
  }
  if (numTok) {
    worker.num = intValue(numTok, 'worker num', ENGINE.threads.min);
    numGiven = true;
  }

  // TrueAsync's worker drain_timeout bounds a graceful worker restart (admin API, watch,
  // reload), which phpasync does not have; its shutdown drain is a global option. Checked
  // here so the name is not listed among the subdirectives phpasync takes.
  const drain = line.block?.find((n) => n.head.quote === 'none' && n.head.text === 'drain_timeout');
  if (drain) {
    line.fail(
      'worker drain_timeout is not supported yet: it bounds a graceful worker restart, which phpasync does not do; for how long in-flight requests may finish on SIGTERM/SIGINT, set the global option instead: { drain_timeout 30s }',
      drain.head,
    );
  }
  eachSubdirective(line.block, {
    owner: 'worker',
    handlers: {
      file(l) {
        const t = l.single('file <path>');
        if (fileGiven) l.fail('worker: file is given twice', t);
        worker.file = resolvePath(base, t);
        fileGiven = true;
      },
      num(l) {
        const t = l.single('num <threads>');
        if (numGiven) l.fail('worker: num is given twice', t);
        worker.num = intValue(t, 'num', ENGINE.threads.min);
        numGiven = true;
      },
      name(l) {
        worker.name = l.single('name <name>').text;
      },
      env(l) {
        l.expectArgs(2, 2, 'env <key> <value>');
        worker.env[l.args[0]!.text] = l.args[1]!.text;
      },
      match(l) {
        l.expectArgs(1, Infinity, 'match <path patterns...>');
        for (const t of l.args) {
          const problem = workerMatchProblem(t.text);
          if (problem) l.fail(`worker match: ${problem}`, t);
          worker.match.push(t.text);
        }
      },
      async(l) {
        l.expectArgs(0, 1, 'async [on|off]');
        worker.async = l.args[0] ? boolValue(l.args[0], 'async') : true;
      },
      buffer_size(l) {
        const t = l.single(`buffer_size <${rangeText(ENGINE.bufferSize)}>`);
        worker.bufferSize = intValue(t, 'buffer_size', ENGINE.bufferSize.min, ENGINE.bufferSize.max);
      },
      max_coroutines(l) {
        const t = l.single(`max_coroutines <${rangeText(ENGINE.maxCoroutines)}>`);
        worker.maxCoroutines = intValue(t, 'max_coroutines', ENGINE.maxCoroutines.min, ENGINE.maxCoroutines.max);
      },
      watch(l) {
        l.expectArgs(0, 1, 'watch [<pattern>]');
        const pattern = l.args[0]?.text;
        // Without a pattern: resolved once the block is read (the file may come after `watch`).
        if (pattern === undefined) defaultWatch = true;
        else worker.watch.push(path.isAbsolute(pattern) ? pattern : path.join(ctx.baseDir, pattern));
      },
      request_timeout(l) {
        const t = l.single('request_timeout <duration>|off');
        if (t.text === 'off') {
          worker.requestTimeoutMs = 0;
          return;
        }
        const ms = parseDuration(t.text);
        if (ms === undefined || ms < 1 || ms > ENGINE.requestTimeoutMs.max || !Number.isInteger(ms)) {
          l.fail(`request_timeout must be a duration from 1ms to 24h (such as 30s or 1m30s) or off, got '${t.text}'`, t);
        }
        worker.requestTimeoutMs = ms;
      },
      max_requests(l) {
        // Absent means never; 0 is not written.
        worker.maxRequests = intValue(l.single('max_requests <n>'), 'max_requests', 1, ENGINE.maxRequests.max);
      },
      max_consecutive_failures(l) {
        const { min, max } = ENGINE.maxConsecutiveFailures;
        worker.maxConsecutiveFailures = intValue(l.single('max_consecutive_failures <n>'), 'max_consecutive_failures', min, max);
      },
    },
  });
  if (!fileGiven) line.fail(`worker: missing file; usage: ${USAGE}`);
  if (defaultWatch) worker.watch.push(path.join(path.dirname(worker.file), DEFAULT_WATCH));
  return worker;
}
