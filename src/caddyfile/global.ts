// The global options block `{ … }` at the top of a Caddyfile, including FrankenPHP's
// `frankenphp { … }` and Caddy's `order`.

import type { FrankenphpGlobalConfig, GlobalOptions, ServerTimeouts, SourceLocation } from '../config/model.js';
import { PROCESSES } from '../config/defaults.js';
import { parseLog, type AdaptContext } from './context.js';
import { eachSubdirective, intValue, type Line } from './line.js';
import type { Node } from './parser.js';
import { parseDuration } from './units.js';
import { parseWorker } from './worker.js';
import type { DirectiveOrder } from './order.js';

/** Caddy global options phpasync cannot honour: an error rather than silence. */
const UNSUPPORTED_GLOBALS = [
  'acme_ca',
  'acme_ca_root',
  'acme_dns',
  'acme_eab',
  'cert_issuer',
  'default_bind',
  'default_sni',
  'email',
  'events',
  'filesystem',
  'key_type',
  'local_certs',
  'ocsp_interval',
  'ocsp_stapling',
  'on_demand_tls',
  'persist_config',
  'pki',
  'preferred_chains',
  'renew_interval',
  'skip_install_trust',
  'storage',
  'storage_clean_interval',
];

export interface GlobalResult {
  global: GlobalOptions;
  frankenphp?: FrankenphpGlobalConfig;
  /** Where num_threads was written, for the "too few threads" error found after the sites. */
  numThreadsAt?: SourceLocation;
}

export function parseGlobalBlock(node: Node, ctx: AdaptContext, order: DirectiveOrder): GlobalResult {
  const global: GlobalOptions = { debug: false, source: { ...node.head.loc } };
  let frankenphp: FrankenphpGlobalConfig | undefined;
  const at: { numThreads?: SourceLocation } = {};
  const seen = new Set<string>();
  const once = (l: Line): void => {
    if (seen.has(l.name) && l.name !== 'order') l.fail(`global option ${l.name} is given twice`);
    seen.add(l.name);
  };
  // drain_timeout (phpasync's name) and grace_period (Caddy's) are one setting: one of them.
  let drainSetBy: Line | undefined;
  const drainTime = (l: Line): void => {
    once(l);
    if (drainSetBy) {
      const { name, loc } = drainSetBy;
      l.fail(`global options ${name} and ${l.name} are the same setting: give only one (${name} is at ${loc.file}:${loc.line}:${loc.column})`);
    }
    global.drainTimeoutMs = durationArg(l, `${l.name} <duration>`);
    drainSetBy = l;
  };

  eachSubdirective(node.block, {
    owner: 'global options',
    noun: 'global option',
    handlers: {
      frankenphp(l) {
        once(l);
        l.expectArgs(0, 0, 'frankenphp { … }');
        frankenphp = parseFrankenphp(l, ctx, at);
      },
      debug(l) {
        once(l);
        l.expectArgs(0, 0, 'debug');
        l.noBlock();
        global.debug = true;
      },
      http_port(l) {
        once(l);
        global.httpPort = intValue(l.single('http_port <port>'), 'http_port', 0, 65535);
      },
      https_port(l) {
        once(l);
        global.httpsPort = intValue(l.single('https_port <port>'), 'https_port', 0, 65535);
      },
      admin(l) {
        once(l);
        l.expectArgs(1, 1, 'admin off|<address>');
        global.admin = l.args[0]!.text === 'off' ? false : l.args[0]!.text;
        l.noBlock('admin off|<address> (settings inside admin { } are not supported yet)');
      },
      metrics(l) {
        once(l);
        l.expectArgs(0, 0, 'metrics');
        l.noBlock('metrics (settings inside metrics { }, per_host, are not supported yet)');
        global.metrics = true;
      },
      auto_https(l) {
        once(l);
        const v = l.single('auto_https off|disable_redirects|disable_certs|ignore_loaded_certs');
        const allowed = ['off', 'disable_redirects', 'disable_certs', 'ignore_loaded_certs'];
        if (!allowed.includes(v.text)) l.fail(`auto_https must be one of ${allowed.join(', ')}, got '${v.text}'`, v);
        global.autoHttps = v.text;
      },
      processes(l) {
        once(l);
        global.processes = intValue(l.single('processes <count>'), 'processes', PROCESSES.min, PROCESSES.max);
      },
      grace_period: drainTime,
      drain_timeout: drainTime,
      shutdown_delay(l) {
        once(l);
        global.shutdownDelayMs = durationArg(l, 'shutdown_delay <duration>');
      },
      log(l) {
        once(l);
        global.log = parseLog(l, ctx, false);
      },
      servers(l) {
        once(l);
        if (l.args.length > 0) l.fail('servers <listener address> is not supported by phpasync: write servers { … } for every listener', l.args[0]!);
        const t = parseServers(l, global);
        if (t) global.timeouts = t;
      },
      order(l) {
        l.expectArgs(2, 3, 'order <directive> first|last|before <other>|after <other>');
        order.apply(l);
      },
    },
    unsupported: UNSUPPORTED_GLOBALS,
  });
  const result: GlobalResult = { global };
  if (frankenphp) result.frankenphp = frankenphp;
  if (at.numThreads) result.numThreadsAt = at.numThreads;
  return result;
}

