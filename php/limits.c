/*
 * Faults and limits of the PHP threads (issue 6).
 *
 * - Fatal errors. PHP 8.2, measured: a fatal error raised inside a Fiber does not always come
 *   back to the scheduler as a bailout. `trigger_error(E_USER_ERROR)` does (the Fiber's
 *   zend_first_try catches it and Fiber::start()/resume() re-raises it in the caller), but an
 *   exhausted memory_limit returns from the handler with an UnwindExit pending, exactly like
 *   exit(), and every object has been marked destructed (Fiber::suspend() then fails with
 *   "Couldn't execute method Fiber::suspend"). So we wrap zend_error_cb and remember that a
 *   fatal error happened; serve() turns that into a bailout whatever PHP did, and the thread
 *   restarts its interpreter.
 * - Request timeout. max_execution_time cannot be used (its SIGPROF timer belongs to Node).
 *   A watchdog thread reads each PHP thread's published deadline (an atomic) and, once it has
 *   passed, sets that thread's EG(vm_interrupt). The VM calls zend_interrupt_function at the
 *   next loop back-edge or call; ours throws an UnwindExit into the coroutine that is over
 *   its deadline: user code cannot catch it (catch (Throwable) does not see it, finally blocks
 *   are skipped), the coroutine unwinds and serve() answers 504.
 *   Measured limit: with opcache.jit=tracing, PHP 8.2's JIT emits no interrupt check in a
 *   loop with an empty body (`while (true) {}`), so that one loop cannot be interrupted (with
 *   the JIT off it can). Any loop that does something, or calls anything, is interrupted.
 *   A handler suspended in a wait (sleep(), Async\delay(), await, a socket read, flush()
 *   back-pressure) is not running, so no VM check can see it: each request arms a reactor
 *   timer at its deadline; when it fires the coroutine is woken with interrupt_pending set and
 *   its suspension point throws the same UnwindExit (phpa_limits_unwind).
 *   Not supported yet: a handler blocked inside one internal call that does not go through the
 *   reactor (a DNS lookup, a TLS read, a file read) is interrupted only when that call returns.
 * - Client abort. JS queues the request id (phpa_host_take_cancelled), interrupts the thread
 *   and wakes it: a running handler unwinds the same way and its response is discarded; a
 *   suspended one is matched at the next scheduler tick (phpa_limits_tick) and unwinds when
 *   resumed; a request still in the ring is dropped when popped.
 * - max_requests. After N started requests the thread stops taking jobs, finishes what it
 *   runs, and restarts its interpreter (thread.c).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "async_backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <zend_exceptions.h>
#include <main/php_output.h>

typedef struct {
	/* That thread's EG(vm_interrupt) (NULL while it runs no interpreter). Atomic pointer: the
	 * watchdog and the JS thread read it while the PHP thread sets it. */
	_Atomic(zend_atomic_bool *) vm_interrupt;
	_Atomic uint64_t deadline_ns;   /* deadline of the coroutine it runs now; 0 = none */
} limit_slot;

static limit_slot *g_slots;
static int g_nslots;
static uint32_t g_timeout_ms;
static pthread_t g_watchdog;
static bool g_watchdog_running;
static atomic_bool g_watchdog_stop;

static void (*orig_error_cb)(int, zend_string *, const uint32_t, zend_string *);
static void (*orig_interrupt)(zend_execute_data *);

/* ---- fatal errors ------------------------------------------------------------------------ */

#define PHPA_BAILING_ERRORS (E_ERROR | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR)

/* A fatal error raised by a request's handler at a point where nothing shared is half
 * changed, so that unwinding the handler (as exit() does) is enough: E_USER_ERROR (raised by
 * user code between statements) and, on a PHP with delayed out-of-memory errors (Debian's
 * 8.2.36 has them: ZEND_HAS_OOM), memory exhaustion, which its allocator then reports at a VM
 * safe point (zend_handle_delayed_oom) after letting the failing allocation through. A PHP that
 * raises it inside the allocator bails out of the middle of C code: that restarts. Only inside
 * a request's handler (co->guarded), not while PHP compiles (compiler globals) or runs an
 * output handler (output globals). Anything else restarts the interpreter at once. */
