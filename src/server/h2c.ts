// h2c (`servers { protocols h1 h2c }`): HTTP/2 without TLS, by prior knowledge, on the same
// port as HTTP/1.1, as Caddy serves it. Each new connection's first bytes are looked at: the
// HTTP/2 preface hands it to an HTTP/2 session, anything else to the HTTP/1 server as before.
// Requests of both reach the same 'request' listeners (the request guards, then Fastify).
// The `Upgrade: h2c` dance of HTTP/1.1 is not offered (Node has no support for it).
import type { Server } from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';

/** Marks a socket an HTTP/2 session owns: the shutdown sweep leaves it to the session. */
export const H2C_SOCKET = Symbol('phpasync.h2c');

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface H2c {
  /** Tells every session to go away (GOAWAY); each closes once its streams have ended. */
  closeSessions(): void;
}

/** readHeaderMs: how long a connection may stay without its first byte (0: no bound), as
 * read_header bounds an HTTP/1 request head (no parser runs before the first byte here). */
export function serveH2c(server: Server, readHeaderMs: number): H2c {
  const h2 = http2.createServer();
  h2.on('request', (req, res) => server.emit('request', req, res));
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  const out: H2c = {
    closeSessions() {
      for (const s of sessions) s.close();
    },
  };
  // Node's own HTTP/1 listener, registered when the server was made: it now runs only for
  // connections that are not HTTP/2.
  const [h1] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (!h1) return out;
  server.removeListener('connection', h1);
  server.prependListener('connection', (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0);
    const silent = readHeaderMs > 0 ? setTimeout(() => socket.destroy(), readHeaderMs) : undefined;
    socket.once('close', () => clearTimeout(silent));
    const onData = (chunk: Buffer): void => {
      clearTimeout(silent);
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && seen.length < PREFACE.length) return; // the preface is still arriving
      socket.removeListener('data', onData);
      socket.pause();
      // Back into the socket, to be read again by whoever takes it (both read buffered data first).
      socket.unshift(seen);
      if (isH2) {
        (socket as Socket & { [H2C_SOCKET]?: true })[H2C_SOCKET] = true;
        h2.emit('connection', socket);
      }
      else {
        h1.call(server, socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  });
  return out;
}
