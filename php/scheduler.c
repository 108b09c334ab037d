/*
 * The per-thread scheduler: one coroutine per request, run on pooled PHP Fibers.
 *
 * A pooled fiber runs coroutine_body(): serve a request, mark itself idle, Fiber::suspend()
 * back to the scheduler, and loop when resumed with the next request. Creating a Fiber costs
 * an mmap'd stack (7-20 us in a threaded process); resuming a pooled one costs well under 1 us.
 *
 * A job is either "serve a request" (kind REQUEST) or "run a callable given to Async\spawn()"
 * (kind TASK, see async.c); both run on the same pooled fibers and both count as in flight
 * for the per-thread bound, so a request's children limit how many requests the thread takes.
 *
 * Each tick: hand released buffers back to PHP, drain the ring while below the coroutine
 * bound (the heartbeat fast path: no syscall while work keeps coming), resume the coroutines
 * woken since the last tick, then let the reactor fire timers and poll fds (parking only when
 * nothing is runnable; the earliest timer is the park timeout).
 */
#include "async_backend.h"

#include <zend_closures.h>
#include <zend_exceptions.h>
#include <zend_fibers.h>
#include <main/php_output.h>

#include "server/request_state.h"

static zend_function *fiber_start_fn, *fiber_resume_fn, *fiber_suspend_fn;
static zend_internal_function coroutine_body_fn;

static void coroutine_body(INTERNAL_FUNCTION_PARAMETERS);

/* Coroutines of this thread: all of them (to fail them after a fatal error) and the idle pool. */
typedef struct {
	phpa_coroutine **items;
	uint32_t len, cap;
} co_list;
static __thread co_list all_coroutines;

/* Idle fibers kept for reuse. Each holds a C stack mapping (plus its guard page) and a VM
 * stack page, so a burst (a request that spawns thousands of coroutines) must not leave them
 * all behind: past this many, a finished coroutine's fiber is destroyed. 128 covers the
 * concurrency one thread sustains in the benchmarks (c <= 100) without churn. */
#define PHPA_IDLE_MAX 128

uint32_t phpa_sched_all(phpa_coroutine ***out)
{
	*out = all_coroutines.items;
	return all_coroutines.len;
}

static void lookup_fiber_methods(void)
{
	if (fiber_start_fn) return;
	fiber_start_fn = zend_hash_str_find_ptr(&zend_ce_fiber->function_table, "start", sizeof("start") - 1);
	fiber_resume_fn = zend_hash_str_find_ptr(&zend_ce_fiber->function_table, "resume", sizeof("resume") - 1);
	fiber_suspend_fn = zend_hash_str_find_ptr(&zend_ce_fiber->function_table, "suspend", sizeof("suspend") - 1);
	memset(&coroutine_body_fn, 0, sizeof coroutine_body_fn);
	coroutine_body_fn.type = ZEND_INTERNAL_FUNCTION;
	coroutine_body_fn.function_name = zend_string_init_interned("{phpasync coroutine}", sizeof("{phpasync coroutine}") - 1, 1);
	coroutine_body_fn.handler = coroutine_body;
	coroutine_body_fn.fn_flags = ZEND_ACC_PUBLIC;
}

void phpa_scheduler_init(phpa_thread_state *ts)
{
	lookup_fiber_methods();
	ts->current = NULL;
	ts->idle = NULL;
	ts->inflight = 0;
	ts->pooled = 0;
	ts->nidle = 0;
	ts->stopping = false;
	ts->ready_head = ts->ready_tail = NULL;
	ts->tasks = 0;
	ts->tasks_cancelled = false;
	all_coroutines.len = 0;
	phpa_async_thread_reset(false);
	phpa_hooks_thread_init();
}

