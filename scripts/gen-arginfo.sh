#!/usr/bin/env bash
# Regenerates php/async/async_arginfo.h and php/server/frankenphp_arginfo.h from their
# *.stub.php files with PHP's own gen_stub.php (the stub is the source of truth).
#
# gen_stub.php ships with PHP's development files (Debian: php8.2-dev, under
# $(php-config --prefix)/lib/php/<phpapi>/build/). It needs nikic/PHP-Parser, which it would
# download; this script gives it Debian's instead (apt-get install php-parser, installed under
# /usr/share/php), so it runs offline. PHP_PARSER_DIR names another copy (the directory that
# holds PhpParser/).
#
#   bash scripts/gen-arginfo.sh          regenerate the headers
#   bash scripts/gen-arginfo.sh --check  exit 1 when a header differs from what the stub gives
set -euo pipefail
cd "$(dirname "$0")/.."

PHP_CONFIG=${PHP_CONFIG:-php-config}
PHP_BIN=${PHP_BIN:-php}
STUBS=(php/async/async.stub.php php/server/frankenphp.stub.php)

gen_stub=""
prefix=$("$PHP_CONFIG" --prefix)
phpapi=$("$PHP_CONFIG" --phpapi 2>/dev/null || true)
for candidate in "$prefix/lib/php/$phpapi/build/gen_stub.php" "$prefix/lib/php/build/gen_stub.php" \
  "$prefix/lib64/php/build/gen_stub.php"; do
  if [[ -f $candidate ]]; then gen_stub=$candidate; break; fi
done
if [[ -z $gen_stub ]]; then
  echo "gen-arginfo: no gen_stub.php under $prefix/lib/php (install PHP's development files: php8.2-dev)" >&2
  exit 2
fi
parser=${PHP_PARSER_DIR:-/usr/share/php}
if [[ ! -f $parser/PhpParser/Parser.php ]]; then
  echo "gen-arginfo: nikic/PHP-Parser not found in $parser (apt-get install php-parser, or set PHP_PARSER_DIR)" >&2
  exit 2
fi

# gen_stub.php looks for PHP-Parser-<version>/lib next to itself and downloads it when absent:
# run a copy of it beside a link to the installed parser instead.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$gen_stub" "$work/gen_stub.php"
version=$(sed -n 's/^ *\$version = "\([0-9.]*\)";.*/\1/p' "$gen_stub" | head -n1)
mkdir -p "$work/PHP-Parser-$version"
ln -s "$parser" "$work/PHP-Parser-$version/lib"

status=0
for stub in "${STUBS[@]}"; do
  header=${stub%.stub.php}_arginfo.h
  if [[ ${1:-} == --check ]]; then
    mkdir -p "$work/check"
    cp "$stub" "$work/check/"
    "$PHP_BIN" "$work/gen_stub.php" -f "$work/check/$(basename "$stub")" >/dev/null
    if ! diff -u "$header" "$work/check/$(basename "$header")"; then
      echo "gen-arginfo: $header is not what $stub gives: run bash scripts/gen-arginfo.sh" >&2
      status=1
    fi
  else
    "$PHP_BIN" "$work/gen_stub.php" -f "$stub"
  fi
done
exit $status
