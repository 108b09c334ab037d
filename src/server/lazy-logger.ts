// request.log for the PHP routes, made on first use. Fastify builds a pino child logger for
// every request (an object, its bindings serialised to JSON, its formatters rebuilt): 7 % of
// the main thread's instructions per hello-world request (callgrind), while a request handed
// to PHP almost never logs through it (PHP's log lines go through the engine's logger).
// Whatever the child would have been (the app's own childLoggerFactory included) is made by
// the same factory the first time the request logs.
// The CLI's app makes every child of its logger lazy instead (lazyAppChildren): Fastify's
// default childLoggerFactory then serves the PHP routes too, and Fastify checks a route's own
// factory's every child (validateLogger: an array, a filter and 14 megamorphic lookups, ~2.8k
// main-thread instructions per hello request under callgrind) but not its default's.
import type { IncomingMessage } from 'node:http';

import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

type FastifyChildLoggerFactory = FastifyInstance['childLoggerFactory'];

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type AnyLog = (...args: unknown[]) => void;

/** Makes the real child: one per factory, shared by its children. */
interface ChildMaker {
  make(parent: FastifyBaseLogger, bindings: Bindings, opts: ChildOptions, req: IncomingMessage | undefined): FastifyBaseLogger;
}

class LazyChild {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly maker: ChildMaker,
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildOptions | undefined,
    private readonly req: IncomingMessage | undefined,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.made ??= this.maker.make(this.parent, this.bindings, this.opts ?? {}, this.req));
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
  let maker: (ChildMaker & { server: FastifyInstance }) | undefined;
  return function (this: FastifyInstance, logger, bindings, opts, req) {
    // `this` is the route's instance: the same for every request of the route.
    if (maker?.server !== this) {
      const server = this;
      maker = { server, make: (parent, b, o, r) => factory.call(server, parent, b, o, r!) };
    }
    return new LazyChild(maker, logger, bindings, opts, req) as unknown as FastifyBaseLogger;
  };
}

/** On the app's logger: the childLoggerFactory its children were made lazy under. */
const LAZY_UNDER = Symbol('phpasync.lazyChildrenUnder');
type Marked = FastifyBaseLogger & { [LAZY_UNDER]?: FastifyChildLoggerFactory };

/**
 * Every child of the app's logger is made on first use, request loggers included (Fastify's
 * default childLoggerFactory calls the app logger's child() per request). pino's children
 * inherit from their parent, so they inherit this child() too: `this` is the parent.
 */
export function lazyAppChildren(app: FastifyInstance): void {
  const log = app.log as Marked;
  const child = log.child;
  const maker: ChildMaker = { make: (parent, bindings, opts) => child.call(parent, bindings, opts) };
  log.child = function (this: FastifyBaseLogger, bindings: Bindings, opts?: ChildOptions): FastifyBaseLogger {
    return new LazyChild(maker, this, bindings, opts, undefined) as unknown as FastifyBaseLogger;
  };
  log[LAZY_UNDER] = app.childLoggerFactory;
}

/** True when the scope's request loggers are lazy already: its logger's children are (see
 * lazyAppChildren) and it makes them with the factory they were made lazy under. */
export function requestLoggersLazy(scope: FastifyInstance): boolean {
  const under = (scope.log as Marked)[LAZY_UNDER];
  return under !== undefined && under === scope.childLoggerFactory;
}
