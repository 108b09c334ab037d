/*
 * The PHP thread's identity (which server thread this is, the module's configuration) and the
 * out-of-memory policy every file of php/ follows for its own (non-Zend) allocations.
 */
#include "runtime/runtime.h"

#include <stdlib.h>

static const phpa_config *g_config;
static __thread int t_index = -1;

void phpa_runtime_set_config(const phpa_config *config) { g_config = config; }

const phpa_config *phpa_runtime_config(void) { return g_config; }

void phpa_runtime_thread_enter(int index) { t_index = index; }

void phpa_runtime_thread_leave(void) { t_index = -1; }

int phpa_thread_index(void) { return t_index; }

ZEND_NORETURN void phpa_out_of_memory(const char *what)
{
	/* A fatal error: the interpreter restarts and the requests in flight get 500s. */
	zend_error_noreturn(E_ERROR, "phpasync: out of memory for %s", what);
}

void *phpa_realloc_array(void *p, size_t n, size_t size, const char *what)
{
	if (size && n > SIZE_MAX / size) phpa_out_of_memory(what);
	void *q = realloc(p, n * size);
	if (!q && n) phpa_out_of_memory(what); /* p is still valid and still owned by the caller */
	return q;
}

void *phpa_calloc(size_t size, const char *what)
{
	void *p = calloc(1, size);
	if (!p) phpa_out_of_memory(what);
	return p;
}
