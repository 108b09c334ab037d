/*
 * Faults and interrupts of the PHP threads: the mechanism. What they mean for a request (500,
 * 504, 499) is the server's policy (php/server/worker_limits.c), installed per thread with
 * phpa_guard_set_policy().
 *
 * - Fatal errors. PHP 8.2, measured: a fatal error raised inside a Fiber does not always come
 *   back to the scheduler as a bailout. `trigger_error(E_USER_ERROR)` does (the Fiber's
 *   zend_first_try catches it and Fiber::start()/resume() re-raises it in the caller), but an
 *   exhausted memory_limit returns from the handler with an UnwindExit pending, exactly like
 *   exit(), and every object has been marked destructed (Fiber::suspend() then fails with
 *   "Couldn't execute method Fiber::suspend"). So we wrap zend_error_cb and remember that a
 *   fatal error happened (phpa_guard_fatal()); the server turns that into a bailout whatever
 *   PHP did, and the thread restarts its interpreter. Some fatal errors can be contained to
 *   the code that raised them (see containable_type()): the policy decides.
 * - Interrupts. max_execution_time cannot be used (its SIGPROF timer belongs to Node). A
 *   watchdog thread reads each PHP thread's published deadline (an atomic) and, once it has
 *   passed, sets that thread's EG(vm_interrupt); JS sets it too when it cancels a request
 *   (phpa_php_interrupt). The VM then calls zend_interrupt_function at the next loop back-edge
 *   or call, and ours calls the thread's policy.
 *   Measured limit: with opcache.jit=tracing, PHP 8.2's JIT emits no interrupt check in a
 *   loop with an empty body (`while (true) {}`), so that one loop cannot be interrupted (with
 *   the JIT off it can). Any loop that does something, or calls anything, is interrupted.
 * - Cancelled ids. JS queues the ids of requests whose client went away
 *   (phpa_host_take_cancelled); they are kept here, sorted, until the server matches them.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "runtime/runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <main/php_output.h>
#include <zend_exceptions.h>

typedef struct {
	/* That thread's EG(vm_interrupt) (NULL while it runs no interpreter). Atomic pointer: the
	 * watchdog and the JS thread read it while the PHP thread sets it. */
	_Atomic(zend_atomic_bool *) vm_interrupt;
	_Atomic uint64_t deadline_ns;   /* deadline of the coroutine it runs now; 0 = none */
} guard_slot;

static guard_slot *g_slots;
static int g_nslots;
static uint32_t g_timeout_ms;
static pthread_t g_watchdog;
static bool g_watchdog_running;
/* seq_cst store/load: only tells the watchdog to exit; nothing else is published with it. */
static atomic_bool g_watchdog_stop;

static void (*orig_error_cb)(int, zend_string *, const uint32_t, zend_string *);
static void (*orig_interrupt)(zend_execute_data *);

static __thread bool t_fatal;
static __thread void (*t_interrupt)(void);
static __thread bool (*t_contain)(void);
static __thread uint64_t *t_cancelled; /* ids JS cancelled that the server has not matched yet (sorted) */
static __thread uint32_t t_ncancelled, t_cancelled_cap;

void phpa_guard_set_policy(void (*interrupt)(void), bool (*contain)(void))
{
	t_interrupt = interrupt;
	t_contain = contain;
}

/* ---- fatal errors ------------------------------------------------------------------------ */

#define PHPA_BAILING_ERRORS (E_ERROR | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR)

/* A fatal error raised at a point where nothing shared is half changed, so that unwinding the
 * code that raised it (as exit() does) is enough: E_USER_ERROR (raised by user code between
 * statements) and, on a PHP with delayed out-of-memory errors (Debian's 8.2.36 has them:
 * ZEND_HAS_OOM), memory exhaustion, which its allocator then reports at a VM safe point
 * (zend_handle_delayed_oom) after letting the failing allocation through. A PHP that raises it
 * inside the allocator bails out of the middle of C code: that restarts. Only inside a fiber,
 * not while PHP compiles (compiler globals) or runs an output handler (output globals). */
