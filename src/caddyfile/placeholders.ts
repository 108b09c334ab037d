// Runtime placeholders stay in the config, but Caddy's short forms are rewritten to their long
// form ({path} → {http.request.uri.path}) so the server resolves one spelling only.

const SHORT: Record<string, string> = {
  dir: 'http.request.uri.path.dir',
  file: 'http.request.uri.path.file',
  host: 'http.request.host',
  hostport: 'http.request.hostport',
  port: 'http.request.port',
  method: 'http.request.method',
  path: 'http.request.uri.path',
  query: 'http.request.uri.query',
  '?query': 'http.request.uri.prefixed_query',
  remote: 'http.request.remote',
  remote_host: 'http.request.remote.host',
  remote_port: 'http.request.remote.port',
  scheme: 'http.request.scheme',
  uri: 'http.request.uri',
  uuid: 'http.request.uuid',
  orig_method: 'http.request.orig_method',
  orig_uri: 'http.request.orig_uri',
  orig_path: 'http.request.orig_uri.path',
  orig_dir: 'http.request.orig_uri.path.dir',
  orig_file: 'http.request.orig_uri.path.file',
  orig_query: 'http.request.orig_uri.query',
  '?orig_query': 'http.request.orig_uri.prefixed_query',
  client_ip: 'http.vars.client_ip',
  tls_cipher: 'http.request.tls.cipher_suite',
  tls_version: 'http.request.tls.version',
};

/** Short prefixes followed by `.something`: {header.X}, {query.x}, {labels.0}, {re.name.1}... */
const PREFIXES: [string, string][] = [
  ['header.', 'http.request.header.'],
  ['cookie.', 'http.request.cookie.'],
  ['labels.', 'http.request.host.labels.'],
  ['path.', 'http.request.uri.path.'],
  ['query.', 'http.request.uri.query.'],
  ['re.', 'http.regexp.'],
  ['vars.', 'http.vars.'],
  ['err.', 'http.error.'],
  ['file_match.', 'http.matchers.file.'],
];

export function expandShorthands(text: string): string {
  if (!text.includes('{')) return text;
  return text.replace(/(\\?)\{([?A-Za-z_][A-Za-z0-9_.\-]*)\}/g, (whole, esc: string, name: string) => {
    if (esc) return whole; // \{path} is a literal brace
    const long = SHORT[name];
    if (long) return `{${long}}`;
    for (const [short, full] of PREFIXES) {
      if (name.startsWith(short) && name.length > short.length) return `{${full}${name.slice(short.length)}}`;
    }
    return whole;
  });
}
