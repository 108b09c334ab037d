/*
 * The async worker: a PHP thread that takes requests from its ring and serves each one in a
 * coroutine of its own that calls the handler registered with HttpServer::onRequest().
 *
 * Each tick of its loop: hand released frames back to their streams, match client aborts,
 * drain the ring while below the coroutine bound (the heartbeat fast path: no syscall while
 * work keeps coming), resume the coroutines woken since the last tick, then let the reactor
 * fire timers and poll fds (parking only when nothing is runnable). The loop ends at the stop
 * sentinel or at max_requests (recycling) once every coroutine finished; a fatal error bails
 * out of it, and every request the thread held is answered 500 before the restart.
 *
 * A request's coroutine has enter/leave hooks (request_enter(), request_leave()): they run on
 * every switch into and out of it, and put its per-request PHP state (request_state.c) in
 * place and save it.
 */
#include "server/request_state.h"

#include <zend_exceptions.h>
#include <main/php_output.h>

static __thread zval handler; /* zero-initialised: IS_UNDEF */
static __thread zend_fcall_info_cache handler_fcc;
static __thread bool stopping;          /* the sentinel was seen */
static __thread bool recycling;         /* take no new job, restart when idle */
static __thread bool recycle_after_oom; /* recycling because a contained out-of-memory error leaked */
static __thread bool tasks_cancelled;   /* stopping: the remaining spawned coroutines were cancelled */
static __thread uint32_t requests;      /* request coroutines in flight */
static __thread uint64_t started_requests; /* since the interpreter started */

/* ---- the handler ------------------------------------------------------------------------- */

bool phpa_worker_set_handler(zend_fcall_info *fci, zend_fcall_info_cache *fcc)
{
	/* A classic script's PHP request ends with it: a handler kept here would dangle. */
	if (!phpa_on_php_thread() || phpa_runtime_scripts_mode()) return false;
	zval_ptr_dtor(&handler);
	ZVAL_COPY(&handler, &fci->function_name);
	handler_fcc = *fcc;
	return true;
}

bool phpa_worker_has_handler(void) { return !Z_ISUNDEF(handler); }

void phpa_worker_drop_handler(void)
{
	zval_ptr_dtor(&handler);
	ZVAL_UNDEF(&handler);
}

void phpa_worker_recycle(bool after_oom)
{
	recycling = true;
	if (after_oom) recycle_after_oom = true;
}

/* ---- a request's coroutine ---------------------------------------------------------------- */

static void log_uncaught(uint64_t id, zend_object *ex)
{
	zval rv, *msg, *file, *line;
	zend_class_entry *base = zend_get_exception_base(ex);
	msg = zend_read_property_ex(base, ex, ZSTR_KNOWN(ZEND_STR_MESSAGE), 1, &rv);
	zend_string *m = zval_get_string(msg);
	file = zend_read_property_ex(base, ex, ZSTR_KNOWN(ZEND_STR_FILE), 1, &rv);
	zend_string *f = zval_get_string(file);
	line = zend_read_property_ex(base, ex, ZSTR_KNOWN(ZEND_STR_LINE), 1, &rv);
	phpa_log(PHPA_LOG_ERROR, id, "Uncaught %s: %s in %s:" ZEND_LONG_FMT, ZSTR_VAL(ex->ce->name), ZSTR_VAL(m),
		ZSTR_VAL(f), zval_get_long(line));
	zend_string_release(m);
	zend_string_release(f);
}

/* Runs inside the coroutine's fiber: the handler for one request, then the bookkeeping that
 * makes sure the request is answered whatever the handler did. */
static void request_body(phpa_coroutine *co)
{
	phpa_worker_req *r = co->data;
	r->co = co;
	zval args[2], retval;
	ZVAL_UNDEF(&retval);
	ZVAL_OBJ(&args[0], r->request);
	ZVAL_OBJ(&args[1], r->response);
	zend_fcall_info fci = {0};
	fci.size = sizeof fci;
	ZVAL_COPY_VALUE(&fci.function_name, &handler);
	fci.retval = &retval;
	fci.params = args;
	fci.param_count = 2;
	const int ob_level = php_output_get_level();
	phpa_request_state_begin(r); /* inside the fiber: what PHP keeps per fiber */

	/* Interrupts (abort, timeout) and contained fatal errors unwind the handler only: see
	 * worker_limits.c. A bailout passes through (the fiber dies and the interpreter restarts). */
	r->guarded = true;
	if (r->call) r->call(r);
	else zend_call_function(&fci, &handler_fcc);
	r->guarded = false;
	zval_ptr_dtor(&retval);

	bool abnormal = false;
	if (phpa_limits_after_handler(r)) {
		/* After a fatal error that was not contained this bailed out to the loop's zend_catch
		 * (PHP may hand a fatal back as an UnwindExit, like exit()); a handler interrupted by
		 * the request timeout or a client abort was answered there (504/discarded). */
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
			log_uncaught(r->id, ex);
			OBJ_RELEASE(ex);
			phpa_response_fail(r->response, 500);
			abnormal = true;
		} else {
			abnormal = true; /* the fiber is being destroyed */
		}
	}
	/* Structured concurrency: coroutines it spawned are cancelled when the request failed. */
	phpa_async_coroutine_done(co, abnormal);
	/* An ob_start() left open would swallow the next requests' output. Its callback may throw:
	 * that is this request's uncaught exception, not the thread's. */
	while (php_output_get_level() > ob_level) {
		php_output_end();
		if (EG(exception)) {
			zend_object *ex = EG(exception);
			GC_ADDREF(ex);
			zend_clear_exception();
			if (!zend_is_unwind_exit(ex) && !zend_is_graceful_exit(ex)) log_uncaught(r->id, ex);
			OBJ_RELEASE(ex);
			phpa_response_fail(r->response, 500); /* no-op when it was answered */
		}
	}
	if (!phpa_response_is_ended(r->response)) {
		phpa_log(PHPA_LOG_DEBUG, r->id, "handler returned without end(): response ended for it");
		phpa_response_finish(r->response);
	}
}

