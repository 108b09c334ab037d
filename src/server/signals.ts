// Signals phpasync does not act on, ignored as Caddy ignores them (SIGHUP, SIGUSR1, SIGUSR2:
// logged "not implemented"), so that none of them kills the server without a drain. SIGUSR1
// matters most: by default Node opens its inspector on 127.0.0.1:9229 when it gets one, which
// would let any local user run code in the server. Node 20 has no --disable-sigusr1; a JS
// listener makes libuv take over the signal's handler, so Node's inspector trigger never runs.
// Imported first by src/cli/main.ts (it loads no addon): only the time Node takes to load the CLI's modules is uncovered.

export const IGNORED_SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const;

type Reporter = (signal: NodeJS.Signals) => void;

let reporter: Reporter = (signal) => {
  process.stderr.write(`phpasync: ${signal} ignored (not implemented; stop with SIGTERM or Ctrl-C)\n`);
};

/** Where the "ignored" line goes once a logger exists (the server's pino logger). */
export function reportIgnoredSignalsWith(r: Reporter): void {
  reporter = r;
}

for (const signal of IGNORED_SIGNALS) process.on(signal, () => reporter(signal));