static phpa_coroutine *coroutine_new(phpa_thread_state *ts)
{
	phpa_coroutine *co = calloc(1, sizeof *co);
	if (!co) zend_error_noreturn(E_ERROR, "phpasync: out of memory for a coroutine");
	phpa_timer_init(&co->deadline_timer, NULL, co); /* armed per request by limits.c */
	zval closure;
	zend_create_fake_closure(&closure, (zend_function *)&coroutine_body_fn, NULL, NULL, NULL);
	object_init_ex(&co->fiber, zend_ce_fiber);
	zend_call_known_instance_method_with_1_params(zend_ce_fiber->constructor, Z_OBJ(co->fiber), NULL, &closure);
	zval_ptr_dtor(&closure);
	if (all_coroutines.len == all_coroutines.cap) {
		all_coroutines.cap = all_coroutines.cap ? all_coroutines.cap * 2 : 16;
		all_coroutines.items = realloc(all_coroutines.items, all_coroutines.cap * sizeof(phpa_coroutine *));
	}
	co->all_index = all_coroutines.len;
	all_coroutines.items[all_coroutines.len++] = co;
	ts->pooled++;
	return co;
}

/* Takes a coroutine from the idle pool, or makes one. */
static phpa_coroutine *coroutine_take(phpa_thread_state *ts)
{
	phpa_coroutine *co = ts->idle;
	if (!co) return coroutine_new(ts);
	ts->idle = co->next_idle;
	ts->nidle--;
	return co;
}

/* A coroutine whose body went idle: back to the pool, or, past PHPA_IDLE_MAX, destroyed.
 * Destroying a fiber suspended at the top of its loop resumes it with a graceful exit; the
 * body returns and PHP frees its stacks. */
static void coroutine_retire(phpa_thread_state *ts, phpa_coroutine *co)
{
	if (ts->nidle < PHPA_IDLE_MAX) {
		co->next_idle = ts->idle;
		ts->idle = co;
		ts->nidle++;
		return;
	}
	co->state = PHPA_CO_DEAD;
	zval_ptr_dtor(&co->fiber);
	phpa_coroutine *last = all_coroutines.items[--all_coroutines.len];
	all_coroutines.items[co->all_index] = last;
	last->all_index = co->all_index;
	ts->pooled--;
	free(co);
}

static void log_uncaught(phpa_coroutine *co, zend_object *ex)
{
	zval rv, *msg, *file, *line;
	zend_class_entry *base = zend_get_exception_base(ex);
	msg = zend_read_property_ex(base, ex, ZSTR_KNOWN(ZEND_STR_MESSAGE), 1, &rv);
	zend_string *m = zval_get_string(msg);
	file = zend_read_property_ex(base, ex, ZSTR_KNOWN(ZEND_STR_FILE), 1, &rv);
	zend_string *f = zval_get_string(file);
	line = zend_read_property_ex(base, ex, ZSTR_KNOWN(ZEND_STR_LINE), 1, &rv);
	phpa_log(PHPA_LOG_ERROR, co->job_id, "Uncaught %s: %s in %s:" ZEND_LONG_FMT, ZSTR_VAL(ex->ce->name), ZSTR_VAL(m),
		ZSTR_VAL(f), zval_get_long(line));
	zend_string_release(m);
	zend_string_release(f);
}

/* Runs inside the coroutine's fiber: the handler for one request, then the bookkeeping that
 * makes sure the request is answered whatever the handler did. */
