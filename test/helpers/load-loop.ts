// A load that runs while a test restarts the server under it: clients that each send one GET
// after the other, some on one keep-alive connection each, some on a new connection each time,
// with a short random pause so that connections are idle at random moments too. Anything but a
// 200 (an error, a reset, a 5xx) is a failure, named.
import http from 'node:http';

export interface LoadResult {
  answered: number;
  failures: string[];
  /** Every body seen, in the order the answers came. */
  bodies: string[];
}

function get(url: string, agent: http.Agent | false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to GET ${url} within 20 s`)));
  });
}

export function startLoad(url: string, clients = { keepAlive: 4, fresh: 2 }): { stop(): Promise<LoadResult> } {
  let stopping = false;
  const result: LoadResult = { answered: 0, failures: [], bodies: [] };
  const client = async (agent: http.Agent | false): Promise<void> => {
    while (!stopping) {
      try {
        const r = await get(url, agent);
        if (r.status === 200) {
          result.answered++;
          result.bodies.push(r.body);
        } else result.failures.push(`status ${r.status}: ${r.body}`);
      } catch (err) {
        result.failures.push(`${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, Math.random() * 10));
    }
    if (agent) agent.destroy();
  };
  const all = [
    ...Array.from({ length: clients.keepAlive }, () => client(new http.Agent({ keepAlive: true, maxSockets: 1 }))),
    ...Array.from({ length: clients.fresh }, () => client(false)),
  ];
  return {
    async stop() {
      stopping = true;
      await Promise.all(all);
      return result;
    },
  };
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