static bool containable_type(int type, zend_string *message)
{
	if (!EG(active_fiber) || CG(in_compilation) || OG(running)) return false;
	switch (type & E_ALL) {
	case E_USER_ERROR:
		return true;
#ifdef ZEND_HAS_OOM
	case E_ERROR:
		return zend_string_starts_with_literal(message, "Allowed memory size of") ||
			zend_string_starts_with_literal(message, "Out of memory");
#endif
	default:
		return false;
	}
}

static void phpa_error_cb(int type, zend_string *file, const uint32_t line, zend_string *message)
{
	if (phpa_on_php_thread() && (type & PHPA_BAILING_ERRORS) && !(type & E_DONT_BAIL)) {
		if (t_contain && containable_type(type, message) && t_contain()) {
			/* Logged as PHP logs it, but without PHP's bailout, which would first mark every
			 * object of every request destructed: the code unwinds like exit() instead. */
			orig_error_cb(type | E_DONT_BAIL, file, line, message);
			EG(exit_status) = 0;
			if (!EG(exception)) zend_throw_unwind_exit();
			return;
		}
		t_fatal = true;
	}
	orig_error_cb(type, file, line, message);
}

bool phpa_guard_fatal(void) { return t_fatal; }

void phpa_guard_after_bailout(void)
{
	/* After "Allowed memory size exhausted" the heap is still full; answering the requests
	 * allocates. The limit comes back from php.ini at the request shutdown that follows. */
	zend_set_memory_limit((size_t)ZEND_LONG_MAX);
}

/* ---- cancelled ids ------------------------------------------------------------------------ */

void phpa_guard_take_cancels(void)
{
	uint64_t ids[64];
	size_t n;
	while ((n = phpa_host_take_cancelled(phpa_thread_index(), ids, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (t_ncancelled == t_cancelled_cap) {
				uint32_t cap = t_cancelled_cap ? t_cancelled_cap * 2 : 16;
				t_cancelled = phpa_realloc_array(t_cancelled, cap, sizeof *t_cancelled, "cancelled requests");
				t_cancelled_cap = cap;
			}
			/* Insert sorted (ids grow, so this is nearly always an append). */
			uint32_t j = t_ncancelled;
			while (j > 0 && t_cancelled[j - 1] > ids[i]) {
				t_cancelled[j] = t_cancelled[j - 1];
				j--;
			}
			t_cancelled[j] = ids[i];
			t_ncancelled++;
		}
	}
}

bool phpa_guard_any_cancelled(void) { return t_ncancelled > 0; }

bool phpa_guard_take_cancelled(uint64_t id)
{
	for (uint32_t i = 0; i < t_ncancelled; i++) {
		if (t_cancelled[i] == id) {
			memmove(&t_cancelled[i], &t_cancelled[i + 1], (t_ncancelled - i - 1) * sizeof(uint64_t));
			t_ncancelled--;
			return true;
		}
	}
	return false;
}

void phpa_guard_filter_cancelled(bool (*keep)(uint64_t id))
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < t_ncancelled; i++) {
		uint64_t id = t_cancelled[i];
		if (keep(id)) t_cancelled[kept++] = id;
	}
	t_ncancelled = kept;
}

/* ---- interrupts --------------------------------------------------------------------------- */

void phpa_php_interrupt(int thread)
{
	if (!g_slots || thread < 0 || thread >= g_nslots) return;
	zend_atomic_bool *vi = atomic_load(&g_slots[thread].vm_interrupt);
	if (vi) zend_atomic_bool_store(vi, true);
}

static void phpa_interrupt_function(zend_execute_data *execute_data)
{
	if (orig_interrupt) orig_interrupt(execute_data);
	if (t_interrupt) t_interrupt();
}

void phpa_guard_rearm_interrupt(void) { zend_atomic_bool_store_ex(&EG(vm_interrupt), true); }