static void serve(phpa_thread_state *ts, phpa_coroutine *co)
{
	zval args[2], retval;
	ZVAL_OBJ(&args[0], co->request);
	ZVAL_OBJ(&args[1], co->response);
	zend_fcall_info fci = {0};
	fci.size = sizeof fci;
	ZVAL_COPY_VALUE(&fci.function_name, &ts->handler);
	fci.retval = &retval;
	fci.params = args;
	fci.param_count = 2;
	const int ob_level = php_output_get_level();
	phpa_request_state_begin(co); /* inside the fiber: what PHP keeps per fiber */

	/* Interrupts (abort, timeout) and contained fatal errors unwind the handler only: see
	 * limits.c. A bailout passes through (the fiber dies and the interpreter restarts). */
	co->guarded = true;
	zend_call_function(&fci, &ts->handler_fcc);
	co->guarded = false;
	zval_ptr_dtor(&retval);

	bool abnormal = false;
	if (phpa_limits_after_handler(ts, co)) {
		/* limits.c: after a fatal error that was not contained this bails out to
		 * phpa_scheduler_run()'s zend_catch (PHP may hand a fatal back as an UnwindExit, like
		 * exit()); a handler interrupted by the request timeout or a client abort was answered
		 * there (504/discarded). */
		abnormal = true; /* its spawned children are cancelled with it */
	} else if (EG(exception)) {
		zend_object *ex = EG(exception);
		if (zend_is_unwind_exit(ex)) {
			/* exit()/die(): the request ends with what it set and wrote; the thread goes on. */
			zend_clear_exception();
			EG(exit_status) = 0;
		} else if (!zend_is_graceful_exit(ex)) {
			GC_ADDREF(ex);
			zend_clear_exception();
			log_uncaught(co, ex);
			OBJ_RELEASE(ex);
			phpa_response_fail(co->response, 500);
			abnormal = true;
		} else {
			abnormal = true; /* the fiber is being destroyed */
		}
	}
	/* Structured concurrency: coroutines it spawned are cancelled when the request failed. */
	phpa_async_request_done(co, abnormal);
	/* An ob_start() left open would swallow the next requests' output. Its callback may throw:
	 * that is this request's uncaught exception, not the thread's. */
	while (php_output_get_level() > ob_level) {
		php_output_end();
		if (EG(exception)) {
			zend_object *ex = EG(exception);
			GC_ADDREF(ex);
			zend_clear_exception();
			if (!zend_is_unwind_exit(ex) && !zend_is_graceful_exit(ex)) log_uncaught(co, ex);
			OBJ_RELEASE(ex);
			phpa_response_fail(co->response, 500); /* no-op when it was answered */
		}
	}
	if (!phpa_response_is_ended(co->response)) {
		phpa_log(PHPA_LOG_DEBUG, co->job_id, "handler returned without end(): response ended for it");
		phpa_response_finish(co->response);
	}
}

static void coroutine_body(INTERNAL_FUNCTION_PARAMETERS)
{
	(void)execute_data;
	phpa_thread_state *ts = phpa_ts;
	phpa_coroutine *co = ts->current; /* set by the scheduler before every resume */
	phpa_stack_guard_fresh_stack();
	for (;;) {
		if (co->kind == PHPA_CO_KIND_TASK) {
			phpa_async_run_task(co);
		} else {
			serve(ts, co);
		}
		co->state = PHPA_CO_IDLE;
		if (EG(exception)) break; /* the fiber is being destroyed while the handler waited */
		zval rv;
		ZVAL_UNDEF(&rv);
		zend_call_known_function(fiber_suspend_fn, NULL, zend_ce_fiber, &rv, 0, NULL, NULL);
		zval_ptr_dtor(&rv);
		/* The fiber is being destroyed (graceful exit thrown in) or the pool is closing. */
		if (EG(exception) || co->state != PHPA_CO_RUNNING) break;
		co = ts->current; /* unchanged: the scheduler resumes a fiber only for its own slot */
	}
	RETVAL_NULL();
}

static void resume(phpa_thread_state *ts, phpa_coroutine *co);

phpa_coroutine *phpa_sched_current(void) { return phpa_ts ? phpa_ts->current : NULL; }

phpa_coroutine *phpa_sched_running(void)
{
	phpa_thread_state *ts = phpa_ts;
	phpa_coroutine *co = ts ? ts->current : NULL;
	if (!co || co->state != PHPA_CO_RUNNING) return NULL;
	/* Inside a user Fiber started by the handler, Fiber::suspend() would suspend that fiber,
	 * not ours: such code must not suspend the coroutine. */
	if (!EG(active_fiber) || &EG(active_fiber)->std != Z_OBJ(co->fiber)) return NULL;
	return co;
}

