#!/usr/bin/env bash
# Runs the multi-thread tests (test/zts-*.test.ts) against the addon built for a thread-safe
# PHP: builds that PHP if it is not cached (scripts/build-php-zts.sh), builds the addon against
# it into build-zts/ (build/, which normal runs load, stays NTS) and runs vitest with
# PHPASYNC_ZTS_ADDON pointing at it.
#
#   scripts/test-zts.sh                 every test/zts-*.test.ts
#   scripts/test-zts.sh test/x.test.ts  these files instead (arguments go to `vitest run`)
# Environment:
#   PHPASYNC_ZTS_PHP_CONFIG  a ZTS php-config to use instead of building one
#   ZTS_SKIP_BUILD=1 use build-zts/ and dist/ as they are
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

out=$root/build-zts
if [[ ${ZTS_SKIP_BUILD:-0} != 1 ]]; then
  PHP_CONFIG=${PHPASYNC_ZTS_PHP_CONFIG:-}
  if [[ -z $PHP_CONFIG ]]; then
    PHP_CONFIG=$(scripts/build-php-zts.sh --print-prefix)/bin/php-config
  fi
  [[ $("$PHP_CONFIG" --configure-options) == *--enable-zts* ]] \
    || { echo "test-zts: $PHP_CONFIG is not a thread-safe (ZTS) PHP" >&2; exit 2; }
  echo "== building the addon against $PHP_CONFIG into $out"
  nice -n "${NICE:-10}" npx cmake-js compile -O "$out" --CDPHP_CONFIG="$PHP_CONFIG" --log-level error
  echo "== compiling the TypeScript"
  npx tsc -p tsconfig.json
fi
addon=$out/Release/phpasync.node
[[ -f $addon ]] || { echo "test-zts: $addon is missing (run without ZTS_SKIP_BUILD)" >&2; exit 2; }
node -e "const a=require(process.argv[1]); if(!a.phpInfo().zts){console.error('test-zts: '+process.argv[1]+' is not linked to a ZTS PHP');process.exit(2)}" "$addon"

files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(test/zts-*.test.ts)
echo "== vitest ${files[*]} (PHPASYNC_ZTS_ADDON=$addon)"
PHPASYNC_ZTS_ADDON=$addon npx vitest run "${files[@]}"
