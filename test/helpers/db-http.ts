// HTTP helpers shared by the test/db-*.test.ts files (the worker is test/fixtures/php/db.php).
import net from 'node:net';

import type { RunningServer } from './server.js';

export interface Answer {
  status: number;
  body: string;
}

export async function get(server: RunningServer, pathAndQuery: string): Promise<Answer> {
  const res = await fetch(server.url + pathAndQuery);
  return { status: res.status, body: await res.text() };
}

/** Sends a request and drops the connection after `ms`, before any answer (a client abort). */
export function abortAfter(server: RunningServer, pathAndQuery: string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.on('error', () => {});
    socket.write(`GET ${pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    setTimeout(() => {
      socket.destroy();
      resolve(got);
    }, ms);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const TX_SCHEMA = 'CREATE TABLE tx_rows (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64) NOT NULL) ENGINE=InnoDB;';