static void throw_pending_cancel(phpa_coroutine *co)
{
	zend_object *reason = co->cancel_pending;
	co->cancel_pending = NULL;
	/* The coroutine's reference moves to the exception slot. */
	zend_throw_exception_internal(reason);
}

static bool suspend_impl(bool requeue)
{
	phpa_thread_state *ts = phpa_ts;
	phpa_coroutine *co = phpa_sched_running();
	if (!co) {
		if (ts && ts->current && ts->current->state == PHPA_CO_RUNNING) {
			zend_throw_error(NULL, "phpasync: cannot suspend the coroutine from inside a Fiber it started");
		} else {
			zend_throw_error(NULL, "phpasync: cannot suspend outside a coroutine");
		}
		return false;
	}
	if (co->cancel_pending) {
		throw_pending_cancel(co);
		return false;
	}
	co->state = PHPA_CO_WAITING;
	if (requeue) phpa_sched_wake(co);
	zval rv;
	ZVAL_UNDEF(&rv);
	zend_call_known_function(fiber_suspend_fn, NULL, zend_ce_fiber, &rv, 0, NULL, NULL);
	zval_ptr_dtor(&rv);
	if (co->state == PHPA_CO_WAITING) co->state = PHPA_CO_RUNNING;
	if (EG(exception)) return false;
	/* issue 6: the request timed out or its client left while it waited (uncatchable). */
	if (phpa_limits_unwind(co)) return false;
	if (co->cancel_pending) {
		throw_pending_cancel(co);
		return false;
	}
	return true;
}

bool phpa_sched_suspend(void) { return suspend_impl(false); }

bool phpa_sched_yield(void) { return suspend_impl(true); }

void phpa_sched_cancel(phpa_coroutine *co, zend_object *reason)
{
	if (!co || co->cancel_pending || co->state == PHPA_CO_IDLE || co->state == PHPA_CO_DEAD) return;
	GC_ADDREF(reason);
	co->cancel_pending = reason;
	phpa_sched_wake(co); /* a waiting coroutine sees it now; a running one at its next suspension */
}

phpa_coroutine *phpa_sched_spawn(zend_object *task)
{
	phpa_thread_state *ts = phpa_ts;
	phpa_coroutine *parent = ts->current;
	phpa_coroutine *co = coroutine_take(ts);
	co->kind = PHPA_CO_KIND_TASK;
	GC_ADDREF(task);
	co->task = task;
	co->cancel_pending = NULL;
	co->owner_job = parent ? (parent->kind == PHPA_CO_KIND_REQUEST ? parent->job_id : parent->owner_job) : 0;
	co->job_id = co->owner_job; /* log lines of a child carry its request's id */
	co->request = co->response = NULL;
	/* Runs at the next tick, after the spawner yields (TrueAsync's order). */
	co->state = PHPA_CO_WAITING;
	ts->inflight++;
	ts->tasks++;
	phpa_sched_wake(co);
	return co;
}

void phpa_sched_wake(phpa_coroutine *co)
{
	phpa_thread_state *ts = phpa_ts;
	if (!co || co->state != PHPA_CO_WAITING || co->queued) return;
	co->queued = true;
	co->next_ready = NULL;
	if (ts->ready_tail) ts->ready_tail->next_ready = co;
	else ts->ready_head = co;
	ts->ready_tail = co;
}

/* Resume every coroutine woken since the last tick (ones woken meanwhile wait for the next). */
static void run_ready(phpa_thread_state *ts)
{
	phpa_coroutine *co = ts->ready_head;
	ts->ready_head = ts->ready_tail = NULL;
	while (co) {
		phpa_coroutine *next = co->next_ready;
		co->queued = false;
		co->next_ready = NULL;
		if (co->state == PHPA_CO_WAITING) resume(ts, co);
		co = next;
	}
}

static void release_objects(phpa_coroutine *co)
{
	if (co->cancel_pending) OBJ_RELEASE(co->cancel_pending);
	co->cancel_pending = NULL;
	phpa_async_release_task(co);
	phpa_request_state_destroy(co);
	if (co->request) OBJ_RELEASE(co->request);
	if (co->response) OBJ_RELEASE(co->response);
	co->request = co->response = NULL;
	co->job_id = 0;
}

