// request.log for the PHP routes, made on first use. Fastify builds a pino child logger for
// every request (an object, its bindings serialised to JSON, its formatters rebuilt): 7 % of
// the main thread's instructions per hello-world request (callgrind), while a request handed
// to PHP almost never logs through it (PHP's log lines go through the engine's logger).
// Whatever the child would have been (the app's own childLoggerFactory included) is made by
// the same factory the first time the request logs.
import type { IncomingMessage } from 'node:http';

import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

type FastifyChildLoggerFactory = FastifyInstance['childLoggerFactory'];

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type AnyLog = (...args: unknown[]) => void;

class LazyChild {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly server: FastifyInstance,
    private readonly factory: FastifyChildLoggerFactory,
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildOptions,
    private readonly req: IncomingMessage,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.made ??= this.factory.call(this.server, this.parent, this.bindings, this.opts, this.req));
  }

  get level(): string {
    return this.real.level;
  }
  set level(level: string) {
    this.real.level = level;
  }
  fatal(...args: unknown[]): void {
    (this.real.fatal as AnyLog)(...args);
  }
  error(...args: unknown[]): void {
    (this.real.error as AnyLog)(...args);
  }
  warn(...args: unknown[]): void {
    (this.real.warn as AnyLog)(...args);
  }
  info(...args: unknown[]): void {
    (this.real.info as AnyLog)(...args);
  }
  debug(...args: unknown[]): void {
    (this.real.debug as AnyLog)(...args);
  }
  trace(...args: unknown[]): void {
    (this.real.trace as AnyLog)(...args);
  }
  silent(...args: unknown[]): void {
    (this.real.silent as AnyLog)(...args);
  }
  child(bindings: Bindings, opts?: ChildOptions): FastifyBaseLogger {
    return this.real.child(bindings, opts);
  }
  /** pino's, for hooks that ask before building a costly line. */
  isLevelEnabled(level: string): boolean {
    const real = this.real as FastifyBaseLogger & { isLevelEnabled?: (l: string) => boolean };
    return real.isLevelEnabled ? real.isLevelEnabled(level) : true;
  }
}

/** A childLoggerFactory for routes whose requests rarely log: `factory` runs on first use. */
export function lazyChildLoggers(factory: FastifyChildLoggerFactory): FastifyChildLoggerFactory {
  return function (this: FastifyInstance, logger, bindings, opts, req) {
    return new LazyChild(this, factory, logger, bindings, opts, req) as unknown as FastifyBaseLogger;
  };
}
