// A site's `log`: one access-log line per request, in Caddy's JSON shape, written when the
// response is over (sent or cut): the request as the client sent it (URI before rewrites),
// how long it took, the body bytes sent, the status and the response headers. 5xx lines are
// level "error", the others "info" (Caddy's rule); `level` drops those below it. Outputs:
// stderr, stdout, discard, or `file PATH` (appended; opened at start, so a path that cannot be
// written fails the start). Sites without `log` pay nothing.
import fs from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

import type { onRequestHookHandler } from 'fastify';

import type { LogConfig, SiteConfig } from '../config/model.js';
import { httpAnswer, PhpasyncError } from './errors.js';
import { send, type Front } from './front.js';

const RANK = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 } as const;

interface Sink {
  write(line: string): void;
  minRank: number;
  logger: string;
}

/** Go's canonical header name (`content-type` → `Content-Type`), as Caddy logs them. */
function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function headerMap(entries: Iterable<[string, unknown]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of entries) {
    if (v === undefined || k.startsWith(':')) continue;
    const list = (out[canonical(k.toLowerCase())] ??= []);
    if (Array.isArray(v)) list.push(...v.map(String));
    else list.push(String(v));
  }
  return out;
}

/** The headers a response went out with: stored ones, or those writeHead was given directly
 * (Node keeps none stored when a handler passes them all to writeHead). */
function responseHeaders(res: ServerResponse, given: unknown): Record<string, string[]> {
  if (res.getHeaderNames().length > 0 || given === undefined) return headerMap(Object.entries(res.getHeaders()));
  if (Array.isArray(given)) {
    const flat = given.flat() as unknown[];
    const pairs: [string, unknown][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([String(flat[i]), flat[i + 1]]);
    return headerMap(pairs);
  }
  return headerMap(Object.entries(given as OutgoingHttpHeaders));
}

function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as Uint8Array).byteLength ?? 0;
}

function openSink(cfg: LogConfig, files: fs.WriteStream[]): Sink | undefined {
  const minRank = RANK[cfg.level ?? 'INFO'];
  const logger = cfg.name ? `http.log.access.${cfg.name}` : 'http.log.access';
  switch (cfg.output.type) {
    case 'discard':
      return undefined;
    case 'stdout':
      return { minRank, logger, write: (l) => process.stdout.write(l) };
    case 'stderr':
      return { minRank, logger, write: (l) => process.stderr.write(l) };
    case 'file': {
      let fd: number;
      try {
        fd = fs.openSync(cfg.output.path, 'a');
      } catch (err) {
        throw new PhpasyncError('PHPASYNC_LOG_FILE', [cfg.output.path, (err as Error).message]);
      }
      const stream = fs.createWriteStream('', { fd });
      files.push(stream);
      return { minRank, logger, write: (l) => stream.write(l) };
    }
  }
}

/** The access logs of a server's sites; their files close with the app. */
export class AccessLogs {
  private readonly files: fs.WriteStream[] = [];

  /** The front with its site's access log around it (the front itself when it has none). */
  wrap(site: SiteConfig, front: Front): Front {
    const sinks = (site.logs ?? []).map((l) => openSink(l, this.files)).filter((s): s is Sink => s !== undefined);
    if (sinks.length === 0) return front;
    const inner = front.hook;
    const hook: onRequestHookHandler = function (request, reply, done) {
      watch(request.raw, reply.raw as ServerResponse, request.protocol === 'https', sinks);
      if (inner) return inner.call(this, request, reply, done);
      if (front.php) return done();
      send(reply, httpAnswer('PHPASYNC_NOT_MATCHED'));
    };
    return { ...front, hook };
  }

  close(): void {
    for (const f of this.files) f.end();
  }
}

function watch(req: IncomingMessage, res: ServerResponse, https: boolean, sinks: Sink[]): void {
  const start = process.hrtime.bigint();
  // Taken now: later directives may rewrite the URI.
  const uri = req.url ?? '/';
  let size = 0;
  let given: unknown;
  // HTTP/2's end(chunk) writes the chunk through write(): counted there only.
  let ending = false;
  const write = res.write;
  res.write = function (this: ServerResponse, chunk: unknown, enc?: unknown, cb?: unknown) {
    if (!ending) size += chunkBytes(chunk, enc);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, enc, cb);
  } as ServerResponse['write'];
  const end = res.end;
  res.end = function (this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown) {
    size += chunkBytes(chunk, enc);
    ending = true;
    try {
      return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, enc, cb);
    } finally {
      ending = false;
    }
  } as ServerResponse['end'];
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    given = typeof args[1] === 'string' ? args[2] : args[1];
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
  res.once('close', () => {
    const status = res.statusCode;
    const level = status >= 500 ? 'error' : 'info';
    const rank = level === 'error' ? RANK.ERROR : RANK.INFO;
    const socket = req.socket as TLSSocket;
    const h2 = req.httpVersionMajor === 2;
    const line = {
      level,
      ts: Date.now() / 1000,
      logger: '',
      msg: 'handled request',
      request: {
        remote_ip: socket.remoteAddress ?? '',
        remote_port: String(socket.remotePort ?? ''),
        client_ip: socket.remoteAddress ?? '',
        proto: `HTTP/${req.httpVersion}`,
        method: req.method ?? '',
        host: req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '',
        uri,
        headers: headerMap(Object.entries(req.headers)),
        ...(https ? { tls: { proto: h2 ? 'h2' : socket.alpnProtocol || 'http/1.1', server_name: (socket as TLSSocket & { servername?: string }).servername || '' } } : {}),
      },
      user_id: '',
      duration: Number(process.hrtime.bigint() - start) / 1e9,
      size,
      status,
      resp_headers: responseHeaders(res, given),
    };
    for (const s of sinks) {
      if (rank < s.minRank) continue;
      line.logger = s.logger;
      s.write(JSON.stringify(line) + '\n');
    }
  });
}