/* Switch into the coroutine until it suspends or finishes its request. */
static void resume(phpa_thread_state *ts, phpa_coroutine *co)
{
	if (co->state == PHPA_CO_WAITING) co->state = PHPA_CO_RUNNING;
	phpa_coroutine *prev = ts->current;
	ts->current = co;
	phpa_limits_enter(ts, co); /* issue 6: publish its deadline to the timeout watchdog */
	phpa_request_state_enter(co);
	zval rv;
	ZVAL_UNDEF(&rv);
	zend_call_known_instance_method_with_0_params(co->started ? fiber_resume_fn : fiber_start_fn, Z_OBJ(co->fiber), &rv);
	co->started = true;
	zval_ptr_dtor(&rv);
	phpa_request_state_leave(co);
	phpa_limits_leave(ts);
	ts->current = prev;
	if (EG(exception)) {
		/* Only a bug in the body lets an exception out of the fiber: it is dead now. */
		phpa_log(PHPA_LOG_ERROR, co->job_id, "coroutine ended with an exception: %s", ZSTR_VAL(EG(exception)->ce->name));
		zend_clear_exception();
		co->state = PHPA_CO_DEAD;
	}
	if (co->state == PHPA_CO_IDLE || co->state == PHPA_CO_DEAD) {
		if (co->response) phpa_response_fail(co->response, 500); /* no-op when it was answered */
		phpa_limits_request_done(co);
		if (co->kind == PHPA_CO_KIND_TASK) ts->tasks--;
		release_objects(co);
		co->kind = PHPA_CO_KIND_REQUEST;
		co->owner_job = 0;
		ts->inflight--;
		if (co->state == PHPA_CO_IDLE) coroutine_retire(ts, co);
	}
}

static void start_request(phpa_thread_state *ts, phpa_job *job)
{
	if (phpa_limits_skip_job(ts, job)) { /* issue 6: the client left before it started */
		free(job);
		return;
	}
	zend_object *request = phpa_request_new(job);
	if (!request) {
		/* JS builds every envelope; a malformed one is a bug, answered rather than dropped. */
		phpa_log(PHPA_LOG_ERROR, job->id, "malformed request envelope (%u bytes): answered 400", job->len);
		zend_object *response = phpa_response_new(job->id, ts->index);
		phpa_response_fail(response, 400);
		OBJ_RELEASE(response);
		free(job);
		return;
	}
	phpa_coroutine *co = coroutine_take(ts);
	co->kind = PHPA_CO_KIND_REQUEST;
	co->owner_job = 0;
	co->task = NULL;
	co->cancel_pending = NULL;
	co->job_id = job->id;
	co->request = request;
	co->response = phpa_response_new(job->id, ts->index);
	co->state = PHPA_CO_RUNNING;
	ts->inflight++;
	phpa_limits_request_started(ts, co); /* issue 6: deadline, max_requests count */
	phpa_request_state_init(co);
	resume(ts, co);
}

void phpa_scheduler_drain_released(phpa_thread_state *ts)
{
	phpa_frame *frames[64];
	size_t n;
	while ((n = phpa_host_take_released(ts->index, frames, 64)) > 0) {
		for (size_t i = 0; i < n; i++) phpa_php_frame_released(frames[i]);
	}
}

/* After a fatal error: every request this thread was serving gets a 500. Requests still in
 * the ring were never taken and are served after the restart. */
static void fail_inflight(phpa_thread_state *ts)
{
	for (uint32_t i = 0; i < all_coroutines.len; i++) {
		phpa_coroutine *co = all_coroutines.items[i];
		if ((co->state == PHPA_CO_RUNNING || co->state == PHPA_CO_WAITING) && co->response) {
			/* The one that raised it is logged by PHP's own "Fatal error" line (same reqId). */
			if (co != ts->current) phpa_log(PHPA_LOG_ERROR, co->job_id, "request failed: PHP hit a fatal error on this thread");
			phpa_response_fail(co->response, 500);
		}
	}
	ts->inflight = 0;
	ts->tasks = 0;
	ts->current = NULL;
	ts->ready_head = ts->ready_tail = NULL;
}