/* Before every switch into the request's coroutine: per-request state goes in place. */
static void request_enter(phpa_coroutine *co)
{
	phpa_worker_req *r = co->data;
	/* Its deadline, for the timeout watchdog. */
	if (r->deadline_ns) phpa_guard_publish_deadline(r->deadline_ns);
	phpa_request_state_enter(r);
}

/* After every switch out of it (it suspended, or its body returned). */
static void request_leave(phpa_coroutine *co)
{
	phpa_request_state_leave(co->data);
	phpa_guard_publish_deadline(0);
	if (co->state == PHPA_CO_WAITING) phpa_limits_request_suspended(co->data);
}

/* Request structs kept for reuse, per thread and bounded: a fresh one per request cost a calloc
 * and a free, ~300 instructions (the calloc took glibc's slow path every time under callgrind).
 * Not under AddressSanitizer, so that a use after request_free() is still caught there. */
#if defined(__SANITIZE_ADDRESS__)
#define REQ_POOL_MAX 0
#else
#define REQ_POOL_MAX 64
#endif
static __thread phpa_worker_req *req_pool[REQ_POOL_MAX + 1];
static __thread uint32_t req_pool_n;

static phpa_worker_req *req_alloc(void)
{
	phpa_worker_req *r = req_pool_n ? req_pool[--req_pool_n] : malloc(sizeof *r);
	if (r) memset(r, 0, sizeof *r);
	return r;
}

static void req_release(phpa_worker_req *r)
{
	if (req_pool_n < REQ_POOL_MAX) req_pool[req_pool_n++] = r;
	else free(r);
}

static void request_free(phpa_worker_req *r)
{
	phpa_limits_request_done(r);
	requests--;
	req_release(r);
}

/* Its body returned or its fiber died: whatever happened, the request is answered. */
static void request_finish(phpa_coroutine *co)
{
	phpa_worker_req *r = co->data;
	phpa_response_fail(r->response, 500); /* no-op when it was answered */
	phpa_async_release_handle(co);
	phpa_request_state_destroy(r);
	OBJ_RELEASE(r->request);
	OBJ_RELEASE(r->response);
	request_free(r);
}

static const phpa_co_ops request_ops = {
	.what = "handler of this request",
	.body = request_body,
	.enter = request_enter,
	.leave = request_leave,
	.finish = request_finish,
};

phpa_worker_req *phpa_worker_req_of(phpa_coroutine *co)
{
	return co && co->ops == &request_ops ? co->data : NULL;
}

zend_object *phpa_worker_response_of(zend_object *request)
{
	phpa_worker_req *r = phpa_worker_req_of(phpa_sched_current());
	return r && r->request == request ? r->response : NULL;
}

bool phpa_worker_output(const char *str, size_t len)
{
	phpa_worker_req *r = phpa_worker_req_of(phpa_sched_current());
	if (!r) return false;
	/* A classic callback's output after frankenphp_finish_request() is dropped, as php-fpm does. */
	if (phpa_response_is_ended(r->response)) return r->call != NULL;
	phpa_response_append_output(r->response, str, len);
	return true;
}

bool phpa_worker_header(const char *line, size_t len, int op)
{
	phpa_worker_req *r = phpa_worker_req_of(phpa_sched_current());
	if (!r || phpa_response_is_ended(r->response)) return false;
	phpa_response_sapi_header(r->response, line, len, op);
	return true;
}

/* ---- intake ------------------------------------------------------------------------------- */

