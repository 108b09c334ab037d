// An off-the-shelf PHP application, unchanged, in classic-scripts mode: Debian's `adminer`
// package (/usr/share/adminer/adminer.php) against a private MariaDB. Its login is a session
// started on the first GET, a form POST, session_regenerate_id(), a redirect with the new
// cookie, then pages that read the session and query the database.
// Needs: apt-get install adminer mariadb-server php8.2-mysql (skipped, saying so, without).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mariaDbSkipReason, startMariaDb, type MariaDb } from './helpers/mariadb.js';
import { runCaddyfile } from './helpers/server.js';

const ADMINER = '/usr/share/adminer';
const skip = fs.existsSync(`${ADMINER}/adminer.php`) ? await mariaDbSkipReason() : 'Debian package adminer not installed (apt-get install adminer)';

/** The cookie pairs of a response's Set-Cookie headers, merged into `jar`. */
function keepCookies(res: Response, jar: Map<string, string>): void {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
}

const cookieHeader = (jar: Map<string, string>): string => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

describe.skipIf(skip !== undefined)(`adminer, unchanged, as classic scripts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let db: MariaDb;
  let server: Awaited<ReturnType<typeof runCaddyfile>>;
  let base: string;

  beforeAll(async () => {
    db = await startMariaDb({ schema: 'CREATE TABLE fruits (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO fruits VALUES (1, "apple"), (2, "pear");' });
    server = await runCaddyfile(`http://127.0.0.1:0 {\n\troot * ${ADMINER}\n\tphp_server\n}\n`, 1);
    const line = server.output.find((l) => l.includes('Server listening at'))!;
    base = `http://127.0.0.1:${/:(\d+)"?,?/.exec(line.slice(line.indexOf('Server listening at')))![1]}`;
  });

  afterAll(async () => {
    await server?.stop();
    await db?.stop();
  });

  it('logs in to MariaDB and lists a table and its rows', async () => {
    const jar = new Map<string, string>();
    const login = await fetch(`${base}/adminer.php`);
    expect(login.status).toBe(200);
    keepCookies(login, jar);
    const page = await login.text();
    expect(page).toContain('name="auth[username]"');
    expect(jar.has('adminer_sid')).toBe(true);

    const form = new URLSearchParams({
      'auth[driver]': 'server',
      'auth[server]': `localhost:${db.socket}`,
      'auth[username]': db.user,
      'auth[password]': db.password,
      'auth[db]': db.database,
    });
    const posted = await fetch(`${base}/adminer.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(jar) },
      body: form,
      redirect: 'manual',
    });
    expect(posted.status).toBe(302);
    keepCookies(posted, jar);
    const location = posted.headers.get('location')!;
    expect(location).toContain(`username=${db.user}`);

    const dbPage = await fetch(new URL(location, base), { headers: { cookie: cookieHeader(jar) } });
    expect(dbPage.status).toBe(200);
    const dbHtml = await dbPage.text();
    expect(dbHtml).toContain('fruits');
    expect(dbHtml).not.toContain('Session expired');

    const rows = await fetch(new URL(`${location}&select=fruits`, base), { headers: { cookie: cookieHeader(jar) } });
    const rowsHtml = await rows.text();
    expect(rowsHtml).toContain('apple');
    expect(rowsHtml).toContain('pear');
    // Its static files (served by adminer.php itself, ?file=...) come through as well.
    const css = await fetch(`${base}/adminer.php?file=default.css&version=4.8.1`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
  });
});
