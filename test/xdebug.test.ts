// Xdebug (Debian's build, loaded with php_ini zend_extension): handlers run in develop mode,
// and a DBGp client can step-debug a handler (a breakpoint inside a coroutine, a variable read).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { startServer, tempDir, type RunningServer } from './helpers/server.js';
import { xdebugExtension } from './helpers/xdebug.js';

const ext = xdebugExtension();
const so = 'so' in ext ? ext.so : '';
if (!so) console.warn(`xdebug tests skipped: ${'reason' in ext ? ext.reason : ''}`);

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.stop('SIGKILL');
  server = undefined;
});

const HANDLER = `<?php
use FrankenPHP\\HttpServer;
HttpServer::onRequest(function ($req, $res) {
    $x = 'value-' . strlen($req->getUri());
    usleep(2000);
    if ($req->getUri() === '/throw') throw new RuntimeException('thrown under xdebug');
    $t = Async\\spawn(fn () => strtoupper($x));
    $res->write("x=$x " . Async\\await($t));
    $res->end();
});
`;

describe.skipIf(!so)('xdebug', () => {
  it('serves concurrent suspending handlers in develop mode, an exception is a 500', async () => {
    server = await startServer({
      workerSource: HANDLER,
      globalExtra: `php_ini zend_extension ${so}\n\t\tphp_ini xdebug.mode develop`,
    });
    const bodies = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${server!.url}/r${i}`).then((r) => r.text())));
    expect(bodies[3]).toBe('x=value-3 VALUE-3');
    expect(bodies[15]).toBe('x=value-4 VALUE-4');
    expect((await fetch(`${server.url}/throw`)).status).toBe(500);
    expect(await (await fetch(`${server.url}/after`)).text()).toBe('x=value-6 VALUE-6');
    expect(server.output.join('\n')).not.toMatch(/restarting the interpreter/);
  });

  it('stops at a breakpoint inside a handler for a DBGp client, then finishes the request', async () => {
    const dir = tempDir();
    const worker = path.join(dir, 'worker.php');
    fs.writeFileSync(worker, HANDLER);
    const client = dbgpClient();
    const port = await client.listening;
    // Xdebug connects while the worker file runs (the interpreter's request start) and waits
    // for the IDE's `run`: the server is ready only after it.
    const starting = startServer({
      worker,
      globalExtra: [
        `php_ini zend_extension ${so}`,
        'php_ini xdebug.mode debug',
        'php_ini xdebug.start_with_request yes',
        'php_ini xdebug.client_host 127.0.0.1',
        `php_ini xdebug.client_port ${port}`,
      ].join('\n\t\t'),
    });
    expect(await client.next()).toContain(`fileuri="file://${worker}"`);
    client.send(`breakpoint_set -i 1 -t line -f file://${worker} -n 5`);
    expect(await client.next()).toMatch(/command="breakpoint_set" transaction_id="1" id="\d+"/);
    client.send('run -i 2');
    server = await starting;
    const response = fetch(`${server.url}/abc`).then((r) => r.text());
    const brk = await client.next();
    expect(brk).toMatch(/command="run" transaction_id="2" status="break" reason="ok"/);
    expect(brk).toContain(`lineno="5"`);
    client.send('property_get -i 3 -n $x');
    const prop = await client.next();
    const value = /<!\[CDATA\[([^\]]*)\]\]>/.exec(prop)?.[1] ?? '';
    expect(Buffer.from(value, 'base64').toString()).toBe('value-4');
    client.send('breakpoint_remove -i 4 -d ' + /id="(\d+)"/.exec(brk)?.[1]);
    await client.next();
    client.send('run -i 5');
    expect(await response).toBe('x=value-4 VALUE-4');
    client.close();
  });
});

/** A DBGp IDE: listens, takes Xdebug's connection, reads `len\0xml\0` packets, sends commands. */
function dbgpClient(): { listening: Promise<number>; next(): Promise<string>; send(cmd: string): void; close(): void } {
  const packets: string[] = [];
  const waiters: ((p: string) => void)[] = [];
  let socket: net.Socket | undefined;
  let buf = Buffer.alloc(0);
  const srv = net.createServer((s) => {
    socket = s;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const a = buf.indexOf(0);
        if (a < 0) break;
        const len = Number(buf.subarray(0, a).toString());
        if (buf.length < a + 1 + len + 1) break;
        const xml = buf.subarray(a + 1, a + 1 + len).toString('latin1');
        buf = buf.subarray(a + 1 + len + 1);
        const w = waiters.shift();
        if (w) w(xml);
        else packets.push(xml);
      }
    });
    s.on('error', () => {});
  });
  const listening = new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
  return {
    listening,
    next: () => {
      const p = packets.shift();
      return p !== undefined ? Promise.resolve(p) : new Promise((resolve) => waiters.push(resolve));
    },
    send: (cmd) => socket!.write(`${cmd}\0`),
    close: () => {
      socket?.destroy();
      srv.close();
    },
  };
}
