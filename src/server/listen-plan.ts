// Which sockets a config listens on. Addresses sharing a port share a socket: on every
// interface when one of them wants every interface (names and wildcards are matched on the
// Host header, not bound), else one socket per host written (IP literals, localhost). An
// address with port 0 gets its own ephemeral port. Every interface means IPv6 and IPv4 both
// (`::`, dual stack) where the host has IPv6, else 0.0.0.0.
import net from 'node:net';

import type { ListenAddress, PhpasyncConfig, SiteConfig } from '../config/model.js';

export interface PlannedSocket {
  host: string;
  port: number;
  scheme: 'http' | 'https';
  /** The sites reachable through it, each with the address that brought it here. */
  sites: { site: SiteConfig; address: ListenAddress }[];
}

let dualStack: boolean | undefined;

/** Whether `::` can be listened on (IPv6 present). */
async function hasIPv6(): Promise<boolean> {
  dualStack ??= await new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::', () => s.close(() => resolve(true)));
  });
  return dualStack;
}

export async function planSockets(config: PhpasyncConfig, defaultPort: number): Promise<PlannedSocket[]> {
  const all = config.sites.flatMap((site) => site.addresses.map((address) => ({ site, address })));
  if (all.length === 0) return [{ host: '0.0.0.0', port: defaultPort, scheme: 'http', sites: [] }];
  const anyHost = (await hasIPv6()) ? '::' : '0.0.0.0';
  const out: PlannedSocket[] = [];
  const byPort = new Map<number, typeof all>();
  for (const e of all) {
    if (e.address.port === 0) {
      out.push({ host: bindOf(e.address) || anyHost, port: 0, scheme: e.address.scheme, sites: [e] });
      continue;
    }
    const list = byPort.get(e.address.port) ?? [];
    list.push(e);
    byPort.set(e.address.port, list);
  }
  for (const [port, list] of byPort) {
    if (list.some((e) => bindOf(e.address) === '')) {
      out.push({ host: anyHost, port, scheme: list[0]!.address.scheme, sites: list });
      continue;
    }
    const byHost = new Map<string, typeof all>();
    for (const e of list) byHost.set(bindOf(e.address), [...(byHost.get(bindOf(e.address)) ?? []), e]);
    for (const [host, l] of byHost) out.push({ host, port, scheme: l[0]!.address.scheme, sites: l });
  }
  return out;
}

function bindOf(a: ListenAddress): string {
  return a.bind ?? a.host;
}

/** `http://host:port` with IPv6 in brackets, as Fastify prints it. */
export function socketUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
