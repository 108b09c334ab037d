#!/usr/bin/env bash
# Runs the whole vitest suite against an AddressSanitizer (+ UBSan) build of the addon and fails
# when a sanitizer reported anything that concerns our code. docs/asan.md explains the choices.
#
#   scripts/test-asan.sh                   build build-asan/, run every test file, check reports
#   scripts/test-asan.sh test/pipeline.test.ts   extra arguments go to `vitest run`
#
# Environment:
#   PHPASYNC_SANITIZE   sanitizers to build with (default address,undefined)
#   ASAN_ZEND_ALLOC=1   keep PHP's own allocator (by default PHP's heap goes through malloc,
#                       so ASan sees emalloc'd blocks too; see docs/asan.md)
#   ASAN_SKIP_BUILD=1   use build-asan/ and dist/ as they are
#   ASAN_REPORT_DIR     where the sanitizer logs go (default build-asan/reports)
#   ASAN_EXTRA_OPTIONS  more ASAN_OPTIONS, colon-separated, appended (later ones win)
#   ASAN_KEEP_REQUEST_MEMORY=1  do not free what a PHP request leaves allocated when it ends
#                       cleanly (see below): LeakSanitizer then lists it, with its stacks
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

sanitize=${PHPASYNC_SANITIZE:-address,undefined}
out=$root/build-asan
addon=$out/Release/phpasync.node
preload=$out/Release/asan_preload.so
reports=${ASAN_REPORT_DIR:-$out/reports}

if [[ ${ASAN_SKIP_BUILD:-0} != 1 ]]; then
  echo "== building the addon with -fsanitize=$sanitize into $out"
  # Its own output directory: build/Release, which normal runs load, is never touched.
  npx cmake-js compile -O "$out" --CDPHP_CONFIG="${PHP_CONFIG:-php-config}" \
    --CDPHPASYNC_SANITIZE="$sanitize" --log-level error
  echo "== compiling the TypeScript"
  npx tsc -p tsconfig.json
fi
for f in "$addon" "$preload"; do
  [[ -f $f ]] || { echo "test-asan: $f is missing (run without ASAN_SKIP_BUILD)" >&2; exit 2; }
done

libasan=$(gcc -print-file-name=libasan.so)
[[ -f $libasan ]] || { echo "test-asan: gcc does not know libasan.so (install libasan)" >&2; exit 2; }

rm -rf "$reports"
mkdir -p "$reports"

# node is not instrumented, so the ASan runtime is preloaded into every node process of the run
# (vitest, its forks, and the phpasync servers the tests spawn: they inherit this environment).
# asan_preload.so comes first, hence verify_asan_link_order=0 (scripts/asan/preload.c says why).
asan_options=(
  "log_path=$reports/asan"     # one file per process: asan.<pid>
  verify_asan_link_order=0
  halt_on_error=1 abort_on_error=1  # a memory error kills the process with SIGABRT ...
  exitcode=0                   # ... but leaks found at exit do not change its exit status
  detect_leaks=1
  # Request code runs on PHP fibers, whose stacks ASan does not know: the fast (frame pointer)
  # unwinder stops at once there, and LeakSanitizer ignores blocks with a one-frame allocation
  # stack, so leaks made in a handler would go unseen. The slow unwinder follows them.
  fast_unwind_on_malloc=0
  check_initialization_order=1
  detect_stack_use_after_return=0   # PHP's fibers switch stacks behind ASan's back
  handle_abort=1
  # Freed blocks stay poisoned until 32 MB more have been freed (ASan's default is 256 MB, which
  # adds some 250 MB to each server's RSS and fails the tests that bound RSS growth).
  quarantine_size_mb=32
)
[[ -n ${ASAN_EXTRA_OPTIONS:-} ]] && asan_options+=("$ASAN_EXTRA_OPTIONS")
lsan_options=(
  "suppressions=$root/scripts/asan/lsan.supp"
  print_suppressions=0
)
ubsan_options=(
  # libubsan's start-up moves ASan's log to this path (preload.c), so it must be ASan's own.
  "log_path=$reports/asan"
  print_stacktrace=1
)

env_vars=(
  "LD_PRELOAD=$preload:$libasan"
  "ASAN_OPTIONS=$(IFS=:; echo "${asan_options[*]}")"
  "LSAN_OPTIONS=$(IFS=:; echo "${lsan_options[*]}")"
  "UBSAN_OPTIONS=$(IFS=:; echo "${ubsan_options[*]}")"
  "PHPASYNC_UBSAN_LOG_PATH=$reports/ubsan"  # UBSan's own reports: ubsan.<pid>
  "PHPASYNC_ADDON=$addon"
)
if [[ ${ASAN_ZEND_ALLOC:-0} != 1 ]]; then
  # emalloc() becomes malloc(): ASan then checks our reads and writes of PHP strings and arrays.
  # Tracked mode still enforces memory_limit.
  env_vars+=(USE_ZEND_ALLOC=0 USE_TRACKED_ALLOC=1)
  if [[ ${ASAN_KEEP_REQUEST_MEMORY:-0} != 1 ]]; then
    # At a clean request end a release PHP leaves the objects still alive in reference cycles
    # allocated (only debug builds collect them first) and lets ZendMM drop its whole heap.
    # The tracked allocator frees what is left only when the end is "silent", that is with
    # report_memleaks=0 (zend_mm_shutdown); otherwise it forgets the blocks and LeakSanitizer
    # reports them under whatever ran the request. This ini file, scanned after Debian's own
    # (the leading ':'), makes every request of the run end as it does with ZendMM.
    # docs/asan.md, "Leaks: what counts".
    mkdir -p "$out/php-conf.d"
    printf '; scripts/test-asan.sh: free what a request left, as ZendMM does\nreport_memleaks=0\n' \
      >"$out/php-conf.d/zz-asan.ini"
    env_vars+=("PHP_INI_SCAN_DIR=${PHP_INI_SCAN_DIR:-}:$out/php-conf.d")
  fi
fi
# PHP unloads its shared extensions at module shutdown, before LeakSanitizer looks: their
# frames would read `<unknown module>`, and blocks only an extension's globals still point to
# would look lost. Kept loaded, the stacks name the extension's functions.
env_vars+=(ZEND_DONT_UNLOAD_MODULES=1)

echo "== vitest under ASan (reports in $reports)"
started=$(date +%s)
set +e
# Everything runs several times slower under ASan (the slow unwinder most of all): the time
# limits are raised for this run only (vitest.config.ts keeps 60 s for npm test).
env "${env_vars[@]}" node "$root/node_modules/vitest/vitest.mjs" run --testTimeout=300000 --hookTimeout=300000 "$@"
vitest_rc=$?
set -e
echo "== vitest exited $vitest_rc after $(( $(date +%s) - started ))s"

set +e
node "$root/scripts/asan/check-reports.mjs" "$reports" "$root"
check_rc=$?
set -e

if (( vitest_rc != 0 )); then
  echo "test-asan: FAILED: vitest exited $vitest_rc" >&2
  exit 1
fi
if (( check_rc != 0 )); then
  echo "test-asan: FAILED: sanitizer reports (above)" >&2
  exit 1
fi
echo "test-asan: OK"