bool phpa_scheduler_run(phpa_thread_state *ts)
{
	volatile bool clean = true;
	const uint32_t max = ts->config->max_coroutines;
	zend_try {
		for (;;) {
			phpa_scheduler_drain_released(ts);
			phpa_limits_tick(ts); /* issue 6: aborts of suspended handlers, before new jobs */
			/* issue 6: ts->recycling (max_requests reached) takes no new job either. */
			while (!ts->stopping && !ts->recycling && ts->inflight < max) {
				phpa_job *job = phpa_host_ring_pop(ts->index);
				if (!job) break;
				if (job->kind == PHPA_JOB_STOP) {
					ts->stopping = true;
					free(job);
					break;
				}
				start_request(ts, job);
			}
			run_ready(ts);
			if ((ts->stopping || ts->recycling) && ts->inflight == 0) break;
			/* Stopping (or recycling) and only spawned coroutines are left: they are cancelled (once). */
			if ((ts->stopping || ts->recycling) && ts->inflight == ts->tasks && !ts->tasks_cancelled) {
				ts->tasks_cancelled = true;
				phpa_async_cancel_all();
			}
			/* Timers and fds; parks only when no woken coroutine waits for the next tick. */
			phpa_reactor_tick(ts, ts->ready_head == NULL, !ts->stopping && !ts->recycling && ts->inflight < max);
		}
	} zend_catch {
		clean = false;
		phpa_request_state_bailout();
		phpa_limits_after_bailout(ts); /* issue 6: memory to answer with after an OOM fatal */
		fail_inflight(ts);
	} zend_end_try();
	return clean;
}

/* After a fatal error PHP frees every object without its destructor, so a fiber suspended in
 * the middle of a handler (ours, a spawned coroutine's, or a user Fiber) never returns and its C
 * stack would stay mapped for the life of the process. Its frames are abandoned: nothing in
 * them runs again, and the heap they point into is reset by the request shutdown that follows. */
static void free_suspended_fiber_stacks(void)
{
	zend_objects_store *store = &EG(objects_store);
	for (uint32_t i = 1; i < store->top; i++) {
		zend_object *obj = store->object_buckets[i];
		if (!IS_OBJ_VALID(obj) || obj->ce != zend_ce_fiber) continue;
		zend_fiber *fiber = (zend_fiber *)obj;
		if (fiber->context.status != ZEND_FIBER_STATUS_SUSPENDED) continue;
		zend_fiber_destroy_context(&fiber->context);
		fiber->context.status = ZEND_FIBER_STATUS_DEAD;
	}
}

void phpa_scheduler_destroy(phpa_thread_state *ts, bool after_fatal)
{
	if (after_fatal) free_suspended_fiber_stacks();
	for (uint32_t i = 0; i < all_coroutines.len; i++) {
		phpa_coroutine *co = all_coroutines.items[i];
		if (!after_fatal) {
			/* Destroying a suspended fiber resumes it with a graceful exit; the body returns. */
			co->state = PHPA_CO_DEAD;
			release_objects(co);
			zval_ptr_dtor(&co->fiber);
		}
		/* After a fatal error PHP's request shutdown frees the objects; only ours go. */
		free(co);
	}
	all_coroutines.len = 0;
	/* Thread-local: lost when the thread ends unless freed here (LeakSanitizer found it). */
	free(all_coroutines.items);
	all_coroutines.items = NULL;
	all_coroutines.cap = 0;
	ts->idle = NULL;
	ts->nidle = 0;
	ts->pooled = 0;
	ts->ready_head = ts->ready_tail = NULL;
	phpa_reactor_reset(ts);
	phpa_async_thread_reset(after_fatal);
}
