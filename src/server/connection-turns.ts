// Pipelined HTTP/1.1 requests of one connection reach PHP one at a time, as Go's net/http (so
// FrankenPHP) and nginx serve them: Node parses every request of a read at once and would hand
// them all to PHP together, so one connection writing thousands of requests in one packet
// filled the rings, got half of them answered 503 and made other clients wait.
//
// Node answers a connection's requests in order: a response whose connection is still busy
// with an earlier one has no socket yet (`res.socket` is null) and gets it, with a 'socket'
// event, once the earlier response has finished. Such a request goes to PHP then. Once
// PAUSE_AT wait, the connection is not read until none does (Node's own flag for this,
// `_paused`, which its parser and its 'resume' handler honour): the queue is bounded by one
// read's worth of requests. A few waiting ones keep it read, so that a request pipelined
// behind them while the server drains is still read and answered (503, Connection: close).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const WAITING = Symbol('phpasync.waitingTurns');
const PAUSE_AT = 16;

/** The fields of Node's HTTP server state on a connection this file relies on (Node 18-22). */
type ServerSocket = Socket & {
  _paused?: boolean;
  parser?: { resume(): void } | null;
  [WAITING]?: number;
};

/** True when the request must wait for the connection's earlier responses first. */
export function mustWaitTurn(req: IncomingMessage, res: ServerResponse): boolean {
  return res.socket === null && req.httpVersionMajor === 1;
}

/** Runs `start` once the earlier responses on the request's connection have finished; the
 * connection is not read while PAUSE_AT or more wait. Never runs it if the connection closes
 * first. */
export function whenTurnComes(req: IncomingMessage, res: ServerResponse, start: () => void): void {
  const socket = req.socket as ServerSocket;
  socket[WAITING] = (socket[WAITING] ?? 0) + 1;
  if (socket[WAITING] >= PAUSE_AT && !socket._paused) {
    socket._paused = true;
    socket.pause();
  }
  res.once('socket', () => {
    socket[WAITING]! -= 1;
    // A client not reading its responses keeps the connection paused: Node resumes it on drain.
    if (socket[WAITING] === 0 && socket._paused && !socket.destroyed && !socket.writableNeedDrain) {
      socket._paused = false;
      socket.parser?.resume();
      socket.resume();
    }
    start();
  });
}
