// Handlers that answer requests themselves: respond, redir, file_server.

import type { FileServerConfig, RespondConfig } from '../../config/model.js';
import { resolvePath } from '../context.js';
import { eachSubdirective } from '../line.js';
import { expandShorthands } from '../placeholders.js';
import type { Token } from '../token.js';
import type { HandlerSpec } from './types.js';

function isStatus(t: Token): boolean {
  return t.quote === 'none' && /^[1-5]\d\d$/.test(t.text);
}

export const respond: HandlerSpec = {
  usage: 'respond [<matcher>] <status>|<body> [<status>] { body <text>; close }',
  parse(line, d) {
    line.expectArgs(0, 2, this.usage);
    const cfg: RespondConfig = { status: 200, body: '', close: false };
    const [a, b] = line.args;
    if (a && !b) {
      if (isStatus(a)) cfg.status = Number(a.text);
      else cfg.body = expandShorthands(a.text);
    } else if (a && b) {
      if (!isStatus(b)) line.fail(`respond: status must be a 3-digit HTTP status code, got '${b.text}'`, b);
      cfg.body = expandShorthands(a.text);
      cfg.status = Number(b.text);
    }
    eachSubdirective(line.block, {
      owner: 'respond',
      handlers: {
        body(l) {
          if (a && !isStatus(a)) l.fail('respond: the body is given twice');
          cfg.body = expandShorthands(l.single('body <text>').text);
        },
        close(l) {
          l.expectArgs(0, 0, 'close');
          cfg.close = true;
        },
      },
    });
    d.respond = cfg;
  },
};

const REDIR_CODES: Record<string, number> = { permanent: 301, temporary: 302 };

export const redir: HandlerSpec = {
  usage: 'redir [<matcher>] <to> [permanent|temporary|html|<3xx code>]',
  parse(line, d) {
    line.noBlock(this.usage);
    if (line.args.length === 0 && d.matcher?.startsWith('/')) {
      line.fail(`redir: missing target: '${d.matcher}' was read as a path matcher; write redir * ${d.matcher}`);
    }
    line.expectArgs(1, 2, this.usage);
    const [to, code] = line.args;
    let status = 302;
    let html = false;
    if (code) {
      if (code.text === 'html') html = true;
      else if (REDIR_CODES[code.text]) status = REDIR_CODES[code.text]!;
      else if (/^3\d\d$/.test(code.text) && Number(code.text) <= 308) status = Number(code.text);
      else line.fail(`redir: code must be permanent, temporary, html or 300..308, got '${code.text}'`, code);
    }
    d.redir = { to: expandShorthands(to!.text), status: html ? 200 : status, html };
  },
};

export const file_server: HandlerSpec = {
  usage: 'file_server [<matcher>] { root <path>; index <files…>; hide <files…>; precompressed [br|gzip…] }',
  parse(line, d, scope) {
    if (line.args[0]?.text === 'browse') line.fail('file_server browse is not supported by phpasync', line.args[0]);
    line.expectArgs(0, 0, this.usage);
    const cfg: FileServerConfig = { index: ['index.html', 'index.txt'] };
    eachSubdirective(line.block, {
      owner: 'file_server',
      handlers: {
        root(l) {
          cfg.root = resolvePath(scope.ctx.baseDir, l.single('root <path>'));
        },
        index(l) {
          l.expectArgs(1, Infinity, 'index <files…>');
          cfg.index = l.args.map((t) => t.text);
        },
        hide(l) {
          l.expectArgs(1, Infinity, 'hide <files…>');
          // A relative name with a slash is a path under the Caddyfile's directory (Caddy's rule).
          cfg.hide = l.args.map((t) => (t.text.includes('/') ? resolvePath(scope.ctx.baseDir, t) : t.text));
        },
        precompressed(l) {
          const known = ['br', 'gzip', 'zstd'] as const;
          for (const t of l.args) {
            if (!(known as readonly string[]).includes(t.text)) l.fail(`file_server: precompressed format must be br, gzip or zstd, got '${t.text}'`, t);
          }
          // Caddy's order when none is named.
          cfg.precompressed = l.args.length > 0 ? l.args.map((t) => t.text as (typeof known)[number]) : ['br', 'zstd', 'gzip'];
        },
      },
      unsupported: ['browse', 'status', 'disable_canonical_uris', 'pass_thru', 'fs', 'etag_file_extensions'],
    });
    d.fileServer = cfg;
  },
};
