// The typed configuration the server consumes. The Caddyfile adapter (src/caddyfile/) produces it;
// `phpasync adapt` prints it as JSON. Every node keeps where it came from so runtime errors can
// point at FILE:LINE.

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** One `worker` entry of the global `frankenphp` block (or of a `php_server` block). */
export interface WorkerConfig {
  /** Absolute path of the worker script. */
  file: string;
  /** Number of PHP threads for this worker. */
  num: number;
  name?: string;
  env: Record<string, string>;
  /** Path matchers (`*`, `/api/*`) routing requests straight to the worker. */
  match: string[];
  /** TrueAsync mode: one coroutine per request on the worker's threads. */
  async: boolean;
  /** Per-thread request ring capacity. Defaults and ranges of the worker's numbers: ENGINE in
   * src/config/defaults.ts; the optional ones below are absent when not written. */
  bufferSize: number;
  /** phpasync: per-thread bound on coroutines serving requests; at the bound the
   * thread stops taking requests from its ring, so overload turns into 503s. */
  maxCoroutines?: number;
  watch: string[];
  maxConsecutiveFailures?: number;
  /** phpasync: a handler running longer is interrupted and answered 504 (ms; 0 = off). */
  requestTimeoutMs?: number;
  /** phpasync: restart a thread's interpreter after this many requests (absent = never). */
  maxRequests?: number;
  source: SourceLocation;
}

export interface FrankenphpGlobalConfig {
  /** `max_wait_time`: how long a request may wait for a ring slot when every ring is full
   * (src/config/defaults.ts MAX_WAIT_MS when unset; 0: 503 at once). */
  maxWaitMs?: number;
  numThreads?: number;
  maxThreads?: number;
  phpIni: Record<string, string>;
  workers: WorkerConfig[];
  source: SourceLocation;
}

export interface ListenAddress {
  scheme: 'http' | 'https';
  /** Empty string means every interface. */
  host: string;
  port: number;
  source: SourceLocation;
  /**
   * Interface to listen on, set by the adapter: the host for IP literals and `localhost`, `''`
   * (every interface) for names and wildcards, which are then matched against the Host header
   * as Caddy does. When absent, listen on `host`.
   */
  bind?: string;
}

/** A directive of a site block, in the order Caddy would run it. */
export interface DirectiveConfig {
  name: string;
  args: string[];
  /** Nested directives (route/handle/php_server bodies). */
  children: DirectiveConfig[];
  /** Matcher token the directive was written with (`*`, `/path/*`, `@name`), if any. */
  matcher?: string;
  source: SourceLocation;

  // --- Added by the adapter (all optional so hand-built configs stay valid) ---

  /** The matcher resolved to its definition; absent when the directive applies to every request. */
  match?: MatcherConfig;
  /**
   * Mutually exclusive siblings (Caddy's rule for `rewrite`, `handle`/`handle_path`, `root`):
   * among directives of one children list with the same group, only the first whose matcher
   * matches runs. Absent when the directive is alone of its kind in that list.
   */
  group?: string;
  /** `root`: absolute site root. */
  root?: string;
  /** `rewrite`: the new URI (placeholders kept, in their long form). */
  rewrite?: RewriteConfig;
  /** `uri`: path manipulation. */
  uri?: UriConfig;
  /** `handle_path`: the path prefix stripped before the children run. */
  stripPrefix?: string;
  phpServer?: PhpServerConfig;
  php?: PhpConfig;
  fileServer?: FileServerConfig;
  respond?: RespondConfig;
  redir?: RedirConfig;
  header?: HeaderConfig;
  encode?: EncodeConfig;
  requestBody?: RequestBodyConfig;
  /** `reverse_proxy`. */
  proxy?: ProxyConfig;
}

export interface SiteConfig {
  addresses: ListenAddress[];
  root?: string;
  directives: DirectiveConfig[];
  source: SourceLocation;
  /** Named matchers defined in the site (`@name ...`), by name without the `@`. */
  matchers?: Record<string, MatcherConfig>;
  /** `tls <cert> <key>` (or `tls internal`, which the runtime may refuse). */
  tls?: TlsConfig;
  /** `log` blocks of the site. */
  logs?: LogConfig[];
}

