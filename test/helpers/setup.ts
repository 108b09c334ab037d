// Runs in every test file (vitest setupFiles). Registered first, this afterAll runs after the
// file's own: what a failed or timed-out test left running is killed, not left behind.
import { afterAll } from 'vitest';

import { killRunningServers } from './server.js';

afterAll(() => {
  killRunningServers();
});
