#!/usr/bin/env bash
# One command from a fresh machine (Node 20 + npm, Debian 12) to a runnable `phpasync`.
# Idempotent: run it again after pulling. PHP_CONFIG=/path/to/php-config picks another PHP.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1mbuild.sh:\033[0m %s\n' "$*"; }
die() { printf '\033[1;31mbuild.sh: %s\033[0m\n' "$*" >&2; exit 1; }

find_php_config() {
  if [ -n "${PHP_CONFIG:-}" ]; then
    command -v "$PHP_CONFIG" >/dev/null 2>&1 || [ -x "$PHP_CONFIG" ] || die "PHP_CONFIG=$PHP_CONFIG is not an executable php-config"
    echo "$PHP_CONFIG"; return
  fi
  for c in php-config php-config8.4 php-config8.3 php-config8.2 php-config8.1; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return; fi
  done
}

has_embed_lib() {
  local prefix f; prefix=$("$1" --prefix)
  for f in "$prefix"/lib/libphp*.so "$prefix"/lib64/libphp*.so "$prefix"/lib/*/libphp*.so; do
    [ -e "$f" ] && return 0
  done
  return 1
}

# 1. PHP: embed SAPI library, headers (php-config) and the CLI.
PHPC=$(find_php_config || true)
if [ -z "$PHPC" ] || ! has_embed_lib "$PHPC"; then
  if [ -z "${PHP_CONFIG:-}" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing Debian's PHP embed SAPI, headers and CLI (libphp-embed php-dev php-cli php-opcache)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || say "apt-get update failed; trying the cached package lists"
    apt-get install -y -qq --no-install-recommends libphp-embed php-dev php-cli php-opcache >/dev/null \
      || die "apt-get could not install libphp-embed php-dev php-cli php-opcache"
    PHPC=$(find_php_config || true)
  fi
fi
[ -n "$PHPC" ] || die "no php-config found: install PHP's development files (Debian: apt-get install php-dev libphp-embed) or set PHP_CONFIG"
PHP_VERSION=$("$PHPC" --version)
PHP_VID=$("$PHPC" --vernum)
[ "$PHP_VID" -ge 80100 ] || die "PHP $PHP_VERSION is too old: phpasync needs PHP >= 8.1 ($PHPC)"
has_embed_lib "$PHPC" || die "PHP $PHP_VERSION ($PHPC) has no embed library (libphp*.so): install libphp-embed or build PHP with --enable-embed"
say "PHP $PHP_VERSION via $PHPC"
PHP_CONFIG="$PHPC" bash scripts/install-test-deps.sh || say "test dependencies (MariaDB, PHP's MySQL drivers) not installed: the database tests will skip"

# 2. Extensions a typical app needs, for Debian's PHP (a PHP named by PHP_CONFIG is the user's).
if [ -z "${PHP_CONFIG:-}" ] && command -v php >/dev/null 2>&1; then
  loaded=$(php -m 2>/dev/null | tr 'A-Z' 'a-z')
  missing_ext=()
  for pair in mbstring:mbstring xml:dom curl:curl mysql:mysqli sqlite3:pdo_sqlite intl:intl; do
    grep -qx "${pair#*:}" <<<"$loaded" || missing_ext+=("php-${pair%%:*}")
  done
  if [ ${#missing_ext[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      say "installing PHP extensions: ${missing_ext[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -qq --no-install-recommends "${missing_ext[@]}" >/dev/null \
        || say "apt-get could not install ${missing_ext[*]}; the server runs without them"
    else
      say "PHP extensions a typical app needs are missing: ${missing_ext[*]} (sudo apt-get install ${missing_ext[*]})"
    fi
  fi
fi

# 3. The compiler and cmake the addon needs.
missing=()
for tool in cmake g++ make; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends cmake g++ make >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends cmake g++ make >/dev/null; } \
      || die "apt-get could not install cmake g++ make"
  else
    die "the addon needs ${missing[*]}: install them (Debian: sudo apt-get install cmake g++ make) and run build.sh again"
  fi
fi

# 4. JS dependencies (lockfile exact).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 5. The addon, against the node-api headers bundled with cmake-js (nothing is downloaded).
say "building the native addon"
npx --no-install cmake-js compile --CDPHP_CONFIG="$PHPC" --log-level error >/dev/null \
  || die "addon build failed: rerun 'npx cmake-js compile --CDPHP_CONFIG=$PHPC' to see why"

# 6. TypeScript.
say "compiling TypeScript"
npx --no-install tsc -p tsconfig.json
chmod +x dist/src/cli/main.js dist/src/cli/php.js

# 7. `phpasync` on PATH.
if npm link --no-audit --no-fund --loglevel=error >/dev/null 2>&1 && command -v phpasync >/dev/null 2>&1; then
  say "phpasync is on PATH: $(command -v phpasync)"
  say "done. Try: phpasync run --config Caddyfile.async"
else
  say "could not put phpasync on PATH (npm link failed or npm's bin directory is not on PATH)"
  say "done. Try: node $(pwd)/dist/src/cli/main.js run --config Caddyfile.async"
fi