static bool containable(phpa_thread_state *ts, int type, zend_string *message)
{
	phpa_coroutine *co = ts->current;
	if (!co || co->kind != PHPA_CO_KIND_REQUEST || co->state != PHPA_CO_RUNNING || !co->guarded) return false;
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
	phpa_thread_state *ts = phpa_ts;
	if (ts && (type & PHPA_BAILING_ERRORS) && !(type & E_DONT_BAIL)) {
		if (containable(ts, type, message)) {
			/* Logged as PHP logs it, but without PHP's bailout, which would first mark every
			 * object of every request destructed: the handler unwinds like exit() instead. */
			ts->current->contained_fatal = true;
			orig_error_cb(type | E_DONT_BAIL, file, line, message);
			EG(exit_status) = 0;
			if (!EG(exception)) zend_throw_unwind_exit();
			return;
		}
		ts->fatal = true;
	}
	orig_error_cb(type, file, line, message);
}

void phpa_limits_after_bailout(phpa_thread_state *ts)
{
	(void)ts;
	/* After "Allowed memory size exhausted" the heap is still full; answering the requests
	 * allocates. The limit comes back from php.ini at the request shutdown that follows. */
	zend_set_memory_limit((size_t)ZEND_LONG_MAX);
}

/* ---- cancellation (client abort) --------------------------------------------------------- */

