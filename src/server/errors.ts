// Every error phpasync's TypeScript raises, and every error answer it writes to a client itself,
// has a code from this one table, as Fastify keeps its FST_ERR_* codes: its words live here
// once, with the HTTP status a client gets or the exit status the CLI ends with. Logs and
// tests match on codes rather than on prose. test/errors.test.ts checks that each code is
// unique, used in src/, documented in docs/errors.md, and that no error is made elsewhere.
// Imports nothing of ours: every layer may use it (test/import-layers.test.ts).

import { STATUS_CODES } from 'node:http';

export interface ErrorSpec {
  /** The text; each `%s` takes the next argument. */
  readonly message: string;
  /** HTTP status of the answer a client gets. */
  readonly status?: number;
  /** Exit status of the CLI when the error ends it (2: the config or the flags, 1: the rest). */
  readonly exit?: 1 | 2;
}

export const ERRORS = {
  // --- configuration and command line (exit 2) ---
  PHPASYNC_CONFIG: { exit: 2, message: '%s' },
  PHPASYNC_NOT_SUPPORTED: { exit: 2, message: 'not supported yet: %s' },
  PHPASYNC_NO_ASYNC_WORKER: {
    exit: 2,
    message:
      '%s: no async worker to send requests to: add "worker { file <path>; async }" to the frankenphp global block (php-server: --worker FILE --async), or php_server to a site to run its classic scripts',
  },
  PHPASYNC_USAGE: { exit: 2, message: '%s' },
  PHPASYNC_UNQUOTABLE: { exit: 2, message: "'%s' contains {$, which a Caddyfile would read as an environment variable" },
  PHPASYNC_OPTION_RANGE: { exit: 1, message: 'options.%s must be an integer in %s' },
  PHPASYNC_ENV_VALUE: { exit: 1, message: '%s must be an integer in %s, got "%s"' },
  PHPASYNC_ENV_CHOICE: { exit: 1, message: '%s must be %s, got "%s"' },

  // --- starting and running (exit 1) ---
  PHPASYNC_LOAD: { exit: 1, message: 'cannot load %s: %s' },
  PHPASYNC_ADDON: { exit: 1, message: 'cannot load the phpasync addon (%s): %s. %s' },
  PHPASYNC_ADDON_PATH: { exit: 1, message: 'PHPASYNC_ADDON names %s, which does not exist' },
  PHPASYNC_ADDON_CONSTANTS: { exit: 1, message: "the phpasync addon's constants lack %s (a number): rebuild the addon" },
  PHPASYNC_LISTEN: { exit: 1, message: 'cannot listen on %s: %s' },
  PHPASYNC_LOG_FILE: { exit: 1, message: 'cannot open the access log file %s: %s' },
  PHPASYNC_TLS_FILE: { exit: 1, message: 'cannot read the TLS %s %s: %s' },
  PHPASYNC_TLS_PAIR: { exit: 1, message: 'the TLS certificate %s and key %s do not make a pair: %s' },
  PHPASYNC_WORKER_START: { exit: 1, message: '%s' },
  PHPASYNC_WORKER_FAILED: { exit: 1, message: 'the PHP worker stopped: %s' },
  PHPASYNC_PIDFILE: { exit: 1, message: 'cannot read the pid file %s: %s' },
  PHPASYNC_PIDFILE_CONTENT: { exit: 1, message: '%s holds no pid: %s' },
  PHPASYNC_RELOAD_TARGET: {
    exit: 1,
    message: 'pid %s (from %s) is not a phpasync server running several processes (a stale pid file, or a server of one process: it cannot reload)',
  },
  PHPASYNC_RELOAD_SIGNAL: { exit: 1, message: 'no server with pid %s (from %s): %s' },
  PHPASYNC_RELOAD_UNREACHABLE: {
    exit: 1,
    message: 'no admin endpoint answers at %s (%s): is the server running, with this address as its global option `admin`? (--address sets another)',
  },
  PHPASYNC_RELOAD_INVALID: { exit: 2, message: 'reload: %s' },
  PHPASYNC_RELOAD_REFUSED: { exit: 1, message: 'reload: %s' },

  // --- answers written to a client by the host, not by PHP ---
  PHPASYNC_BUSY: { status: 503, message: 'Service Unavailable: every PHP request buffer is full' },
  PHPASYNC_SHUTTING_DOWN: { status: 503, message: 'Service Unavailable: the server is shutting down' },
  PHPASYNC_WORKER_GONE: { status: 503, message: 'Service Unavailable: the PHP worker failed' },
  PHPASYNC_CLASSIC_GONE: { status: 502, message: 'Bad Gateway: the classic scripts process %s ended before answering' },
  PHPASYNC_CLASSIC_UNAVAILABLE: { status: 503, message: 'Service Unavailable: no classic scripts process was ready within %s s' },
  PHPASYNC_CLASSIC_CHANNEL: { status: 502, message: 'Bad Gateway: the classic scripts channel carried %s' },
  PHPASYNC_FRAME: { status: 500, message: 'Internal Server Error' },
  PHPASYNC_NOT_MATCHED: { status: 404, message: 'Not Found' },
  PHPASYNC_NO_SITE: { status: 404, message: "Not Found: no site here for host '%s'" },
  PHPASYNC_NO_FILE: { status: 404, message: 'Not Found: no such file' },
  PHPASYNC_FILE_FORBIDDEN: { status: 403, message: 'Forbidden: %s' },
  PHPASYNC_FILE_BAD_PATH: { status: 400, message: 'Bad Request: %s' },
  PHPASYNC_FILE_METHOD: { status: 405, message: 'Method Not Allowed: files answer GET and HEAD' },
  PHPASYNC_FILE_FAILED: { status: 500, message: 'Internal Server Error: the file could not be sent' },
  PHPASYNC_READ_BODY_TIMEOUT: { status: 408, message: 'Request Timeout: the body did not arrive within read_body' },
  PHPASYNC_PROXY_NO_UPSTREAM: { status: 503, message: 'Service Unavailable: no upstream is up' },
  PHPASYNC_PROXY_FAILED: { status: 502, message: 'Bad Gateway: no answer from the upstream %s' },
  PHPASYNC_PROXY_UPGRADE: { status: 501, message: "not supported yet: Upgrade: %s through reverse_proxy (WebSocket)" },
  PHPASYNC_CONNECT: { status: 501, message: 'not supported yet: CONNECT (tunnels)' },
  PHPASYNC_HTTP09: { status: 400, message: 'Bad Request: HTTP/0.9 requests are not supported' },
  PHPASYNC_HTTP_VERSION: { status: 505, message: 'HTTP Version Not Supported: HTTP/%s over an HTTP/1 connection' },
  PHPASYNC_DUPLICATE_HOST: { status: 400, message: 'Bad Request: more than one Host header' },
  PHPASYNC_BAD_TARGET: { status: 400, message: 'Bad Request: malformed request target' },
  PHPASYNC_BAD_ESCAPE: { status: 400, message: 'Bad Request: malformed percent-escape in the request target' },
  PHPASYNC_EXPECT_TOO_LARGE: { status: 413, message: 'Payload Too Large: the body is over the limit of %s bytes' },

  // --- `phpasync bench` (a failed or skipped scenario; the run goes on) ---
  PHPASYNC_BENCH_SKIPPED: { message: '%s' },
  PHPASYNC_BENCH_START: { exit: 1, message: '%s did not start listening within %s s:\n%s' },
  PHPASYNC_BENCH_EXITED: { exit: 1, message: '%s exited with %s before listening:\n%s' },
  PHPASYNC_BENCH_NOT_SERVING: { exit: 1, message: 'nginx + php-fpm did not answer %s within %s s (%s):\n%s' },
  PHPASYNC_BENCH_PROBE: { exit: 1, message: 'probe %s answered %s: %s' },
  PHPASYNC_BENCH_LOAD: { exit: 1, message: 'the load generator failed: %s' },
  PHPASYNC_BENCH_INSTALL: { exit: 1, message: '%s' },
  PHPASYNC_BENCH_DB_INIT: { exit: 1, message: 'mariadb-install-db failed: %s' },
  PHPASYNC_BENCH_DB_EXITED: { exit: 1, message: 'mariadbd exited during startup:\n%s' },
  PHPASYNC_BENCH_DB_START: { exit: 1, message: 'mariadbd did not accept connections on %s within %s s (%s):\n%s' },
  PHPASYNC_BENCH_DB_SQL: { exit: 1, message: 'mariadb client exited with %s: %s' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The table's text for `code`, its `%s` filled in order. */
export function errorMessage(code: ErrorCode, ...args: (string | number)[]): string {
  let i = 0;
  return ERRORS[code].message.replace(/%s/g, () => String(args[i++] ?? ''));
}

/** An error of the table: `code` names it, `message` is the table's text. */
export class PhpasyncError extends Error {
  override name = 'PhpasyncError';
  readonly code: ErrorCode;
  /** HTTP status, for the codes that are answers to a client. */
  readonly statusCode: number | undefined;
  /** CLI exit status, for the codes that end the CLI. */
  readonly exitCode: 1 | 2 | undefined;

  /** `at`: where the error is, put before the text (`FILE:LINE:COL: text`). */
  constructor(code: ErrorCode, args: (string | number)[] = [], options?: ErrorOptions & { at?: string }) {
    const text = errorMessage(code, ...args);
    super(options?.at ? `${options.at}: ${text}` : text, options);
    this.code = code;
    const spec: ErrorSpec = ERRORS[code];
    this.statusCode = spec.status;
    this.exitCode = spec.exit;
  }
}

/** Status, reason phrase and text/plain body of an answer the host writes itself. */
export interface HttpAnswer {
  status: number;
  reason: string;
  body: string;
}

export function httpAnswer(code: ErrorCode, ...args: (string | number)[]): HttpAnswer {
  const status: number | undefined = (ERRORS[code] as ErrorSpec).status;
  if (status === undefined) throw new TypeError(`${code} is not an HTTP answer`);
  return { status, reason: STATUS_CODES[status] ?? '', body: `${errorMessage(code, ...args)}\n` };
}