void phpa_worker_start_job(phpa_job *job, void (*call)(phpa_worker_req *r))
{
	if (phpa_limits_skip_job(job)) { /* the client left before it started */
		free(job);
		return;
	}
	const int thread = phpa_thread_index();
	zend_object *request = phpa_request_new(job);
	if (!request) {
		/* JS builds every envelope; a malformed one is a bug, answered rather than dropped. */
		phpa_log(PHPA_LOG_ERROR, job->id, "malformed request envelope (%u bytes): answered 400", job->len);
		zend_object *response = phpa_response_new(job->id, thread);
		phpa_response_fail(response, 400);
		OBJ_RELEASE(response);
		free(job);
		return;
	}
	phpa_worker_req *r = req_alloc();
	if (!r) {
		OBJ_RELEASE(request);
		phpa_out_of_memory("a request");
	}
	r->id = job->id; /* the Request owns the job from here */
	r->request = request;
	r->response = phpa_response_new(r->id, thread);
	r->call = call;
	requests++;
	phpa_limits_request_started(r);
	/* Building its $_GET and $_COOKIE may warn (max_input_vars, nesting): outside any coroutine
	 * yet, the log line names the request through the thread's id. */
	phpa_log_set_request_id(r->id);
	phpa_request_state_init(r);
	phpa_log_set_request_id(0);
	started_requests++;
	const uint64_t max_requests = phpa_runtime_config()->max_requests;
	if (max_requests && started_requests >= max_requests) recycling = true;
	phpa_sched_spawn(&request_ops, r, r->id, true);
}

/* After a fatal error: every request this thread was serving gets a 500. Requests still in
 * the ring were never taken and are served after the restart. */
void phpa_worker_fail_inflight(void)
{
	phpa_coroutine *current = phpa_sched_current();
	phpa_coroutine **all;
	uint32_t n = phpa_sched_all(&all);
	for (uint32_t i = 0; i < n; i++) {
		phpa_coroutine *co = all[i];
		phpa_worker_req *r = phpa_worker_req_of(co);
		if (!r || (co->state != PHPA_CO_RUNNING && co->state != PHPA_CO_WAITING)) continue;
		/* The one that raised it is logged by PHP's own "Fatal error" line (same reqId). */
		if (co != current) phpa_log(PHPA_LOG_ERROR, r->id, "request failed: PHP hit a fatal error on this thread");
		phpa_response_fail(r->response, 500);
		/* Its objects go with the interpreter; only our struct goes here. */
		co->ops = NULL;
		co->data = NULL;
		request_free(r);
	}
	requests = 0;
	phpa_sched_abandon();
}

void phpa_worker_run(phpa_worker_outcome *out)
{
	phpa_sched_init();
	phpa_async_thread_init();
	stopping = false;
	tasks_cancelled = false;
	requests = 0;
	volatile bool clean = true;
	const uint32_t max = phpa_runtime_config()->max_coroutines;
	const int thread = phpa_thread_index();
	zend_try {
		for (;;) {
			phpa_response_drain_released();
			phpa_limits_tick(); /* aborts of suspended handlers, before new jobs */
			while (!stopping && !recycling && phpa_sched_live() < max) {
				phpa_job *job = phpa_host_ring_pop(thread);
				if (!job) break;
				if (job->kind == PHPA_JOB_STOP) {
					stopping = true;
					free(job);
					break;
				}
				phpa_worker_start_job(job, NULL);
			}
			phpa_sched_run_ready();
			if ((stopping || recycling) && phpa_sched_live() == 0) break;
			/* Stopping (or recycling) and only spawned coroutines are left: they are cancelled (once). */
			if ((stopping || recycling) && requests == 0 && !tasks_cancelled) {
				tasks_cancelled = true;
				phpa_async_cancel_all();
			}
			/* Timers and fds; parks only when no woken coroutine waits for the next tick. */
			phpa_reactor_tick(!phpa_sched_has_ready(), !stopping && !recycling && phpa_sched_live() < max);
		}
	} zend_catch {
		clean = false;
		phpa_request_state_bailout(); /* first: the thread's own values back into the globals */
		phpa_guard_after_bailout(); /* memory to answer with after an OOM fatal error */
		phpa_worker_fail_inflight();
	} zend_end_try();
	out->clean = clean;
	out->stopping = stopping;
	out->recycling = recycling;
	out->after_oom = recycle_after_oom;
	out->served = started_requests;
}

uint32_t phpa_worker_in_flight(void) { return requests; }

void phpa_worker_progress(phpa_worker_outcome *out)
{
	out->recycling = recycling;
	out->after_oom = recycle_after_oom;
	out->served = started_requests;
}

void phpa_worker_shutdown(bool after_fatal)
{
	/* Nothing JS still sends from is in PHP's heap (response bodies are handed over as
	 * host-owned copies, see response.c), so this never waits for a client. Frames that are
	 * back are settled now; those still out (streamed frames of a slow client) come back later
	 * to a stream that knows its coroutine is gone. */
	phpa_response_drain_released();
	phpa_response_interpreter_gone();
	phpa_sched_destroy(after_fatal);
	phpa_async_thread_reset(after_fatal);
	phpa_worker_drop_handler();
}

void phpa_worker_thread_start(void)
{
	phpa_guard_thread_start();
	phpa_limits_thread_start();
	phpa_request_state_interpreter_start();
	recycling = false;
	recycle_after_oom = false;
	started_requests = 0;
}

void phpa_worker_thread_stop(void)
{
	phpa_guard_thread_stop();
	while (req_pool_n) free(req_pool[--req_pool_n]);
}
