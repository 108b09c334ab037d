// A whole response is written by src/server/whole-response.ts (head built there, one write) when
// its connection is plain; otherwise by Node's writeHead() + end(). Each case is sent to a
// server of each kind (PHPASYNC_WHOLE_RESPONSE=0 keeps Node's path): the bytes must be the same
// less the Date, and the stats route says which path answered.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './helpers/server.js';

// The handler answers what the query asks: status, headers (h=Name:value, repeated), a body of
// n bytes, then each `body` in a write() of its own, and `sleep` ms before it answers.
const WORKER = `<?php
use FrankenPHP\\HttpServer;
HttpServer::onRequest(function ($req, $res) {
    $q = [];
    foreach (explode('&', (string) parse_url($req->getUri(), PHP_URL_QUERY)) as $kv) {
        if ($kv === '') continue;
        [$k, $v] = array_pad(explode('=', $kv, 2), 2, '');
        $q[$k][] = rawurldecode($v);
    }
    if (isset($q['sleep'])) Async\\delay((int) $q['sleep'][0]);
    if (isset($q['status'])) $res->setStatus((int) $q['status'][0]);
    foreach ($q['h'] ?? [] as $h) {
        [$name, $value] = explode(':', $h, 2);
        $res->addHeader($name, $value);
    }
    if (isset($q['n'])) $res->write(str_repeat(chr(97 + (int) ($q['seq'][0] ?? 0) % 26), (int) $q['n'][0]));
    foreach ($q['body'] ?? [] as $b) $res->write($b);
});
`;

