// Informational (1xx) responses from PHP: headers_send(103) sends the headers set so far as
// 103 Early Hints while the code goes on; the final response follows (php/phpa_bridge.h: a HEAD
// frame with a 1xx status).
import { STATUS_CODES, validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2ServerResponse, OutgoingHttpHeaders } from 'node:http2';

import { forHttp2 } from './framing.js';

/**
 * Writes a 1xx head (headers: the flat [name, value, …] list) ahead of the response's own head.
 * Dropped (false) for an HTTP/1.0 client, which a server must not send a 1xx (RFC 9110 §15.2),
 * and once the final head is out. Throws as writeHead() does for a header Node refuses.
 */
export function writeInformational(req: IncomingMessage, res: ServerResponse, status: number, headers: readonly string[]): boolean {
  if (res.headersSent) return false;
  if (req.httpVersionMajor === 2) {
    const h: OutgoingHttpHeaders = { ':status': status };
    const list = forHttp2(headers as string[]);
    for (let i = 0; i + 1 < list.length; i += 2) {
      const name = list[i]!.toLowerCase();
      const had = h[name];
      h[name] = had === undefined ? list[i + 1]! : [...(Array.isArray(had) ? had : [String(had)]), list[i + 1]!];
    }
    (res as unknown as Http2ServerResponse).stream.additionalHeaders(h);
    return true;
  }
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return false;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    validateHeaderName(headers[i]!);
    validateHeaderValue(headers[i]!, headers[i + 1]!);
    head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  }
  // Node's own writeEarlyHints() writes through _writeRaw() too: it queues behind a pipelined
  // response still being written, and the final head follows through the same queue.
  (res as unknown as { _writeRaw(data: string, encoding: BufferEncoding): boolean })._writeRaw(`${head}\r\n`, 'latin1');
  return true;
}