export interface PhpasyncConfig {
  /** The Caddyfile this came from (absolute path). */
  configFile: string;
  frankenphp?: FrankenphpGlobalConfig;
  sites: SiteConfig[];
  /** Caddy global options other than `frankenphp` (absent when there is no global block). */
  global?: GlobalOptions;
}

// ---------------------------------------------------------------------------------------------
// Typed views of directives. Placeholders in strings are kept, normalized to Caddy's long form
// (`{path}` becomes `{http.request.uri.path}`), so the runtime resolves one spelling only.
// ---------------------------------------------------------------------------------------------

/**
 * A request matcher. Different kinds are ANDed; the values of one kind are ORed (Caddy's rule).
 * Path patterns use Caddy's syntax: exact, `/prefix*`, `*suffix`, `*sub*`; `*` alone matches all.
 */
export interface MatcherConfig {
  /** `@name` matchers keep their name (without `@`); inline `/path` matchers have none. */
  name?: string;
  path?: string[];
  /** JavaScript RegExp source (RE2's `(?P<x>` rewritten to `(?<x>`; a leading `(?i)` moved to flags). */
  pathRegexp?: { name?: string; pattern: string; flags: string };
  /** Upper-case method names. */
  method?: string[];
  /** Header field (as written) to the values any of which must match; `*` wildcards allowed. */
  header?: Record<string, string[]>;
  /** Header fields that must be absent (`header !Field`). */
  headerAbsent?: string[];
  /** Query key to accepted values (`*` = any value). */
  query?: Record<string, string[]>;
  host?: string[];
  /** The request matches only if none of these match. */
  not?: MatcherConfig[];
  source: SourceLocation;
}

export interface RewriteConfig {
  to: string;
}

export type UriConfig =
  | { op: 'strip_prefix'; prefix: string }
  | { op: 'strip_suffix'; suffix: string }
  | { op: 'replace'; find: string; replace: string; limit?: number }
  | { op: 'path_regexp'; pattern: string; replace: string };

/** FrankenPHP's `php_server`: PHP + static files + index fallback for one site (or matcher). */
export interface PhpServerConfig {
  /** Absolute; absent = the site's `root`. */
  root?: string;
  /** File served for directories and as the fallback; `false` = `index off`. Default `index.php`. */
  index: string | false;
  /** Serve non-PHP files from the root (`file_server off` turns it off). */
  fileServer: boolean;
  /** Extensions that split the path into SCRIPT_NAME and PATH_INFO. Default `['.php']`. */
  splitPath: string[];
  env: Record<string, string>;
  resolveRootSymlink: boolean;
  /** Workers declared inside the block (files resolved against `root`). */
  workers: WorkerConfig[];
}

/** FrankenPHP's `php`: runs the PHP script the request points at, nothing else. */
export interface PhpConfig {
  root?: string;
  splitPath: string[];
  env: Record<string, string>;
  resolveRootSymlink: boolean;
  workers: WorkerConfig[];
}

export interface FileServerConfig {
  root?: string;
  /** Default `['index.html', 'index.txt']`. */
  index: string[];
  /** `hide`: file names (globs, matched against every path element) or absolute paths. */
  hide?: string[];
  /** `precompressed`: sibling files tried for clients that accept them, in this order. */
  precompressed?: ('br' | 'gzip' | 'zstd')[];
}

export interface RespondConfig {
  status: number;
  body: string;
  /** Close the connection after responding. */
  close: boolean;
}

export interface RedirConfig {
  to: string;
  status: number;
  /** `redir ... html`: answer 200 with an HTML page that redirects. */
  html: boolean;
}

export interface HeaderOp {
  /** set (`Field v`), add (`+Field v`), delete (`-Field`), default (`?Field v`), replace (`Field find repl`). */
  op: 'set' | 'add' | 'delete' | 'default' | 'replace';
  field: string;
  value?: string;
  find?: string;
}

