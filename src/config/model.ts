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
  /** Per-thread request ring capacity, 1..1000 (default 20). */
  bufferSize: number;
  watch: string[];
  maxConsecutiveFailures?: number;
  source: SourceLocation;
}

export interface FrankenphpGlobalConfig {
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
}

export interface SiteConfig {
  addresses: ListenAddress[];
  root?: string;
  directives: DirectiveConfig[];
  source: SourceLocation;
}

export interface PhpasyncConfig {
  /** The Caddyfile this came from (absolute path). */
  configFile: string;
  frankenphp?: FrankenphpGlobalConfig;
  sites: SiteConfig[];
}
