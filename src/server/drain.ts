// Graceful close of the HTTP connections on SIGTERM/SIGINT: no answered request loses bytes,
// and no keep-alive client is reset while it may be sending.
//
// Node's server.close() calls closeIdleConnections(), which destroys every connection without
// a request being read, including one whose response has ended but is still being written to
// a slow client (measured: 2.8 of 20 MiB delivered), and keep-alive connections a client may
// be sending its next request on (reset, no response). Here closeIdleConnections() is replaced
// on the server: a connection is closed only once no response of it is still being written
// and it has been idle for IDLE_GRACE_MS (a client that sends again within that time gets 503
// + Connection: close from Fastify, which is closing); what is still open when the drain time
// is over is cut.
//
// Idle means no request begun either: a request whose head is still arriving has no response
// yet, but closing then resets it unanswered (Node's parser knows; bytes read since the last
// sweep are the fallback sign). And nothing waiting in the kernel's receive queue: the
// sweep runs on a timer, before the event loop reads the sockets, so after a stall (a loaded
// machine, a GC pause, a long poll phase) a request already there would be reset with the
// connection (closing a socket with unread bytes sends RST, no FIN). What stays unavoidable is
// TCP's own race: a request the client sends after the server's FIN is on the wire.
import type { Server, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import tls from 'node:tls';

import { socketUnread } from '../native/index.js';
import { H2C_SOCKET } from './h2c.js';
import { closeOnceAccepted } from './listener-close.js';

/** Quiet time after which an idle keep-alive connection is closed during a drain. */
export const IDLE_GRACE_MS = 250;

export interface ConnectionDrain {
  /** Destroys every connection still open (the drain time is over). Returns how many. */
  cutAll(): number;
}

type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };
type WithHandle = { _handle?: { fd?: number } | null; _parent?: WithHandle };
interface ConnectionsList {
  idle(): { socket: unknown }[];
}

export function gracefulConnections(server: Server): ConnectionDrain {
  // Open connections: when the sweep first saw them idle (0: not idle when last seen), and
  // how many bytes had been read from them then. Nothing is done per request: Node keeps the
  // response being written on the socket (_httpMessage, from its request's headers until its
  // last byte went to the kernel).
  const conns = new Map<HttpSocket, { idleSince: number; bytesRead: number }>();
  // Over TLS the response sits on the TLS socket, known once the handshake is done.
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: HttpSocket) => {
    conns.set(socket, { idleSince: 0, bytesRead: 0 });
    socket.once('close', () => conns.delete(socket));
  });

  const busy = (socket: HttpSocket): boolean =>
    // HTTP/2 sessions are closed by Fastify (GOAWAY, then closed once their streams end).
    Boolean(socket._httpMessage) || (socket as Partial<tls.TLSSocket>).alpnProtocol === 'h2' || H2C_SOCKET in socket;
  // Over TLS, the request bytes decrypted so far.
  const bytesRead = (socket: HttpSocket): number => socket.bytesRead;
  // Bytes the kernel holds for the connection that Node has not read (over TLS, on the TCP
  // socket under it); 0 where unknown.
  const unread = (socket: HttpSocket): number => {
    const s = socket as unknown as WithHandle;
    const fd = (s._parent ?? s)._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? Math.max(0, socketUnread(fd)) : 0;
  };
  // Node's HTTP/1 parser knows a request whose head is still arriving (it began a message); its
  // list of connections between messages is internal (the one closeIdleConnections() reads):
  // where this Node has none, bytes read since the last sweep are the only sign.
  const betweenMessages = (): Set<unknown> | undefined => {
    const key = Object.getOwnPropertySymbols(server).find((k) => k.description === 'http.server.connections');
    const parsers = key && (server as unknown as Record<symbol, ConnectionsList | undefined>)[key];
    if (typeof parsers?.idle !== 'function') return undefined;
    return new Set(parsers.idle().map((p) => p.socket));
  };

  let sweeping: NodeJS.Timeout | undefined;
  const sweep = (): void => {
    const now = Date.now();
    const due: HttpSocket[] = [];
    for (const [socket, state] of conns) {
      const read = bytesRead(socket);
      if (busy(socket) || read !== state.bytesRead) {
        state.idleSince = 0;
        state.bytesRead = read;
      } else if (state.idleSince === 0) state.idleSince = now;
      else if (now - state.idleSince >= IDLE_GRACE_MS) due.push(socket);
    }
    // Timers run before the poll phase: what the kernel holds for these sockets is read first,
    // then they are closed unless that started a request. Bytes that arrived while that poll
    // phase ran (it can run long on a loaded machine) are still in the kernel: not closed either.
    if (due.length > 0) {
      setImmediate(() => {
        const idle = betweenMessages();
        for (const socket of due) {
          const state = conns.get(socket);
          if (!state) continue;
          const quiet = !busy(socket) && bytesRead(socket) === state.bytesRead && unread(socket) === 0;
          if (quiet && (idle === undefined || idle.has(socket))) socket.destroy();
          else state.idleSince = 0;
        }
      }).unref();
    }
    sweeping = conns.size > 0 ? setTimeout(sweep, 50) : undefined;
    sweeping?.unref();
  };
  // HTTP/2 sessions keep server.close() waiting (Node 20 does not close them): told to go
  // away when it is called, each closes once its streams in flight have ended.
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    closeOnceAccepted(server, () => close(cb));
    for (const session of sessions) session.close();
    return server;
  }) as Server['close'];

  // Called by server.close() (Fastify's close, after its preClose hooks).
  server.closeIdleConnections = (): void => {
    if (!sweeping) sweep();
  };
  return {
    cutAll() {
      const n = conns.size;
      for (const socket of conns.keys()) socket.destroy();
      return n;
    },
  };
}