/** Caddy's `servers { … }` global option: phpasync honours `timeouts`, refuses the rest. */
function parseServers(line: Line, global: GlobalOptions): ServerTimeouts | undefined {
  let timeouts: ServerTimeouts | undefined;
  eachSubdirective(line.block, {
    owner: 'servers',
    handlers: {
      protocols(l) {
        if (global.protocols) l.fail('servers: protocols is given twice');
        l.expectArgs(1, 4, 'protocols h1|h2|h2c|h3…');
        global.protocols = l.args.map((t) => {
          if (!['h1', 'h2', 'h2c', 'h3'].includes(t.text)) l.fail(`servers protocols: '${t.text}' is not h1, h2, h2c or h3`, t);
          return t.text as 'h1' | 'h2' | 'h2c' | 'h3';
        });
      },
      timeouts(l) {
        if (timeouts) l.fail('servers: timeouts is given twice');
        l.expectArgs(0, 0, 'timeouts { read_body <d>; read_header <d>; write <d>; idle <d> }');
        const t: ServerTimeouts = { source: { ...l.loc } };
        const set = (key: 'readBodyMs' | 'readHeaderMs' | 'writeMs' | 'idleMs') => (s: Line) => {
          if (t[key] !== undefined) s.fail(`servers timeouts: ${s.name} is given twice`);
          s.noBlock();
          t[key] = durationArg(s, `${s.name} <duration>`, 'servers timeouts ');
        };
        eachSubdirective(l.block, {
          owner: 'servers timeouts',
          handlers: { read_body: set('readBodyMs'), read_header: set('readHeaderMs'), write: set('writeMs'), idle: set('idleMs') },
        });
        timeouts = t;
      },
    },
    unsupported: [
      'name',
      'listener_wrappers',
      'trusted_proxies',
      'trusted_proxies_strict',
      'client_ip_headers',
      'metrics',
      'max_header_size',
      'enable_full_duplex',
      'log_credentials',
      'strict_sni_host',
      'keepalive_interval',
      'trace',
    ],
  });
  return timeouts;
}

function durationArg(l: Line, usage: string, prefix = ''): number {
  const t = l.single(usage);
  const ms = parseDuration(t.text);
  if (ms === undefined) l.fail(`${prefix}${l.name} must be a duration such as 10s or 1m30s, got '${t.text}'`, t);
  return ms;
}

function parseFrankenphp(line: Line, ctx: AdaptContext, at: { numThreads?: SourceLocation }): FrankenphpGlobalConfig {
  const fp: FrankenphpGlobalConfig = { phpIni: {}, workers: [], source: { ...line.loc } };
  eachSubdirective(line.block, {
    owner: 'frankenphp',
    handlers: {
      num_threads(l) {
        const t = l.single('num_threads <count>');
        fp.numThreads = intValue(t, 'num_threads', 1);
        at.numThreads = { ...t.loc };
      },
      max_threads(l) {
        const t = l.single('max_threads <count>');
        if (t.text === 'auto') l.fail("max_threads auto is not supported by phpasync; give a number", t);
        fp.maxThreads = intValue(t, 'max_threads', 1);
      },
      php_ini(l) {
        if (l.block) {
          l.expectArgs(0, 0, 'php_ini { <key> <value> … }');
          for (const n of l.block) {
            if (n.args.length !== 1 || n.block) {
              l.fail(`php_ini: write one '<key> <value>' per line`, n.head);
            }
            fp.phpIni[n.head.text] = n.args[0]!.text;
          }
        } else {
          l.expectArgs(2, 2, 'php_ini <key> <value> | php_ini { <key> <value> … }');
          fp.phpIni[l.args[0]!.text] = l.args[1]!.text;
        }
      },
      worker(l) {
        fp.workers.push(parseWorker(l, ctx, ctx.baseDir));
      },
      max_wait_time(l) {
        fp.maxWaitMs = durationArg(l, 'max_wait_time <duration>', 'frankenphp ');
      },
    },
    unsupported: ['max_idle_time'],
  });
  if (fp.maxThreads !== undefined && fp.numThreads !== undefined && fp.maxThreads < fp.numThreads) {
    line.fail(`frankenphp: max_threads (${fp.maxThreads}) must be at least num_threads (${fp.numThreads})`);
  }
  return fp;
}