let whole: RunningServer;
let node: RunningServer;
beforeAll(async () => {
  [whole, node] = await Promise.all([
    startServer({ workerSource: WORKER, env: { PHPASYNC_TEST_STATS: '1' } }),
    startServer({ workerSource: WORKER, env: { PHPASYNC_TEST_STATS: '1', PHPASYNC_WHOLE_RESPONSE: '0' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([whole.stop(), node.stop()]);
});

/** Writes `raw` on a fresh connection; resolves with all that was read once the server closes
 * it or `until` says the answer is complete (then the connection is closed here). */
function exchange(port: number, raw: string, until?: (got: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(raw));
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (until?.(buf)) {
        s.destroy();
        resolve(buf);
      }
    });
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
}

async function wholeWritten(server: RunningServer): Promise<number> {
  const r = await fetch(`${server.url}/__phpasync/stats`);
  return ((await r.json()) as { wholeWritten: number }).wholeWritten;
}

const noDate = (raw: string): string => raw.replace(/\r\nDate: [^\r]*\r\n/gi, '\r\nDate: -\r\n').replace(/x-request-id: req-\w+/gi, 'x-request-id: req-N');

/** Responses on one connection are complete once `count` heads and their bodies are in
 * (heads only: answers to HEAD). */
function responses(count: number, headsOnly = false): (got: string) => boolean {
  return (got) => {
    let at = 0;
    for (let i = 0; i < count; i++) {
      const end = got.indexOf('\r\n\r\n', at);
      if (end < 0) return false;
      const len = /\r\ncontent-length: (\d+)/i.exec(got.slice(at, end));
      at = end + 4 + (len && !headsOnly ? Number(len[1]) : 0);
      if (at > got.length) return false;
    }
    return true;
  };
}

interface Case {
  name: string;
  raw: string;
  /** Responses expected before the connection may be closed here (keep-alive). */
  count: number;
  /** Whether the whole-response path answers it (Node's otherwise). */
  whole: boolean;
  /** The status answered (200 unless said). */
  status?: number;
  /** A HEAD request: no body follows the head. */
  head?: true;
  /** Heads read before the connection may be closed here, when more than count (100 Continue). */
  heads?: number;
}

const get = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;

const CASES: Case[] = [
  { name: 'plain 200', raw: get('/?body=hello'), count: 1, whole: true },
  { name: 'empty body', raw: get('/'), count: 1, whole: true },
  { name: 'status and repeated headers', raw: get('/?status=201&h=Set-Cookie:a%3D1&h=Set-Cookie:b%3D2&h=X-A:%20spaced%20&body=x'), count: 1, whole: true, status: 201 },
  { name: 'bytes above 0x7f in a value', raw: get('/?h=X-Latin:caf%E9&body=%E9'), count: 1, whole: true },
  { name: 'a wrong Content-Length from PHP', raw: get('/?h=Content-Length:99&body=abc'), count: 1, whole: true },
  { name: 'a status without a reason', raw: get('/?status=299&body=x'), count: 1, whole: false, status: 299 },
  { name: '204', raw: get('/?status=204'), count: 1, whole: false, status: 204 },
  { name: '304', raw: get('/?status=304'), count: 1, whole: false, status: 304 },
  { name: 'HEAD', raw: `HEAD /?body=hello HTTP/1.1\r\nHost: t\r\n\r\n`, count: 1, whole: false, head: true },
  { name: 'Connection: close from PHP', raw: get('/?h=Connection:close&body=x'), count: 1, whole: false },
  { name: 'Date from PHP', raw: get('/?h=Date:yesterday&body=x'), count: 1, whole: false },
  { name: 'Keep-Alive from PHP', raw: get('/?h=Keep-Alive:timeout%3D1&body=x'), count: 1, whole: false },
  { name: 'Connection: close from the client', raw: get('/?body=x', 'Connection: close\r\n'), count: 1, whole: false },
  { name: 'HTTP/1.0', raw: 'GET /?body=x HTTP/1.0\r\nHost: t\r\n\r\n', count: 1, whole: false },
  { name: 'HTTP/1.0 keep-alive', raw: 'GET /?body=x HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n', count: 1, whole: false },
  // PHP refuses these bytes where the handler can catch it (php/server/response.c): the
  // handler fails and its 500 is a plain whole response.
  { name: 'a control byte in a value', raw: get('/?h=X-Bad:a%01b&body=x'), count: 1, whole: true, status: 500 },
  { name: 'a name that is not a token', raw: get('/?h=X%20Bad:v&body=x'), count: 1, whole: true, status: 500 },
  { name: 'a body over the copy threshold (a Buffer)', raw: get('/?n=70000'), count: 1, whole: false },
  { name: 'several writes', raw: get('/?body=a&body=bb&body=%E9%00c'), count: 1, whole: true },
  { name: 'a write over the copy threshold among short ones', raw: get('/?n=70000&body=a&body=b'), count: 1, whole: false },
  { name: 'a request with a body (Fastify\'s route)', raw: 'POST /?body=x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc', count: 1, whole: true },
  {
    name: 'a request expecting 100 Continue',
    raw: 'POST /?body=x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc',
    count: 1,
    heads: 2,
    whole: true,
    status: 100,
  },
];

describe('whole responses written in one write', () => {
  for (const c of CASES) {
    it(`${c.name}: the same bytes as writeHead() + end(), through the ${c.whole ? 'whole-response' : "Node's"} path`, async () => {
      const before = await wholeWritten(whole);
      const done = responses(c.heads ?? c.count, c.head);
      const [a, b] = await Promise.all([exchange(whole.port, c.raw, done), exchange(node.port, c.raw, done)]);
      expect(a).toMatch(new RegExp(`^HTTP/1\\.[01] ${c.status ?? 200} `));
      expect(noDate(a)).toBe(noDate(b));
      expect((await wholeWritten(whole)) - before).toBe(c.whole ? c.count : 0);
    });
  }

  it('never takes the path on the server that has it off', async () => {
    await exchange(node.port, get('/?body=x'), responses(1));
    expect(await wholeWritten(node)).toBe(0);
  });

  it('keeps 40 pipelined answers in order, the later ones queued behind a slower one', async () => {
    let raw = '';
    for (let i = 0; i < 40; i++) raw += get(`/?body=r${i}${i === 0 ? '&sleep=50' : ''}`);
    const out = await exchange(whole.port, raw, responses(40));
    expect([...out.matchAll(/\r\n\r\n(r\d+)/g)].map((m) => m[1])).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
  });

  it('answers a client that reads nothing for a while: 400 pipelined 16 KB responses arrive whole and in order', async () => {
    const n = 400;
    const size = 16_000;
    const out = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(whole.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let total = 0;
      let raw = '';
      for (let i = 0; i < n; i++) raw += get(`/?n=${size}&seq=${i}`);
      s.write(raw);
      // Not read until the server has had time to fill the socket's buffers.
      s.pause();
      setTimeout(() => s.resume(), 300);
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        total += d.length;
        if (total >= n * size) {
          const all = Buffer.concat(chunks);
          if (responses(n)(all.toString('latin1'))) {
            s.destroy();
            resolve(all);
          }
        }
      });
      s.on('error', reject);
      s.on('end', () => resolve(Buffer.concat(chunks)));
    });
    const text = out.toString('latin1');
    const bodies = text.split(/HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\n/).slice(1);
    expect(bodies).toHaveLength(n);
    bodies.forEach((b, i) => expect(b, `response ${i}`).toBe(String.fromCharCode(97 + (i % 26)).repeat(size)));
  });

  it('answers a client that reset its connection mid-response, and the next client alike', async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(whole.port, '127.0.0.1', () => {
        s.write(get('/?n=16000&sleep=20') + get('/?n=16000'));
        setTimeout(() => {
          s.resetAndDestroy();
          resolve();
        }, 5);
      });
      s.on('error', () => {});
    });
    const out = await exchange(whole.port, get('/?body=after'), responses(1));
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nafter$/);
  });
});
