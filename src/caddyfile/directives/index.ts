// Every handler directive phpasync reads, by name.

import { encode, header, request_body } from './headers.js';
import { php, php_server } from './php.js';
import { file_server, redir, respond } from './responses.js';
import { reverse_proxy } from './proxy.js';
import { rewrite, uri } from './rewrite.js';
import { handle, handle_path, root, route } from './routing.js';
import type { HandlerSpec } from './types.js';

export const HANDLERS: Readonly<Record<string, HandlerSpec>> = Object.freeze({
  root,
  route,
  handle,
  handle_path,
  rewrite,
  uri,
  php_server,
  php,
  file_server,
  respond,
  redir,
  header,
  encode,
  request_body,
  reverse_proxy,
});

/** Directives of a site block that configure the site rather than handle requests. */
export const SITE_DIRECTIVES = ['tls', 'log', 'bind'] as const;

/** Caddy directives phpasync does not implement: a clear error, not "unrecognized". */
export const UNSUPPORTED_DIRECTIVES = [
  'abort',
  'acme_server',
  'basic_auth',
  'basicauth',
  'copy_response',
  'copy_response_headers',
  'error',
  'forward_auth',
  'fs',
  'handle_errors',
  'intercept',
  'invoke',
  'log_append',
  'log_name',
  'log_skip',
  'map',
  'method',
  'metrics',
  'php_fastcgi',
  'push',
  'request_header',
  'skip_log',
  'templates',
  'tracing',
  'try_files',
  'vars',
  'mercure',
];
