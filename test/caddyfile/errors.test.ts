// One test per adapter error: the exact text a user sees, with FILE:LINE:COL.
// Inputs are adapted as /virtual/Caddyfile with an empty environment.

import { describe, expect, it } from 'vitest';
import { adaptCaddyfile } from '../../src/caddyfile/index.js';
import { ConfigError } from '../../src/config/errors.js';

function errorOf(text: string): ConfigError {
  try {
    adaptCaddyfile(text, '/virtual/Caddyfile', { env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const cases: [name: string, caddyfile: string, message: string][] = [
  [
    "unterminated quote",
    ":80 {\n\trespond \"hello\n}\n",
    "/virtual/Caddyfile:2:10: unterminated quoted string: missing closing \"",
  ],
  [
    "unterminated backtick",
    ":80 {\n\trespond `hello\n}\n",
    "/virtual/Caddyfile:2:10: unterminated backtick string: missing closing `",
  ],
  [
    "heredoc unclosed",
    ":80 {\n\trespond <<EOF\n\t\thi\n}\n",
    "/virtual/Caddyfile:2:10: heredoc <<EOF is never closed: expected a line with EOF",
  ],
  [
    "heredoc bad marker",
    ":80 {\n\trespond <<E.F\n\t\thi\n\t\tE.F\n}\n",
    "/virtual/Caddyfile:2:10: heredoc marker may contain only letters, digits, - and _; got 'E.F'",
  ],
  [
    "heredoc empty marker",
    ":80 {\n\trespond <<\n}\n",
    "/virtual/Caddyfile:2:10: heredoc needs a marker: write <<MARKER (letters, digits, - and _)",
  ],
  [
    "heredoc too many <",
    ":80 {\n\trespond <<<EOF\n\tEOF\n}\n",
    "/virtual/Caddyfile:2:10: too many '<' in heredoc <<<EOF: use two, as in <<EOF",
  ],
  [
    "heredoc indentation",
    ":80 {\n\trespond <<EOF\n\thi\n\t\tEOF\n}\n",
    "/virtual/Caddyfile:3:1: heredoc <<EOF: this line does not start with the closing marker's indentation (2 tabs)",
  ],
  [
    "unclosed block",
    ":80 {\n\troot * .\n",
    "/virtual/Caddyfile:1:5: unclosed block: missing '}' for this '{'",
  ],
  [
    "stray close",
    ":80 {\n}\n}\n",
    "/virtual/Caddyfile:3:1: unexpected '}': no block is open here",
  ],
  [
    "token after open",
    ":80 { root * .\n}\n",
    "/virtual/Caddyfile:1:7: unexpected 'root' after '{': a block's contents start on the next line",
  ],
  [
    "close not alone",
    ":80 {\n\troot * . }\n",
    "/virtual/Caddyfile:2:11: unexpected '}': a block closes on its own line",
  ],
  [
    "token after close",
    ":80 {\n} :81\n",
    "/virtual/Caddyfile:2:3: unexpected ':81' after '}': put it on its own line",
  ],
  [
    "open at line start",
    ":80 {\n\t{\n\t}\n}\n",
    "/virtual/Caddyfile:2:2: unexpected '{': a block opens at the end of a named line",
  ],
  [
    "global not first",
    ":80 {\n}\n{\n\tdebug\n}\n",
    "/virtual/Caddyfile:3:1: the global options block must be the first block in the Caddyfile",
  ],
  [
    "site without block",
    ":80 {\n}\n:81\n",
    "/virtual/Caddyfile:3:1: expected a site block: ':81' must be followed by '{' (or be the only site, on the first line)",
  ],
  [
    "import missing",
    ":80 {\n\timport nothere\n}\n",
    "/virtual/Caddyfile:2:9: import: no snippet named 'nothere' and no file /virtual/nothere",
  ],
  [
    "import did you mean",
    "(common) {\n\troot * .\n}\n:80 {\n\timport comon\n}\n",
    "/virtual/Caddyfile:5:9: import: no snippet named 'comon' and no file /virtual/comon (did you mean common?)",
  ],
  [
    "import no args",
    ":80 {\n\timport\n}\n",
    "/virtual/Caddyfile:2:2: import needs a snippet name or a file path",
  ],
  [
    "snippet twice",
    "(a) {\n}\n(a) {\n}\n",
    "/virtual/Caddyfile:3:1: snippet (a) is already defined at /virtual/Caddyfile:1:1",
  ],
  [
    "snippet cycle",
    "(a) {\n\timport b\n}\n(b) {\n\timport a\n}\n:80 {\n\timport a\n}\n",
    "/virtual/Caddyfile:5:9: import cycle: snippet a -> snippet b -> snippet a",
  ],
  [
    "snippet arg missing",
    "(a) {\n\troot * {args[1]}\n}\n:80 {\n\timport a x\n}\n",
    "/virtual/Caddyfile:2:9: import argument {args[1]} is not given: 1 argument passed at /virtual/Caddyfile:5:9",
  ],
  [
    "snippet without block",
    "(a)\n:80 {\n}\n",
    "/virtual/Caddyfile:1:1: snippet (a) needs a block: (a) { … }",
  ],
  [
    "named route",
    "&(r) {\n}\n",
    "/virtual/Caddyfile:1:1: named routes (&(r)) are not supported",
  ],
  [
    "snippet in block",
    ":80 {\n\t(x) {\n\t}\n}\n",
    "/virtual/Caddyfile:2:2: snippet (x) must be defined at the top level of the file",
  ],
  [
    "unknown global",
    "{\n\tdebgu\n}\n",
    "/virtual/Caddyfile:2:2: unrecognized global option 'debgu' (did you mean debug?); allowed: frankenphp, debug, http_port, https_port, admin, metrics, auto_https, processes, grace_period, drain_timeout, shutdown_delay, log, servers, order",
  ],
  [
    "unsupported global",
    "{\n\tstorage file_system /tmp\n}\n",
    "/virtual/Caddyfile:2:2: global option 'storage' is not supported by phpasync",
  ],
  [
    "frankenphp unknown",
    "{\n\tfrankenphp {\n\t\tnum_thread 2\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: frankenphp: unrecognized subdirective 'num_thread' (did you mean num_threads?); allowed: num_threads, max_threads, php_ini, worker, max_wait_time",
  ],
  [
    "num_threads not int",
    "{\n\tfrankenphp {\n\t\tnum_threads two\n\t}\n}\n",
    "/virtual/Caddyfile:3:15: num_threads must be an integer >= 1, got 'two'",
  ],
  [
    "num_threads too few",
    "{\n\tfrankenphp {\n\t\tnum_threads 1\n\t\tworker a.php 2\n\t}\n}\n",
    "/virtual/Caddyfile:3:15: frankenphp: num_threads (1) must be at least the number of worker threads (2)",
  ],
  [
    "max_threads < num",
    "{\n\tfrankenphp {\n\t\tnum_threads 4\n\t\tmax_threads 2\n\t}\n}\n",
    "/virtual/Caddyfile:2:2: frankenphp: max_threads (2) must be at least num_threads (4)",
  ],
  [
    "max_threads auto",
    "{\n\tfrankenphp {\n\t\tmax_threads auto\n\t}\n}\n",
    "/virtual/Caddyfile:3:15: max_threads auto is not supported by phpasync; give a number",
  ],
  [
    "php_ini args",
    "{\n\tfrankenphp {\n\t\tphp_ini memory_limit\n\t}\n}\n",
    "/virtual/Caddyfile:3:11: frankenphp php_ini: missing argument; usage: php_ini <key> <value> | php_ini { <key> <value> … }",
  ],
  [
    "global twice",
    "{\n\tdebug\n\tdebug\n}\n",
    "/virtual/Caddyfile:3:2: global option debug is given twice",
  ],
  [
    "http_port range",
    "{\n\thttp_port 70000\n}\n",
    "/virtual/Caddyfile:2:12: http_port must be an integer in the range 0..65535, got '70000'",
  ],
  [
    "grace_period",
    "{\n\tgrace_period soon\n}\n",
    "/virtual/Caddyfile:2:15: grace_period must be a duration such as 10s or 1m30s, got 'soon'",
  ],
  [
    "drain_timeout",
    "{\n\tdrain_timeout 30\n}\n",
    "/virtual/Caddyfile:2:16: drain_timeout must be a duration such as 10s or 1m30s, got '30'",
  ],
  [
    "drain_timeout no value",
    "{\n\tdrain_timeout\n}\n",
    "/virtual/Caddyfile:2:2: drain_timeout: missing argument; usage: drain_timeout <duration>",
  ],
  [
    "drain_timeout typo",
    "{\n\tdrain_timout 10s\n}\n",
    "/virtual/Caddyfile:2:2: unrecognized global option 'drain_timout' (did you mean drain_timeout?); allowed: frankenphp, debug, http_port, https_port, admin, metrics, auto_https, processes, grace_period, drain_timeout, shutdown_delay, log, servers, order",
  ],
  [
    "drain_timeout and grace_period",
    "{\n\tgrace_period 10s\n\tdrain_timeout 20s\n}\n",
    "/virtual/Caddyfile:3:2: global options grace_period and drain_timeout are the same setting: give only one (grace_period is at /virtual/Caddyfile:2:2)",
  ],
  [
    "grace_period after drain_timeout",
    "{\n\tdrain_timeout 20s\n\tdebug\n\tgrace_period 10s\n}\n",
    "/virtual/Caddyfile:4:2: global options drain_timeout and grace_period are the same setting: give only one (drain_timeout is at /virtual/Caddyfile:2:2)",
  ],
  [
    "servers timeouts negative",
    "{\n\tservers {\n\t\ttimeouts {\n\t\t\twrite -1s\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:4:10: servers timeouts write must be a duration such as 10s or 1m30s, got '-1s'",
  ],
  [
    "servers timeouts unknown key",
    "{\n\tservers {\n\t\ttimeouts {\n\t\t\tread_bdy 10s\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:4:4: servers timeouts: unrecognized subdirective 'read_bdy' (did you mean read_body?); allowed: read_body, read_header, write, idle",
  ],
  [
    "servers timeouts twice",
    "{\n\tservers {\n\t\ttimeouts {\n\t\t\tidle 1m\n\t\t\tidle 2m\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:4: servers timeouts: idle is given twice",
  ],
  [
    "servers timeouts no value",
    "{\n\tservers {\n\t\ttimeouts {\n\t\t\tread_body\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:4:4: servers timeouts read_body: missing argument; usage: read_body <duration>",
  ],
  [
    "servers option not supported",
    "{\n\tservers {\n\t\tstrict_sni_host on\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: servers: subdirective 'strict_sni_host' is not supported by phpasync",
  ],
  [
    "servers protocols unknown",
    "{\n\tservers {\n\t\tprotocols h1 h4\n\t}\n}\n",
    "/virtual/Caddyfile:3:16: servers protocols: 'h4' is not h1, h2, h2c or h3",
  ],
  [
    "servers with a listener address",
    "{\n\tservers :443 {\n\t\ttimeouts {\n\t\t\tidle 1m\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:2:10: servers <listener address> is not supported by phpasync: write servers { … } for every listener",
  ],
  [
    "order unknown",
    "{\n\torder php_server before file_sever\n}\n",
    "/virtual/Caddyfile:2:26: order: unrecognized directive 'file_sever' (did you mean file_server?); allowed: root, header, request_body, redir, rewrite, uri, encode, handle, handle_path, route, respond, reverse_proxy, php, php_server, file_server",
  ],
  [
    "order position",
    "{\n\torder php_server around file_server\n}\n",
    "/virtual/Caddyfile:2:19: order: position must be first, last, before or after, got 'around'",
  ],
  [
    "buffer_size zero",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tbuffer_size 0\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:16: buffer_size must be an integer in the range 1..1000, got '0'",
  ],
  [
    "max_coroutines zero",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tmax_coroutines 0\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:19: max_coroutines must be an integer in the range 1..1000000, got '0'",
  ],
  [
    "buffer_size big",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tbuffer_size 1001\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:16: buffer_size must be an integer in the range 1..1000, got '1001'",
  ],
  [
    "worker no file",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tnum 2\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: worker: missing file; usage: worker <file> [<num>] | worker { file <path>; num <n>; ... }",
  ],
  [
    "worker file twice",
    "{\n\tfrankenphp {\n\t\tworker a.php {\n\t\t\tfile b.php\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:4:9: worker: file is given twice",
  ],
  [
    "worker typo",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tasynk\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:4: worker: unrecognized subdirective 'asynk' (did you mean async?); allowed: file, num, name, env, match, async, buffer_size, max_coroutines, watch, request_timeout, max_requests, max_consecutive_failures",
  ],
  [
    "worker num zero",
    "{\n\tfrankenphp {\n\t\tworker a.php 0\n\t}\n}\n",
    "/virtual/Caddyfile:3:16: worker num must be an integer >= 1, got '0'",
  ],
  [
    "worker too many args",
    "{\n\tfrankenphp {\n\t\tworker a.php 1 2\n\t}\n}\n",
    "/virtual/Caddyfile:3:18: frankenphp worker: too many arguments; usage: worker <file> [<num>] | worker { file <path>; num <n>; ... }",
  ],
  [
    "worker match",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tmatch api\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:10: worker match: 'api' must be * or a path starting with /",
  ],
  [
    "worker async value",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tasync maybe\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:10: async must be 'on' or 'off', got 'maybe'",
  ],
  [
    "worker name twice",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tname w\n\t\t}\n\t\tworker {\n\t\t\tfile b.php\n\t\t\tname w\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:7:3: worker name 'w' is already used at /virtual/Caddyfile:3:3",
  ],
  [
    "bad scheme",
    "ftp://x:21 {\n}\n",
    "/virtual/Caddyfile:1:1: site address ftp://x:21: scheme ftp:// is not supported; use http:// or https://",
  ],
  [
    "bad port",
    ":99999 {\n}\n",
    "/virtual/Caddyfile:1:1: site address :99999: port must be a number from 0 to 65535, got '99999'",
  ],
  [
    "address path",
    "localhost:8080/api {\n}\n",
    "/virtual/Caddyfile:1:1: site address localhost:8080/api: a path in a site address is not supported; use a matcher or handle_path in the site block",
  ],
  [
    "ipv6 unbracketed",
    "::1:8080 {\n}\n",
    "/virtual/Caddyfile:1:1: site address ::1:8080: write IPv6 addresses in brackets, as [::1]:8080",
  ],
  [
    "ambiguous site",
    ":8080 {\n}\n:8080 {\n}\n",
    "/virtual/Caddyfile:3:1: ambiguous site definition: http://:8080 is also defined at /virtual/Caddyfile:1:1",
  ],
  [
    "bad host",
    "exa$mple.com {\n}\n",
    "/virtual/Caddyfile:1:1: site address exa$mple.com: 'exa$mple.com' is not a valid host name",
  ],
  [
    "unknown directive",
    ":80 {\n\tfle_server\n}\n",
    "/virtual/Caddyfile:2:2: unrecognized directive 'fle_server' (did you mean file_server?); allowed: bind, encode, file_server, handle, handle_path, header, log, php, php_server, redir, request_body, respond, reverse_proxy, rewrite, root, route, tls, uri",
  ],
  [
    "unknown directive no guess",
    ":80 {\n\tfrobnicate\n}\n",
    "/virtual/Caddyfile:2:2: unrecognized directive 'frobnicate'; allowed: bind, encode, file_server, handle, handle_path, header, log, php, php_server, redir, request_body, respond, reverse_proxy, rewrite, root, route, tls, uri",
  ],
  [
    "unsupported directive",
    ":80 {\n\tbasic_auth {\n\t\tbob x\n\t}\n}\n",
    "/virtual/Caddyfile:2:2: basic_auth is a Caddy directive that phpasync does not support",
  ],
  [
    "unknown matcher",
    ":80 {\n\t@api path /api/*\n\trespond @apii 404\n}\n",
    "/virtual/Caddyfile:3:10: unknown matcher @apii (did you mean @api?)",
  ],
  [
    "unknown matcher none defined",
    ":80 {\n\trespond @x 404\n}\n",
    "/virtual/Caddyfile:2:10: unknown matcher @x; no named matchers are defined in this site",
  ],
  [
    "matcher twice",
    ":80 {\n\t@a path /a\n\t@a path /b\n}\n",
    "/virtual/Caddyfile:3:2: matcher @a is already defined at /virtual/Caddyfile:2:2",
  ],
  [
    "matcher empty",
    ":80 {\n\t@a\n}\n",
    "/virtual/Caddyfile:2:2: matcher @a needs a condition, as in: @a path /api/*",
  ],
  [
    "matcher unknown kind",
    ":80 {\n\t@a paht /a\n}\n",
    "/virtual/Caddyfile:2:5: unrecognized matcher 'paht' (did you mean path?); allowed: path, path_regexp, method, header, query, host, not",
  ],
  [
    "matcher unsupported kind",
    ":80 {\n\t@a remote_ip 10.0.0.0/8\n}\n",
    "/virtual/Caddyfile:2:5: matcher 'remote_ip' is not supported by phpasync",
  ],
  [
    "path matcher relative",
    ":80 {\n\t@a path api\n}\n",
    "/virtual/Caddyfile:2:10: path matcher: 'api' must start with '/' or '*'",
  ],
  [
    "path_regexp invalid",
    ":80 {\n\t@a path_regexp (\n}\n",
    "/virtual/Caddyfile:2:17: path_regexp: invalid regular expression: Unterminated group",
  ],
  [
    "query matcher",
    ":80 {\n\t@a query debug\n}\n",
    "/virtual/Caddyfile:2:11: query matcher: 'debug' must be written key=value (value may be *)",
  ],
  [
    "header matcher no value",
    ":80 {\n\t@a header Accept\n}\n",
    "/virtual/Caddyfile:2:5: header matcher: missing value; usage: header <field> <value>, or header !<field> for absence",
  ],
  [
    "method matcher",
    ":80 {\n\t@a method GET/POST\n}\n",
    "/virtual/Caddyfile:2:12: method matcher: 'GET/POST' is not an HTTP method",
  ],
  [
    "root no args",
    ":80 {\n\troot\n}\n",
    "/virtual/Caddyfile:2:2: root: missing argument; usage: root [<matcher>] <path>",
  ],
  [
    "root too many",
    ":80 {\n\troot * a b\n}\n",
    "/virtual/Caddyfile:2:11: root: too many arguments; usage: root [<matcher>] <path>",
  ],
  [
    "rewrite path as matcher",
    ":80 {\n\trewrite /index.php\n}\n",
    "/virtual/Caddyfile:2:2: rewrite: missing target: '/index.php' was read as a path matcher; write rewrite * /index.php",
  ],
  [
    "redir path as matcher",
    ":80 {\n\tredir /new\n}\n",
    "/virtual/Caddyfile:2:2: redir: missing target: '/new' was read as a path matcher; write redir * /new",
  ],
  [
    "redir code",
    ":80 {\n\tredir * /new 404\n}\n",
    "/virtual/Caddyfile:2:15: redir: code must be permanent, temporary, html or 300..308, got '404'",
  ],
  [
    "respond status",
    ":80 {\n\trespond \"x\" abc\n}\n",
    "/virtual/Caddyfile:2:14: respond: status must be a 3-digit HTTP status code, got 'abc'",
  ],
  [
    "respond body twice",
    ":80 {\n\trespond \"x\" {\n\t\tbody y\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: respond: the body is given twice",
  ],
  [
    "route no block",
    ":80 {\n\troute\n}\n",
    "/virtual/Caddyfile:2:2: route needs a block; usage: route [<matcher>] { <directives…> }",
  ],
  [
    "handle_path no path",
    ":80 {\n\thandle_path {\n\t}\n}\n",
    "/virtual/Caddyfile:2:2: handle_path needs a path matcher such as /api/*; usage: handle_path <path_matcher> { <directives…> }",
  ],
  [
    "php_server typo",
    ":80 {\n\tphp_server {\n\t\troott public\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: php_server: unrecognized subdirective 'roott' (did you mean root?); allowed: root, index, file_server, worker, split, env, resolve_root_symlink",
  ],
  [
    "php_server unsupported sub",
    ":80 {\n\tphp_server {\n\t\ttry_files {path} index.php\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: php_server: subdirective 'try_files' is not supported by phpasync",
  ],
  [
    "php_server args",
    ":80 {\n\tphp_server public\n}\n",
    "/virtual/Caddyfile:2:13: php_server: too many arguments; usage: php_server [<matcher>] { root, index, file_server, worker, split, env, resolve_root_symlink }",
  ],
  [
    "php_server file_server value",
    ":80 {\n\tphp_server {\n\t\tfile_server maybe\n\t}\n}\n",
    "/virtual/Caddyfile:3:15: file_server must be 'on' or 'off', got 'maybe'",
  ],
  [
    "php_server split",
    ":80 {\n\tphp_server {\n\t\tsplit php\n\t}\n}\n",
    "/virtual/Caddyfile:3:9: split: 'php' must be an extension starting with '.', such as .php",
  ],
  [
    "php_server worker buffer",
    ":80 {\n\tphp_server {\n\t\tworker {\n\t\t\tfile index.php\n\t\t\tbuffer_size 5000\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:16: buffer_size must be an integer in the range 1..1000, got '5000'",
  ],
  [
    "php typo",
    ":80 {\n\tphp {\n\t\tindex off\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: php: unrecognized subdirective 'index'; allowed: root, split, env, resolve_root_symlink, worker",
  ],
  [
    "file_server browse",
    ":80 {\n\tfile_server browse\n}\n",
    "/virtual/Caddyfile:2:14: file_server browse is not supported by phpasync",
  ],
  [
    "file_server status",
    ":80 {\n\tfile_server {\n\t\tstatus 404\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: file_server: subdirective 'status' is not supported by phpasync",
  ],
  [
    "uri op",
    ":80 {\n\turi strip_prefx /api\n}\n",
    "/virtual/Caddyfile:2:6: uri: unrecognized operation 'strip_prefx' (did you mean strip_prefix?); allowed: strip_prefix, strip_suffix, replace, path_regexp",
  ],
  [
    "uri args",
    ":80 {\n\turi strip_prefix\n}\n",
    "/virtual/Caddyfile:2:6: uri strip_prefix: missing argument; usage: uri strip_prefix <prefix>",
  ],
  [
    "header no value",
    ":80 {\n\theader X-Foo\n}\n",
    "/virtual/Caddyfile:2:9: header: missing value for X-Foo; usage: header [+|-|?|>]<field> [<value>|<find> <replace>]",
  ],
  [
    "header delete value",
    ":80 {\n\theader -Server yes\n}\n",
    "/virtual/Caddyfile:2:17: header: -Server deletes the field and takes no value",
  ],
  [
    "header empty",
    ":80 {\n\theader\n}\n",
    "/virtual/Caddyfile:2:2: header needs at least one field; usage: header [<matcher>] [[+|-|?|>]<field> [<value>|<find>] [<replace>]] { … }",
  ],
  [
    "encode format",
    ":80 {\n\tencode gzp\n}\n",
    "/virtual/Caddyfile:2:9: encode: unrecognized format 'gzp' (did you mean gzip?); allowed: zstd, gzip, br",
  ],
  [
    "encode level",
    ":80 {\n\tencode {\n\t\tgzip 12\n\t}\n}\n",
    "/virtual/Caddyfile:3:8: gzip level must be an integer in the range 1..9, got '12'",
  ],
  [
    "request_body size",
    ":80 {\n\trequest_body {\n\t\tmax_size lots\n\t}\n}\n",
    "/virtual/Caddyfile:3:12: max_size must be a size such as 10MB or 512KiB, got 'lots'",
  ],
  [
    "request_body typo",
    ":80 {\n\trequest_body {\n\t\tmax_sise 1MB\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: request_body: unrecognized subdirective 'max_sise' (did you mean max_size?); allowed: max_size",
  ],
  [
    "tls one arg",
    ":80 {\n\ttls cert.pem\n}\n",
    "/virtual/Caddyfile:2:6: tls: expected a certificate and a key file, 'internal' or an email; usage: tls <cert_file> <key_file> | tls internal",
  ],
  [
    "tls block",
    ":80 {\n\ttls a.pem b.pem {\n\t\tprotocols tls1.3\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: tls: subdirective 'protocols' is not supported by phpasync; usage: tls <cert_file> <key_file> | tls internal",
  ],
  [
    "tls twice",
    ":80 {\n\ttls internal\n\ttls internal\n}\n",
    "/virtual/Caddyfile:3:2: tls is given twice in this site",
  ],
  [
    "tls nested",
    ":80 {\n\troute {\n\t\ttls internal\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: tls is a site setting: put it at the top level of the site block",
  ],
  [
    "log output",
    ":80 {\n\tlog {\n\t\toutput syslog\n\t}\n}\n",
    "/virtual/Caddyfile:3:10: log output must be stdout, stderr, discard or file <path>, got 'syslog'",
  ],
  [
    "log level",
    ":80 {\n\tlog {\n\t\tlevel LOUD\n\t}\n}\n",
    "/virtual/Caddyfile:3:9: log level must be one of DEBUG, INFO, WARN, ERROR, got 'LOUD'",
  ],
  [
    "bind network",
    ":80 {\n\tbind unix//tmp/s\n}\n",
    "/virtual/Caddyfile:2:7: bind: network addresses (unix//tmp/s) are not supported; give a host or IP",
  ],
  [
    "block on no-block directive",
    ":80 {\n\troot * . {\n\t}\n}\n",
    "/virtual/Caddyfile:2:11: root takes no block; usage: root [<matcher>] <path>",
  ],
  [
    "import with block",
    "(a) {\n}\n:80 {\n\timport a {\n\t}\n}\n",
    "/virtual/Caddyfile:4:11: import with a block ({block} arguments) is not supported",
  ],
  [
    "glob in directory",
    ":80 {\n\timport */x.caddy\n}\n",
    "/virtual/Caddyfile:2:9: import: wildcards are allowed in the file name only, not in /virtual/*",
  ],
  [
    "args in directive name",
    "(a) {\n\t{args[:]}\n}\n:80 {\n\timport a\n}\n",
    "/virtual/Caddyfile:2:2: {args} placeholder in a directive name must give exactly one word",
  ],
  [
    "args malformed",
    "(a) {\n\troot * {args[]}\n}\n:80 {\n\timport a x\n}\n",
    "/virtual/Caddyfile:2:9: malformed import argument placeholder: {args[]}",
  ],
  [
    "args slice range",
    "(a) {\n\tencode {args[1:3]}\n}\n:80 {\n\timport a gzip\n}\n",
    "/virtual/Caddyfile:2:9: import argument slice {args[1:3]} is out of range: 1 argument passed at /virtual/Caddyfile:5:9",
  ],
  [
    "snippet name with args",
    "(a) x {\n}\n",
    "/virtual/Caddyfile:1:5: unexpected 'x' after snippet name (a)",
  ],
  [
    "empty block followed",
    ":80 {} x\n",
    "/virtual/Caddyfile:1:8: unexpected 'x' after '{}': put it on its own line",
  ],
  [
    "matcher name invalid",
    ":80 {\n\t@a/b path /x\n}\n",
    "/virtual/Caddyfile:2:2: invalid matcher name '@a/b': use letters, digits, '_', '-' and '.'",
  ],
  [
    "path_regexp twice",
    ":80 {\n\t@a {\n\t\tpath_regexp ^/a\n\t\tpath_regexp ^/b\n\t}\n}\n",
    "/virtual/Caddyfile:4:3: path_regexp can be used once per matcher",
  ],
  [
    "header absent with value",
    ":80 {\n\t@a header !X-Foo bar\n}\n",
    "/virtual/Caddyfile:2:19: header matcher: !<field> (absent) takes no value",
  ],
  [
    "header absent no name",
    ":80 {\n\t@a header !\n}\n",
    "/virtual/Caddyfile:2:12: header matcher: missing field name after !",
  ],
  [
    "regexp U flag",
    ":80 {\n\t@a path_regexp (?U)a+\n}\n",
    "/virtual/Caddyfile:2:17: path_regexp: the (?U) flag has no JavaScript equivalent",
  ],
  [
    "matcher block on kind",
    ":80 {\n\t@a {\n\t\tpath /x {\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:3:11: matcher path takes no block",
  ],
  [
    "auto_https value",
    "{\n\tauto_https sometimes\n}\n",
    "/virtual/Caddyfile:2:13: auto_https must be one of off, disable_redirects, disable_certs, ignore_loaded_certs, got 'sometimes'",
  ],
  [
    "order first extra",
    "{\n\torder php first now\n}\n",
    "/virtual/Caddyfile:2:18: order: too many arguments; usage: order php first",
  ],
  [
    "order itself",
    "{\n\torder php before php\n}\n",
    "/virtual/Caddyfile:2:19: order: php cannot be ordered relative to itself",
  ],
  [
    "order unknown directive",
    "{\n\torder basic_auth first\n}\n",
    "/virtual/Caddyfile:2:8: order: unrecognized directive 'basic_auth'; allowed: root, header, request_body, redir, rewrite, uri, encode, handle, handle_path, route, respond, reverse_proxy, php, php_server, file_server",
  ],
  [
    "php_ini block malformed",
    "{\n\tfrankenphp {\n\t\tphp_ini {\n\t\t\tmemory_limit\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:4:4: php_ini: write one '<key> <value>' per line",
  ],
  [
    "frankenphp args",
    "{\n\tfrankenphp on\n}\n",
    "/virtual/Caddyfile:2:13: frankenphp: too many arguments; usage: frankenphp { … }",
  ],
  [
    "frankenphp unsupported",
    "{\n\tfrankenphp {\n\t\tmax_idle_time 10s\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: frankenphp: subdirective 'max_idle_time' is not supported by phpasync",
  ],
  [
    "debug args",
    "{\n\tdebug yes\n}\n",
    "/virtual/Caddyfile:2:8: debug: too many arguments; usage: debug",
  ],
  [
    "global log name",
    "{\n\tlog access\n}\n",
    "/virtual/Caddyfile:2:6: log: too many arguments; usage: log { … }",
  ],
  [
    "worker num twice",
    "{\n\tfrankenphp {\n\t\tworker a.php 2 {\n\t\t\tnum 3\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:4:8: worker: num is given twice",
  ],
  [
    "worker env args",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tenv KEY\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:8: worker env: missing argument; usage: env <key> <value>",
  ],
  [
    "worker max_consecutive_failures",
    "{\n\tfrankenphp {\n\t\tworker {\n\t\t\tfile a.php\n\t\t\tmax_consecutive_failures -2\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:29: max_consecutive_failures must be an integer in the range -1..1000000, got '-2'",
  ],
  [
    "ipv6 no bracket end",
    "[::1:80 {\n}\n",
    "/virtual/Caddyfile:1:1: site address [::1:80: missing ']' after the IPv6 address",
  ],
  [
    "ipv6 trailing",
    "[::1]x {\n}\n",
    "/virtual/Caddyfile:1:1: site address [::1]x: unexpected 'x' after the IPv6 address",
  ],
  [
    "ipv6 invalid",
    "[1.2.3.4]:80 {\n}\n",
    "/virtual/Caddyfile:1:1: site address [1.2.3.4]:80: 1.2.3.4 is not an IPv6 address",
  ],
  [
    "uri too many",
    ":80 {\n\turi strip_prefix /a /b\n}\n",
    "/virtual/Caddyfile:2:22: uri strip_prefix: too many arguments; usage: uri strip_prefix <prefix>",
  ],
  [
    "uri replace limit",
    ":80 {\n\turi replace a b zero\n}\n",
    "/virtual/Caddyfile:2:18: uri replace limit must be an integer >= 1, got 'zero'",
  ],
  [
    "uri query",
    ":80 {\n\turi query +a b\n}\n",
    "/virtual/Caddyfile:2:6: uri query is not supported by phpasync",
  ],
  [
    "uri path_regexp invalid",
    ":80 {\n\turi path_regexp ( x\n}\n",
    "/virtual/Caddyfile:2:18: uri path_regexp: invalid regular expression: Unterminated group",
  ],
  [
    "header add no value",
    ":80 {\n\theader +X-Foo\n}\n",
    "/virtual/Caddyfile:2:9: header: +X-Foo needs exactly one value",
  ],
  [
    "header default no value",
    ":80 {\n\theader ?X-Foo\n}\n",
    "/virtual/Caddyfile:2:9: header: ?X-Foo needs exactly one value",
  ],
  [
    "header too many",
    ":80 {\n\theader X a b c\n}\n",
    "/virtual/Caddyfile:2:15: header: too many arguments; usage: header [+|-|?|>]<field> [<value>|<find> <replace>]",
  ],
  [
    "header prefix only",
    ":80 {\n\theader +\n}\n",
    "/virtual/Caddyfile:2:9: header: missing field name after '+'",
  ],
  [
    "header match",
    ":80 {\n\theader {\n\t\tmatch {\n\t\t\tstatus 200\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: header: match (response matchers) is not supported by phpasync",
  ],
  [
    "encode twice",
    ":80 {\n\tencode gzip {\n\t\tgzip 5\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: encode: gzip is given twice",
  ],
  [
    "encode match",
    ":80 {\n\tencode {\n\t\tmatch {\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: encode: subdirective 'match' is not supported by phpasync",
  ],
  [
    "log roll",
    ":80 {\n\tlog {\n\t\toutput file access.log {\n\t\t\troll_size 10MB\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:4:4: output file: subdirective 'roll_size' is not supported by phpasync",
  ],
  [
    "log format",
    ":80 {\n\tlog {\n\t\tformat logfmt\n\t}\n}\n",
    "/virtual/Caddyfile:3:10: log format must be console or json, got 'logfmt'",
  ],
  [
    "log output file path",
    ":80 {\n\tlog {\n\t\toutput file\n\t}\n}\n",
    "/virtual/Caddyfile:3:10: log output: missing argument; usage: output file <path>",
  ],
  [
    "log unsupported",
    ":80 {\n\tlog {\n\t\tsampling {\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: log: subdirective 'sampling' is not supported by phpasync",
  ],
  [
    "tls alone",
    ":80 {\n\ttls\n}\n",
    "/virtual/Caddyfile:2:2: tls: missing arguments; usage: tls <cert_file> <key_file> | tls internal",
  ],
  [
    "bind args",
    ":80 {\n\tbind\n}\n",
    "/virtual/Caddyfile:2:2: bind: missing argument; usage: bind <host>",
  ],
  [
    "respond close args",
    ":80 {\n\trespond {\n\t\tclose now\n\t}\n}\n",
    "/virtual/Caddyfile:3:9: respond close: too many arguments; usage: close",
  ],
  [
    "respond too many",
    ":80 {\n\trespond a 200 b\n}\n",
    "/virtual/Caddyfile:2:16: respond: too many arguments; usage: respond [<matcher>] <status>|<body> [<status>] { body <text>; close }",
  ],
  [
    "handle no block",
    ":80 {\n\thandle /x\n}\n",
    "/virtual/Caddyfile:2:2: handle needs a block; usage: handle [<matcher>] { <directives…> }",
  ],
  [
    "handle args",
    ":80 {\n\thandle /x y {\n\t}\n}\n",
    "/virtual/Caddyfile:2:12: handle: too many arguments; usage: handle [<matcher>] { <directives…> }",
  ],
  [
    "handle_path no block",
    ":80 {\n\thandle_path /x/*\n}\n",
    "/virtual/Caddyfile:2:2: handle_path needs a block; usage: handle_path <path_matcher> { <directives…> }",
  ],
  [
    "rewrite too many",
    ":80 {\n\trewrite * /a /b\n}\n",
    "/virtual/Caddyfile:2:15: rewrite: too many arguments; usage: rewrite [<matcher>] <to>",
  ],
  [
    "php_server index args",
    ":80 {\n\tphp_server {\n\t\tindex a.php b.php\n\t}\n}\n",
    "/virtual/Caddyfile:3:15: php_server index: too many arguments; usage: index <file>|off",
  ],
  [
    "php_server worker relative match",
    ":80 {\n\tphp_server {\n\t\tworker {\n\t\t\tfile w.php\n\t\t\tmatch api/*\n\t\t}\n\t}\n}\n",
    "/virtual/Caddyfile:5:10: worker match: 'api/*' must be * or a path starting with /",
  ],
  [
    "file_server index empty",
    ":80 {\n\tfile_server {\n\t\tindex\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: file_server index: missing argument; usage: index <files…>",
  ],
  [
    "file_server typo",
    ":80 {\n\tfile_server {\n\t\troot_dir x\n\t}\n}\n",
    "/virtual/Caddyfile:3:3: file_server: unrecognized subdirective 'root_dir'; allowed: root, index, hide, precompressed",
  ],
  [
    "request_body args",
    ":80 {\n\trequest_body 10MB\n}\n",
    "/virtual/Caddyfile:2:15: request_body: too many arguments; usage: request_body [<matcher>] { max_size <size> }",
  ],
  [
    "unsupported directive try_files",
    ":80 {\n\ttry_files {path} /index.php\n}\n",
    "/virtual/Caddyfile:2:2: try_files is a Caddy directive that phpasync does not support",
  ],
  [
    "directive misspelled php_fastcgi-like",
    ":80 {\n\tphpserver\n}\n",
    "/virtual/Caddyfile:2:2: unrecognized directive 'phpserver' (did you mean php_server?); allowed: bind, encode, file_server, handle, handle_path, header, log, php, php_server, redir, request_body, respond, reverse_proxy, rewrite, root, route, tls, uri",
  ],
];

describe('config errors', () => {
  for (const [name, text, message] of cases) {
    it(name, () => {
      const err = errorOf(text);
      expect(err.message).toBe(message);
      // The location is also available on its own, for callers that format paths.
      expect(message.startsWith(`${err.location!.file}:${err.location!.line}:${err.location!.column}: `)).toBe(true);
    });
  }
});

