// rewrite and uri: changing the request URI before later handlers see it.

import type { HandlerSpec } from './types.js';
import { expandShorthands } from '../placeholders.js';
import { intValue, unknownName } from '../line.js';
import { regexpReason } from '../matchers.js';

export const rewrite: HandlerSpec = {
  usage: 'rewrite [<matcher>] <to>',
  parse(line, d) {
    line.noBlock(this.usage);
    if (line.args.length === 0 && d.matcher?.startsWith('/')) {
      line.fail(`rewrite: missing target: '${d.matcher}' was read as a path matcher; write rewrite * ${d.matcher}`);
    }
    const to = line.single(this.usage);
    d.rewrite = { to: expandShorthands(to.text) };
  },
};

export const uri: HandlerSpec = {
  usage: 'uri [<matcher>] strip_prefix <prefix> | strip_suffix <suffix> | replace <find> <replace> [<limit>] | path_regexp <find> <replace>',
  parse(line, d) {
    line.noBlock(this.usage);
    line.expectArgs(1, 4, this.usage);
    const [opTok, ...rest] = line.args;
    const op = opTok!.text;
    const need = (min: number, max: number, usage: string): void => {
      if (rest.length < min) line.fail(`uri ${op}: missing argument; usage: uri ${usage}`, rest.at(-1) ?? opTok!);
      if (rest.length > max) line.fail(`uri ${op}: too many arguments; usage: uri ${usage}`, rest[max]!);
    };
    switch (op) {
      case 'strip_prefix':
        need(1, 1, 'strip_prefix <prefix>');
        d.uri = { op, prefix: normalizePrefix(rest[0]!.text) };
        return;
      case 'strip_suffix':
        need(1, 1, 'strip_suffix <suffix>');
        d.uri = { op, suffix: rest[0]!.text };
        return;
      case 'replace': {
        need(2, 3, 'replace <find> <replace> [<limit>]');
        const limit = rest[2] ? intValue(rest[2], 'uri replace limit', 1) : undefined;
        d.uri = { op, find: rest[0]!.text, replace: expandShorthands(rest[1]!.text), ...(limit ? { limit } : {}) };
        return;
      }
      case 'path_regexp': {
        need(2, 2, 'path_regexp <find> <replace>');
        try {
          new RegExp(rest[0]!.text);
        } catch (err) {
          line.fail(`uri path_regexp: invalid regular expression: ${regexpReason(err)}`, rest[0]!);
        }
        d.uri = { op, pattern: rest[0]!.text, replace: expandShorthands(rest[1]!.text) };
        return;
      }
      case 'query':
        line.fail('uri query is not supported by phpasync', opTok!);
        break;
      default:
        line.fail(unknownName('uri: unrecognized operation', op, ['strip_prefix', 'strip_suffix', 'replace', 'path_regexp']), opTok!);
    }
  },
};

/** Caddy adds the leading slash a prefix needs. */
function normalizePrefix(p: string): string {
  return p.startsWith('/') || p.startsWith('{') ? p : '/' + p;
}
