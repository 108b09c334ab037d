/*
 * Log lines of the PHP side: to the host (pino, with the request id) or, in php-cli, stderr.
 */
#include "runtime/runtime.h"

#include <stdarg.h>
#include <stdio.h>

static bool g_to_stderr;

/* libc's, not PHP's: php.h maps vsnprintf to ap_php_vsnprintf, whose %.*s takes the strlen()
 * of the whole argument first, reading past a buffer that is not NUL-terminated (PHP's output
 * chunks, logged by ub_write; ASan found it). */
#undef vsnprintf

void phpa_log_to_stderr(bool on) { g_to_stderr = on; }

/* The request a classic-scripts thread runs now (it has no coroutines). */
static __thread uint64_t t_request_id;

void phpa_log_set_request_id(uint64_t id) { t_request_id = id; }

uint64_t phpa_log_request_id(void)
{
	phpa_coroutine *co = phpa_sched_current();
	return co ? co->scope_id : t_request_id;
}

void phpa_log(int level, uint64_t request_id, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0) return;
	size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--;
	if (g_to_stderr) {
		fprintf(stderr, "%.*s\n", (int)len, buf);
		return;
	}
	int thread = phpa_thread_index();
	phpa_host_event(thread >= 0 ? thread : 0, PHPA_EVENT_LOG, level, request_id, buf, len);
}