static void take_cancels(phpa_thread_state *ts)
{
	uint64_t ids[64];
	size_t n;
	while ((n = phpa_host_take_cancelled(ts->index, ids, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (ts->ncancelled == ts->cancelled_cap) {
				uint32_t cap = ts->cancelled_cap ? ts->cancelled_cap * 2 : 16;
				uint64_t *p = realloc(ts->cancelled_ids, cap * sizeof *p);
				if (!p) return; /* keep what we have; an unmatched cancel only costs work */
				ts->cancelled_ids = p;
				ts->cancelled_cap = cap;
			}
			/* Insert sorted (ids grow, so this is nearly always an append). */
			uint32_t j = ts->ncancelled;
			while (j > 0 && ts->cancelled_ids[j - 1] > ids[i]) {
				ts->cancelled_ids[j] = ts->cancelled_ids[j - 1];
				j--;
			}
			ts->cancelled_ids[j] = ids[i];
			ts->ncancelled++;
		}
	}
}

static bool take_cancelled_id(phpa_thread_state *ts, uint64_t id)
{
	for (uint32_t i = 0; i < ts->ncancelled; i++) {
		if (ts->cancelled_ids[i] == id) {
			memmove(&ts->cancelled_ids[i], &ts->cancelled_ids[i + 1], (ts->ncancelled - i - 1) * sizeof(uint64_t));
			ts->ncancelled--;
			return true;
		}
	}
	return false;
}

bool phpa_limits_skip_job(phpa_thread_state *ts, phpa_job *job)
{
	ts->last_started_id = job->id;
	take_cancels(ts);
	/* Only the exact id: smaller ones may belong to suspended handlers, which phpa_limits_tick()
	 * matches (and prunes once their request is over). */
	return ts->ncancelled && take_cancelled_id(ts, job->id);
}

void phpa_php_interrupt(int thread)
{
	if (!g_slots || thread < 0 || thread >= g_nslots) return;
	zend_atomic_bool *vi = atomic_load(&g_slots[thread].vm_interrupt);
	if (vi) zend_atomic_bool_store(vi, true);
}

/* ---- the interrupt: timeouts and aborts of the running coroutine -------------------------- */

static void phpa_interrupt_function(zend_execute_data *execute_data)
{
	if (orig_interrupt) orig_interrupt(execute_data);
	phpa_thread_state *ts = phpa_ts;
	phpa_coroutine *co = ts ? ts->current : NULL;
	if (!co || co->kind != PHPA_CO_KIND_REQUEST || !co->job_id || co->timed_out || co->cancelled) return;
	if (!co->guarded || !EG(active_fiber)) {
		/* Not inside the handler: on the scheduler's stack around Fiber::start()/resume(), or in
		 * the coroutine's own loop before or after serve(). An UnwindExit thrown there would
		 * unwind the scheduler or end the pooled fiber, not the handler. Ask again once the
		 * handler runs; if it suspended meanwhile, phpa_limits_tick() or its deadline timer
		 * takes over. */
		zend_atomic_bool_store_ex(&EG(vm_interrupt), true);
		return;
	}
	if (EG(exception)) {
		/* Not at a clean point: ask again at the next check. */
		zend_atomic_bool_store_ex(&EG(vm_interrupt), true);
		return;
	}
	take_cancels(ts);
	if (ts->ncancelled && take_cancelled_id(ts, co->job_id)) {
		co->cancelled = true;
		phpa_log(PHPA_LOG_DEBUG, co->job_id, "client went away: handler interrupted, response discarded");
		zend_throw_unwind_exit();
		return;
	}
	if (co->deadline_ns && phpa_now_ns() >= co->deadline_ns) {
		co->timed_out = true;
		phpa_log(PHPA_LOG_ERROR, co->job_id, "request timeout: the handler ran for more than %u ms; interrupted, answered 504",
			co->time_limit_ms ? co->time_limit_ms : g_timeout_ms);
		zend_throw_unwind_exit();
	}
}

/* ---- suspended handlers: deadline timers and aborts matched at the tick ------------------- */

static void interrupt_waiting(phpa_coroutine *co)
{
	co->interrupt_pending = true;
	phpa_sched_wake(co);
}

static void deadline_timer_cb(phpa_timer *t)
{
	phpa_coroutine *co = t->data;
	/* Running handlers are the watchdog's (vm_interrupt); from the reactor none runs. */
	if (co->kind != PHPA_CO_KIND_REQUEST || !co->job_id || co->state != PHPA_CO_WAITING) return;
	if (co->timed_out || co->cancelled) return;
	co->timed_out = true;
	phpa_log(PHPA_LOG_ERROR, co->job_id, "request timeout: the handler waited for more than %u ms; interrupted, answered 504",
		co->time_limit_ms ? co->time_limit_ms : g_timeout_ms);
	interrupt_waiting(co);
}

void phpa_limits_tick(phpa_thread_state *ts)
{
	take_cancels(ts);
	if (ts->ncancelled == 0) return;
	phpa_coroutine **all;
	uint32_t n = phpa_sched_all(&all);
	uint32_t keep = 0;
	for (uint32_t i = 0; i < ts->ncancelled; i++) {
		uint64_t id = ts->cancelled_ids[i];
		if (id > ts->last_started_id) {
			ts->cancelled_ids[keep++] = id; /* still in the ring: dropped when popped */
			continue;
		}
		/* Started: it is suspended (nothing runs during a tick) or already over. */
		for (uint32_t j = 0; j < n; j++) {
			phpa_coroutine *co = all[j];
			if (co->kind == PHPA_CO_KIND_REQUEST && co->job_id == id && co->state == PHPA_CO_WAITING && !co->timed_out &&
				!co->cancelled) {
				co->cancelled = true;
				phpa_log(PHPA_LOG_DEBUG, id, "client went away: suspended handler interrupted, response discarded");
				interrupt_waiting(co);
				break;
			}
		}
	}
	ts->ncancelled = keep;
}

bool phpa_limits_unwind(phpa_coroutine *co)
{
	if (!co->interrupt_pending) return false;
	co->interrupt_pending = false;
	zend_throw_unwind_exit();
	return true;
}

void phpa_limits_request_done(phpa_coroutine *co)
{
	phpa_timer_stop(&co->deadline_timer);
	co->interrupt_pending = false;
}

bool phpa_limits_after_handler(phpa_thread_state *ts, phpa_coroutine *co)
{
	if (ts->fatal) {
		/* Whatever PHP left pending (an UnwindExit for memory exhaustion), the interpreter is
		 * unusable now: go to the scheduler's zend_catch, which answers 500 and restarts. */
		if (EG(exception)) zend_clear_exception();
		zend_bailout();
	}
	if (co->contained_fatal) {
		/* The handler unwound from a fatal error of its own (see containable()). */
		co->contained_fatal = false;
		if (EG(exception)) zend_clear_exception();
		EG(exit_status) = 0;
#ifdef ZEND_HAS_OOM
		/* A delayed out-of-memory error leaves its state HANDLED, and while it is set PHP refuses
		 * every call from C (zend_call_function fails) until the next request startup. Its
		 * message was freed when it was handled; the handler's frames are unwound and freed, but
		 * not the allocation that went over the limit (LeakSanitizer saw it: PHP drops the result
		 * of the call it was made in). So the thread finishes the requests in flight, takes no
		 * new one and restarts its interpreter, as a fatal error would, without failing them;
		 * the shutdown is the unclean one of a fatal error, which frees everything. */
		if (EG(delayed_oom).state == ZEND_OOM_STATE_HANDLED) {
			EG(delayed_oom).state = ZEND_OOM_STATE_NONE;
			ts->recycling = true;
			ts->recycle_after_oom = true;
			CG(unclean_shutdown) = 1;
			phpa_log(PHPA_LOG_ERROR, co->job_id,
				"request failed with a fatal error: answered 500; the thread restarts its interpreter once the "
				"other requests in flight are done");
			phpa_response_fail(co->response, 500);
			return true;
		}
#endif
		phpa_log(PHPA_LOG_ERROR, co->job_id, "request failed with a fatal error: answered 500; the thread goes on");
		phpa_response_fail(co->response, 500);
		return true;
	}
	if (!co->timed_out && !co->cancelled) return false;
	if (EG(exception)) zend_clear_exception();
	EG(exit_status) = 0;
	/* A cancelled request's client is gone: a small error frame that JS drops (the body the
	 * handler wrote is released here rather than sent). */
	phpa_response_fail(co->response, co->timed_out ? 504 : 499);
	return true;
}

/* ---- per request / per switch ------------------------------------------------------------ */

void phpa_limits_request_started(phpa_thread_state *ts, phpa_coroutine *co)
{
	co->timed_out = false;
	co->cancelled = false;
	co->interrupt_pending = false;
	co->contained_fatal = false;
	co->deadline_ns = g_timeout_ms ? phpa_now_ns() + (uint64_t)g_timeout_ms * 1000000u : 0;
	phpa_timer_stop(&co->deadline_timer); /* disarmed at the last request's end; cheap if so */
	phpa_timer_init(&co->deadline_timer, deadline_timer_cb, co);
	if (co->deadline_ns) phpa_timer_start(&co->deadline_timer, co->deadline_ns);
	ts->started_requests++;
	if (ts->config->max_requests && ts->started_requests >= ts->config->max_requests) ts->recycling = true;
}

void phpa_limits_enter(phpa_thread_state *ts, phpa_coroutine *co)
{
	if (g_slots && co->deadline_ns) atomic_store_explicit(&g_slots[ts->index].deadline_ns, co->deadline_ns, memory_order_relaxed);
}

void phpa_limits_leave(phpa_thread_state *ts)
{
	/* relaxed: the watchdog only needs to see the value eventually; a stale deadline makes it
	 * set vm_interrupt once too often, and the interrupt re-checks on the PHP thread. */
	if (g_slots) atomic_store_explicit(&g_slots[ts->index].deadline_ns, 0, memory_order_relaxed);
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
	uint64_t period_ms = g_timeout_ms / 10;
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

void phpa_limits_module_startup(const phpa_config *config)
{
	orig_error_cb = zend_error_cb;
	zend_error_cb = phpa_error_cb;
	orig_interrupt = zend_interrupt_function;
	zend_interrupt_function = phpa_interrupt_function;
	g_nslots = config->threads > 0 ? config->threads : 1;
	g_slots = calloc((size_t)g_nslots, sizeof *g_slots);
	g_timeout_ms = config->request_timeout_ms;
	atomic_store(&g_watchdog_stop, false);
	if (g_timeout_ms && g_slots) {
		/* Started from a PHP thread: it inherits that thread's blocked signal mask. */
		g_watchdog_running = pthread_create(&g_watchdog, NULL, watchdog_main, NULL) == 0;
		if (!g_watchdog_running) phpa_log(PHPA_LOG_ERROR, 0, "cannot start the request-timeout watchdog: timeouts are off");
	}
}

void phpa_limits_module_shutdown(void)
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

void phpa_limits_thread_start(phpa_thread_state *ts)
{
	ts->fatal = false;
	ts->recycling = false;
	ts->recycle_after_oom = false;
	ts->started_requests = 0;
	if (g_slots && ts->index < g_nslots) {
		atomic_store(&g_slots[ts->index].deadline_ns, 0);
		atomic_store(&g_slots[ts->index].vm_interrupt, &EG(vm_interrupt));
	}
}

void phpa_limits_thread_stop(phpa_thread_state *ts)
{
	if (g_slots && ts->index < g_nslots) {
		atomic_store(&g_slots[ts->index].deadline_ns, 0);
		atomic_store(&g_slots[ts->index].vm_interrupt, (zend_atomic_bool *)NULL);
	}
	free(ts->cancelled_ids);
	ts->cancelled_ids = NULL;
	ts->ncancelled = ts->cancelled_cap = 0;
}
