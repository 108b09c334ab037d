#!/usr/bin/env bash
# Runs the multi-thread tests (test/zts-*.test.ts) with the addon built under ThreadSanitizer
# against the thread-safe PHP of scripts/build-php-zts.sh, then reads the reports and fails when
# one has a frame in our code. docs/tsan.md explains the set-up and lists what it found.
#
#   scripts/test-tsan.sh                 build build-tsan/, run test/zts-*.test.ts, check reports
#   scripts/test-tsan.sh test/x.test.ts  other test files (arguments go to `vitest run`)
# Environment:
#   PHPASYNC_ZTS_PHP_CONFIG  a ZTS php-config (default: the one scripts/build-php-zts.sh builds/caches)
#   TSAN_SKIP_BUILD=1  use build-tsan/ and dist/ as they are
#   TSAN_BUILD_DIR     another build directory (default build-tsan)
#   TSAN_REPORT_DIR    where the reports go (default build-tsan/reports)
#   TSAN_EXTRA_OPTIONS more TSAN_OPTIONS, colon-separated, appended
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

out=${TSAN_BUILD_DIR:-$root/build-tsan}
addon=$out/Release/phpasync.node
reports=${TSAN_REPORT_DIR:-$out/reports}

if [[ ${TSAN_SKIP_BUILD:-0} != 1 ]]; then
  PHP_CONFIG=${PHPASYNC_ZTS_PHP_CONFIG:-}
  if [[ -z $PHP_CONFIG ]]; then
    PHP_CONFIG=$(scripts/build-php-zts.sh --print-prefix)/bin/php-config
  fi
  echo "== building the addon with -fsanitize=thread against $PHP_CONFIG into $out"
  nice -n "${NICE:-10}" npx cmake-js compile -O "$out" --CDPHP_CONFIG="$PHP_CONFIG" \
    --CDPHPASYNC_SANITIZE=thread --log-level error
  npx tsc -p tsconfig.json
fi
# asan_preload.so (scripts/asan/preload.c, built with any sanitizer) drops RTLD_DEEPBIND from
# libphp's dlopen of opcache.so, which the sanitizer runtimes refuse.
preload=$out/Release/asan_preload.so
for f in "$addon" "$preload"; do
  [[ -f $f ]] || { echo "test-tsan: $f is missing (run without TSAN_SKIP_BUILD)" >&2; exit 2; }
done
libtsan=$(gcc -print-file-name=libtsan.so)
[[ -f $libtsan ]] || { echo "test-tsan: gcc does not know libtsan.so (Debian: libtsan2)" >&2; exit 2; }

rm -rf "$reports"
mkdir -p "$reports"
tsan_options=(
  "log_path=$reports/tsan"       # one file per process: tsan.<pid>
  halt_on_error=0                # collect every report of the run
  exitcode=0                     # reports do not change exit statuses (the tests check them)
  second_deadlock_stack=1
  history_size=4                 # deeper history: both stacks of a race are shown more often
  report_signal_unsafe=0         # PHP's and Node's own signal handlers are not ours
  "suppressions=$root/scripts/tsan/tsan.supp"
)
# Frames of our code with file:line (TSan's own symbolizer leaves many as <null>).
for s in llvm-symbolizer /usr/lib/llvm-1[4-9]/bin/llvm-symbolizer; do
  if command -v "$s" >/dev/null 2>&1; then tsan_options+=("external_symbolizer_path=$(command -v "$s")"); break; fi
done
[[ -n ${TSAN_EXTRA_OPTIONS:-} ]] && tsan_options+=("$TSAN_EXTRA_OPTIONS")

files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(test/zts-*.test.ts)
echo "== vitest ${files[*]} under TSan (reports in $reports)"
started=$(date +%s)
set +e
# node is not instrumented: the runtime is preloaded into every node process of the run (vitest
# and the servers it spawns inherit it). Only our code is instrumented, so only its memory
# accesses are checked; node's and libphp's locks and atomics are seen through the interceptors
# (pthread) or not at all (their own atomics), see docs/tsan.md. PHPASYNC_ADDON makes any other
# test file given as an argument run against this build too.
LD_PRELOAD=$preload:$libtsan PHPASYNC_ZTS_ADDON=$addon PHPASYNC_ADDON=$addon \
  TSAN_OPTIONS="$(IFS=:; echo "${tsan_options[*]}")" \
  node "$root/node_modules/vitest/vitest.mjs" run --testTimeout=300000 --hookTimeout=300000 "${files[@]}"
vitest_rc=$?
set -e
echo "== vitest exited $vitest_rc after $(( $(date +%s) - started ))s"
set +e
node "$root/scripts/tsan/check-reports.mjs" "$reports" "$root"
check_rc=$?
set -e
(( vitest_rc == 0 )) || { echo "test-tsan: FAILED: vitest exited $vitest_rc" >&2; exit 1; }
(( check_rc == 0 )) || { echo "test-tsan: FAILED: reports through our code (above)" >&2; exit 1; }
echo "test-tsan: OK"
