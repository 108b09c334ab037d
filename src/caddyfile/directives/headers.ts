// header, encode, request_body: changes to what goes in and out.

import type { EncodeConfig, HeaderConfig, HeaderOp } from '../../config/model.js';
import { eachSubdirective, intValue, Line, unknownName } from '../line.js';
import { regexpReason } from '../matchers.js';
import { expandShorthands } from '../placeholders.js';
import type { Token } from '../token.js';
import { parseSize } from '../units.js';
import type { HandlerSpec } from './types.js';

/** One `[+|-|?|>]Field [value|find] [replace]` operation. */
function headerOp(line: Line, field: Token, rest: Token[], cfg: HeaderConfig): HeaderOp {
  const usage = '[+|-|?|>]<field> [<value>|<find> <replace>]';
  let name = field.text;
  const prefix = /^[+\-?>]/.test(name) ? name.charAt(0) : '';
  name = name.slice(prefix.length);
  if (name === '') line.fail(`header: missing field name after '${prefix}'`, field);
  if (rest.length > 2) line.fail(`header: too many arguments; usage: header ${usage}`, rest[2]!);
  const [v, r] = rest.map((t) => expandShorthands(t.text));
  switch (prefix) {
    case '-':
      if (v !== undefined) line.fail(`header: -${name} deletes the field and takes no value`, rest[0]!);
      return { op: 'delete', field: name };
    case '+':
      if (v === undefined || r !== undefined) line.fail(`header: +${name} needs exactly one value`, field);
      return { op: 'add', field: name, value: v };
    case '?':
      if (v === undefined || r !== undefined) line.fail(`header: ?${name} needs exactly one value`, field);
      return { op: 'default', field: name, value: v };
    case '>':
      cfg.defer = true;
      break;
  }
  if (v === undefined) line.fail(`header: missing value for ${name}; usage: header ${usage}`, field);
  if (r === undefined) return { op: 'set', field: name, value: v };
  // Caddy reads <find> as a regular expression.
  try {
    new RegExp(v);
  } catch (err) {
    line.fail(`header: invalid regular expression: ${regexpReason(err)}`, rest[0]!);
  }
  return { op: 'replace', field: name, find: v, value: r };
}

export const header: HandlerSpec = {
  usage: 'header [<matcher>] [[+|-|?|>]<field> [<value>|<find>] [<replace>]] { … }',
  parse(line, d) {
    const cfg: HeaderConfig = { ops: [], defer: false };
    const [field, ...rest] = line.args;
    if (field) cfg.ops.push(headerOp(line, field, rest, cfg));
    for (const n of line.block ?? []) {
      const l = new Line(n, 'header');
      if (l.name === 'match') l.fail('header: match (response matchers) is not supported by phpasync');
      l.noBlock();
      if (l.name === 'defer') {
        l.expectArgs(0, 0, 'defer');
        cfg.defer = true;
        continue;
      }
      cfg.ops.push(headerOp(l, n.head, l.args, cfg));
    }
    if (cfg.ops.length === 0) line.fail(`header needs at least one field; usage: ${this.usage}`);
    d.header = cfg;
  },
};

const FORMATS = ['zstd', 'gzip', 'br'] as const;
type Format = (typeof FORMATS)[number];

export const encode: HandlerSpec = {
  usage: 'encode [<matcher>] [zstd|gzip|br…] { gzip [<level>]; zstd; br; minimum_length <bytes> }',
  parse(line, d) {
    const cfg: EncodeConfig = { formats: [], minimumLength: 512 };
    const add = (tok: Token, level?: number): void => {
      if (!(FORMATS as readonly string[]).includes(tok.text)) {
        line.fail(unknownName('encode: unrecognized format', tok.text, FORMATS), tok);
      }
      if (cfg.formats.some((f) => f.name === tok.text)) line.fail(`encode: ${tok.text} is given twice`, tok);
      cfg.formats.push(level === undefined ? { name: tok.text as Format } : { name: tok.text as Format, level });
    };
    for (const t of line.args) add(t);
    const format = (l: Line): void => {
      l.expectArgs(0, l.name === 'gzip' ? 1 : 0, l.name === 'gzip' ? 'gzip [<level 1..9>]' : l.name);
      add(l.node.head, l.args[0] ? intValue(l.args[0], 'gzip level', 1, 9) : undefined);
    };
    eachSubdirective(line.block, {
      owner: 'encode',
      handlers: {
        zstd: format,
        gzip: format,
        br: format,
        minimum_length(l) {
          cfg.minimumLength = intValue(l.single('minimum_length <bytes>'), 'minimum_length', 0);
        },
      },
      unsupported: ['match'],
    });
    // Caddy's default is zstd then gzip; Node 20's zlib has no zstd, so a bare `encode` is gzip
    // (a zstd written out is refused by the runtime, not dropped).
    if (cfg.formats.length === 0) cfg.formats = [{ name: 'gzip' }];
    d.encode = cfg;
  },
};

export const request_body: HandlerSpec = {
  usage: 'request_body [<matcher>] { max_size <size> }',
  parse(line, d) {
    line.expectArgs(0, 0, this.usage);
    const cfg: { maxSize?: number } = {};
    eachSubdirective(line.block, {
      owner: 'request_body',
      handlers: {
        max_size(l) {
          const t = l.single('max_size <size>');
          const n = parseSize(t.text);
          if (n === undefined) l.fail(`max_size must be a size such as 10MB or 512KiB, got '${t.text}'`, t);
          cfg.maxSize = n;
        },
      },
      unsupported: ['set'],
    });
    d.requestBody = cfg;
  },
};