export interface HeaderConfig {
  ops: HeaderOp[];
  /** Apply when the response is written rather than before the next handler (`defer`, `>Field`). */
  defer: boolean;
}

export interface EncodeConfig {
  /** In order of preference. */
  formats: { name: 'zstd' | 'gzip' | 'br'; level?: number }[];
  /** Bytes; smaller responses are not compressed. Caddy's default is 512. */
  minimumLength: number;
}

export interface RequestBodyConfig {
  /** Bytes. */
  maxSize?: number;
}

/** `reverse_proxy`: http upstreams, balanced, with optional active and passive health checks. */
export interface ProxyConfig {
  /** Origins, `http://host:port`. */
  upstreams: string[];
  lbPolicy: 'random' | 'round_robin' | 'first' | 'least_conn';
  /** Active checks: GET this path on each upstream every healthIntervalMs (Caddy: 30 s). */
  healthUri?: string;
  healthIntervalMs?: number;
  /** Caddy: 5 s. */
  healthTimeoutMs?: number;
  /** Statuses (`200`, `2xx`) a check must answer; absent: any 2xx. */
  healthStatus?: string[];
  /** Passive checks (on when set): a failed request counts against its upstream this long. */
  failDurationMs?: number;
  /** Failures within failDurationMs that mark an upstream down (Caddy: 1). */
  maxFails: number;
  /** Upstream answers counted as failures by the passive check. */
  unhealthyStatus?: string[];
}

export interface TlsConfig {
  /** Absolute paths of the PEM certificate chain and key. */
  certFile?: string;
  keyFile?: string;
  /** `tls internal`: a locally issued certificate. */
  internal: boolean;
  /** `tls you@example.com`: an ACME account (automatic HTTPS). */
  email?: string;
  source: SourceLocation;
}

export interface LogConfig {
  /** `log name { ... }`. */
  name?: string;
  output: { type: 'stdout' | 'stderr' | 'discard' } | { type: 'file'; path: string };
  format: 'console' | 'json';
  level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  source: SourceLocation;
}

export interface GlobalOptions {
  debug: boolean;
  httpPort?: number;
  httpsPort?: number;
  /** `admin off` → false; an address serves /health/* (and /metrics with `metrics`): no config API. */
  admin?: string | false;
  /** `metrics`: Prometheus metrics on the admin address (localhost:2019 unless `admin` says). */
  metrics?: boolean;
  /** `auto_https off|disable_redirects|...` as written. */
  autoHttps?: string;
  /** How long in-flight requests may run on after SIGTERM/SIGINT before they are cancelled:
   * `drain_timeout`, or Caddy's `grace_period` (the same setting; default: DRAIN_TIMEOUT_MS). */
  drainTimeoutMs?: number;
  shutdownDelayMs?: number;
  /** `processes N`: N supervised processes share the address (src/supervisor/); on an NTS PHP
   * a worker's `num N` alone asks for the same. */
  processes?: number;
  /** `servers { timeouts { … } }`: the HTTP server's timeouts as written (0 = none); absent
   * ones take the runtime's defaults (HTTP_TIMEOUTS in src/config/defaults.ts). */
  timeouts?: ServerTimeouts;
  /** `servers { protocols … }`: Caddy's default is h1 h2 h3. */
  protocols?: ('h1' | 'h2' | 'h2c' | 'h3')[];
  /** Default logger (`log { ... }` in the global block). */
  log?: LogConfig;
  source: SourceLocation;
}

/** Caddy's `servers { timeouts { read_body read_header write idle } }`, in milliseconds. */
export interface ServerTimeouts {
  /** Whole request, headers and body, from its first byte (Node's requestTimeout); 408 past it. */
  readBodyMs?: number;
  /** Request headers (Node's headersTimeout); 408 past it. */
  readHeaderMs?: number;
  /** How long the writing of a response may make no progress (the client reads nothing)
   * before the connection is cut. Caddy's is a deadline for the whole response; see README. */
  writeMs?: number;
  /** Keep-alive connection without a request (Node's keepAliveTimeout). */
  idleMs?: number;
  source: SourceLocation;
}
