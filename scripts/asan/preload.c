/*
 * Preloaded ahead of the ASan runtime by scripts/test-asan.sh; not part of any normal build.
 * Not instrumented itself. Two jobs, both in dlopen():
 *
 * 1. Debian's libphp is not built with ASan, so it loads extensions (opcache.so, ...) with
 *    dlopen(..., RTLD_DEEPBIND). The ASan runtime refuses that flag and kills the process,
 *    because a deep-bound library would call libc's malloc instead of the intercepted one.
 *    The flag is dropped and the call handed on to the next dlopen, the ASan interceptor.
 *    For the extensions Debian ships nothing else changes: none of them defines a symbol
 *    that another loaded object also defines.
 *
 * 2. With GCC, UBSan is a runtime of its own (libubsan), loaded with the addon. Its start-up
 *    sets the log path through __sanitizer_set_report_path, which the preloaded ASan runtime
 *    interposes: ASan's reports move to UBSan's log_path, and UBSan's own reports stay on
 *    stderr, where the test harness swallows them. Once libubsan is loaded, its own
 *    __sanitizer_set_report_path (looked up through its handle, which skips interposition) is
 *    called with PHPASYNC_UBSAN_LOG_PATH.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

typedef void *(*dlopen_fn)(const char *, int);
typedef void (*set_path_fn)(const char *);

static dlopen_fn next_dlopen;
static int ubsan_done;

static void point_ubsan_log(void)
{
	const char *path = getenv("PHPASYNC_UBSAN_LOG_PATH");
	if (path == NULL || *path == '\0') {
		ubsan_done = 1;
		return;
	}
	void *h = next_dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (h == NULL) return; /* not loaded yet: try after the next dlopen */
	set_path_fn set = (set_path_fn)dlsym(h, "__sanitizer_set_report_path");
	if (set != NULL) set(path);
	dlclose(h);
	ubsan_done = 1;
}

__attribute__((visibility("default"))) void *dlopen(const char *file, int flags)
{
	if (next_dlopen == NULL) next_dlopen = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
	void *h = next_dlopen(file, flags & ~RTLD_DEEPBIND);
	if (!ubsan_done && h != NULL) point_ubsan_log();
	return h;
}