void phpa_guard_publish_deadline(uint64_t deadline_ns)
{
	/* relaxed: the watchdog only needs to see the value eventually; a stale deadline makes it
	 * set vm_interrupt once too often, and the policy re-checks on the PHP thread. */
	int t = phpa_thread_index();
	if (g_slots && t >= 0 && t < g_nslots) atomic_store_explicit(&g_slots[t].deadline_ns, deadline_ns, memory_order_relaxed);
}

/* ---- watchdog thread --------------------------------------------------------------------- */

static void *watchdog_main(void *arg)
{
	(void)arg;
#if defined(__linux__)
	pthread_setname_np(pthread_self(), "php-watchdog"); /* else it inherits "php-0" */
#endif
	/* Check often enough for the deadline to be met within a tenth of the timeout (at most
	 * 100 ms late); 20 wake-ups per second at most costs nothing measurable. */
	uint64_t period_ms = g_timeout_ms ? g_timeout_ms / 10 : 50;
	if (period_ms < 5) period_ms = 5;
	if (period_ms > 50) period_ms = 50;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(period_ms * 1000000u)};
	while (!atomic_load(&g_watchdog_stop)) {
		nanosleep(&ts, NULL);
		uint64_t now = phpa_now_ns();
		for (int i = 0; i < g_nslots; i++) {
			uint64_t d = atomic_load_explicit(&g_slots[i].deadline_ns, memory_order_relaxed);
			zend_atomic_bool *vi = atomic_load(&g_slots[i].vm_interrupt);
			if (d && now >= d && vi) zend_atomic_bool_store(vi, true);
		}
	}
	return NULL;
}

void phpa_guard_module_startup(const phpa_config *config)
{
	orig_error_cb = zend_error_cb;
	zend_error_cb = phpa_error_cb;
	orig_interrupt = zend_interrupt_function;
	zend_interrupt_function = phpa_interrupt_function;
	g_nslots = config->threads > 0 ? config->threads : 1;
	/* Outside the interpreter: no slots means no timeouts and no interrupts, said in the log. */
	g_slots = calloc((size_t)g_nslots, sizeof *g_slots);
	if (!g_slots) phpa_log(PHPA_LOG_ERROR, 0, "out of memory at startup: request timeouts and client-abort interrupts are off");
	g_timeout_ms = config->request_timeout_ms;
	atomic_store(&g_watchdog_stop, false);
	/* Classic scripts need it for max_execution_time too, even without a request timeout. */
	if ((g_timeout_ms || config->mode == PHPA_MODE_SCRIPTS) && g_slots) {
		/* Started from a PHP thread: it inherits that thread's blocked signal mask. */
		g_watchdog_running = pthread_create(&g_watchdog, NULL, watchdog_main, NULL) == 0;
		if (!g_watchdog_running) phpa_log(PHPA_LOG_ERROR, 0, "cannot start the request-timeout watchdog: timeouts are off");
	}
}

void phpa_guard_module_shutdown(void)
{
	if (g_watchdog_running) {
		atomic_store(&g_watchdog_stop, true);
		pthread_join(g_watchdog, NULL);
		g_watchdog_running = false;
	}
	if (orig_error_cb) zend_error_cb = orig_error_cb;
	zend_interrupt_function = orig_interrupt;
	orig_error_cb = NULL;
	free(g_slots);
	g_slots = NULL;
	g_nslots = 0;
}

void phpa_guard_thread_start(void)
{
	t_fatal = false;
	int t = phpa_thread_index();
	if (g_slots && t >= 0 && t < g_nslots) {
		atomic_store(&g_slots[t].deadline_ns, 0);
		atomic_store(&g_slots[t].vm_interrupt, &EG(vm_interrupt));
	}
}

void phpa_guard_thread_stop(void)
{
	int t = phpa_thread_index();
	if (g_slots && t >= 0 && t < g_nslots) {
		atomic_store(&g_slots[t].deadline_ns, 0);
		atomic_store(&g_slots[t].vm_interrupt, (zend_atomic_bool *)NULL);
	}
	free(t_cancelled);
	t_cancelled = NULL;
	t_ncancelled = t_cancelled_cap = 0;
	t_interrupt = NULL;
	t_contain = NULL;
}
