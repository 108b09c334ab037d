// The Fastify plugin mounted in an existing app (test/fixtures/plugin-app/app.mjs): PHP takes
// only its prefix, the app's JSON routes keep their parsing, and headers the app's hooks set
// (@fastify/cors, @fastify/helmet) reach PHP's responses.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, tempDir } from './helpers/server.js';

let proc: ChildProcess | undefined;
let base = '';
const output: string[] = [];

beforeAll(async () => {
  const worker = path.join(tempDir(), 'worker.php');
  fs.writeFileSync(
    worker,
    `<?php
use FrankenPHP\\HttpServer;
HttpServer::onRequest(function ($req, $res) {
    $res->setHeader('Content-Type', 'application/json');
    if ($req->getUri() === '/php/own-header') $res->setHeader('X-Frame-Options', 'DENY');
    $res->write(json_encode(['php' => $req->getUri(), 'method' => $req->getMethod(), 'body' => $req->getBody()]));
    $res->end();
});`,
  );
  proc = spawn(process.execPath, [path.join(ROOT, 'test/fixtures/plugin-app/app.mjs'), ROOT, worker, '/php'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      output.push(d.toString());
      const m = /listening (http:\/\/127\.0\.0\.1:\d+)/.exec(output.join(''));
      if (m) resolve(m[1]!);
    };
    proc!.stdout!.on('data', onData);
    proc!.stderr!.on('data', onData);
    proc!.once('exit', (code) => reject(new Error(`app exited with ${code}:\n${output.join('')}`)));
  });
});

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
});

describe('the plugin in an existing app', () => {
  it("keeps the app's JSON body parsing on its own routes", async () => {
    const res = await fetch(`${base}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 'object', isBuffer: false, body: { a: 1 } });
  });

  it('sends only the prefix to PHP', async () => {
    expect(await (await fetch(`${base}/api/hello`)).json()).toEqual({ hello: 'js' });
    const notFound = await fetch(`${base}/elsewhere`);
    expect(notFound.status).toBe(404);
    const php = await fetch(`${base}/php/x?y=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"raw":true}' });
    expect(php.status).toBe(200);
    expect(await php.json()).toEqual({ php: '/php/x?y=1', method: 'POST', body: '{"raw":true}' });
    expect(((await (await fetch(`${base}/php`)).json()) as { php: string }).php).toBe('/php');
  });

  it("puts the app's hook headers (cors, helmet) on PHP responses; PHP's own win", async () => {
    const res = await fetch(`${base}/php/x`, { headers: { origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toBe('application/json');
    const own = await fetch(`${base}/php/own-header`);
    expect(own.headers.get('x-frame-options')).toBe('DENY');
  });

  it("logs through request.log of a PHP route with the request's id bound", async () => {
    const res = await fetch(`${base}/php/hook-log`, { headers: { 'x-request-id': 'hook-log-1' } });
    expect(res.status).toBe(200);
    await res.text();
    const lines = () => output.join('').split('\n').filter((l) => l.includes('hook-line') || l.includes('from a child'));
    await expect.poll(() => lines().length).toBe(2);
    const [warn, child] = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(warn).toMatchObject({ level: 40, reqId: expect.any(String), marker: 'hook-line', loggerLevel: 'warn', msg: 'logged from an app hook' });
    expect(child).toMatchObject({ level: 50, reqId: warn!.reqId, sub: 1, msg: 'from a child of the request logger' });
  });
});
