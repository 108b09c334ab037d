// The Fastify reference app (servers/fastify-app.ts) in its own process.

import { FASTIFY_APP } from '../paths.js';
import { listeningLine, spawnServer, type ServerHandle } from './child.js';

export function startFastify(): Promise<ServerHandle> {
  return spawnServer({ command: process.execPath, args: [FASTIFY_APP], listening: listeningLine });
}
