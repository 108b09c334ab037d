// Caddy's `admin` address as phpasync serves it: `host:port`, `:port` (loopback), `[::1]:port`;
// unix sockets and the config API are not served.

export const DEFAULT_ADMIN_ADDRESS = 'localhost:2019';

export function parseAdminAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address.replace(/^tcp\//, ''));
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]!), port };
}
