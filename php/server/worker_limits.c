/*
 * The async worker's answers to faults and limits (the mechanism is runtime/guard.c):
 *
 * - Fatal errors. After one that was not contained, the handler's return bails out to the
 *   worker's loop, which answers every request of the thread 500 and restarts the interpreter.
 *   A fatal error the guard may contain (E_USER_ERROR, a delayed out-of-memory error) raised
 *   by a request's running handler ends that request only: 500, the thread goes on.
 * - Request timeout. The coroutine being entered publishes its deadline for the watchdog
 *   (async_worker.c's enter hook); at the VM interrupt an UnwindExit is thrown into the handler
 *   over its deadline: user code cannot catch it (catch (Throwable) does not see it, finally
 *   blocks are skipped), the coroutine unwinds and the request is answered 504.
 *   A handler suspended in a wait (sleep(), Async\delay(), await, a socket read, flush()
 *   back-pressure) is not running, so no VM check can see it: a suspended request waits for
 *   its deadline in a timer (see "Deadlines of suspended requests" below); when it is due the
 *   coroutine is interrupted (phpa_sched_interrupt) and its suspension point throws the same
 *   UnwindExit.
 *   Not supported yet: a handler blocked inside one internal call that does not go through the
 *   reactor (a DNS lookup, a TLS read, a file read) is interrupted only when that call returns.
 * - Client abort. JS queues the request id and interrupts the thread: a running handler
 *   unwinds the same way and its response is discarded (499, dropped by JS); a suspended one
 *   is matched at the next tick (phpa_limits_tick) and unwinds when resumed; a request still
 *   in the ring is dropped when popped. A classic worker's callback that called
 *   ignore_user_abort(true) is not interrupted: it runs to its end (classic_worker.c).
 */
#include "server/worker.h"

#include <zend_exceptions.h>

static __thread uint64_t last_started_id; /* id of the newest job taken from the ring */

static void due_reset(void);

static uint32_t timeout_ms(void) { return phpa_runtime_config()->request_timeout_ms; }

/* The limit its 504 log line names: set_time_limit()'s when that gave the deadline. */
static uint32_t limit_ms(const phpa_worker_req *r) { return r->time_limit_ms ? r->time_limit_ms : timeout_ms(); }

/* ---- the running handler: the guard's policy ------------------------------------------------ */

static phpa_worker_req *running_handler(void)
{
	phpa_coroutine *co = phpa_sched_current();
	phpa_worker_req *r = phpa_worker_req_of(co);
	return r && co->state == PHPA_CO_RUNNING ? r : NULL;
}

/* A containable fatal error: only inside a request's running handler. */
static bool contain(void)
{
	phpa_worker_req *r = running_handler();
	if (!r || !r->guarded) return false;
	r->contained_fatal = true;
	return true;
}

static void interrupt(void)
{
	phpa_worker_req *r = phpa_worker_req_of(phpa_sched_current());
	if (!r || r->timed_out || r->cancelled) return;
	if (!r->guarded || !EG(active_fiber)) {
		/* Not inside the handler: on the scheduler's stack around Fiber::start()/resume(), or in
		 * the coroutine's own loop before or after serve(). An UnwindExit thrown there would
		 * unwind the scheduler or end the pooled fiber, not the handler. Ask again once the
		 * handler runs; if it suspended meanwhile, phpa_limits_tick() or its deadline timer
		 * takes over. */
		phpa_guard_rearm_interrupt();
		return;
	}
	if (EG(exception)) {
		/* Not at a clean point: ask again at the next check. */
		phpa_guard_rearm_interrupt();
		return;
	}
	phpa_guard_take_cancels();
	if (phpa_guard_any_cancelled() && phpa_guard_take_cancelled(r->id)) {
		if (r->call && phpa_classic_abort(r)) return; /* a classic callback under ignore_user_abort(true) */
		r->cancelled = true;
		phpa_log(PHPA_LOG_DEBUG, r->id, "client went away: handler interrupted, response discarded");
		zend_throw_unwind_exit();
		return;
	}
	if (r->deadline_ns && phpa_now_ns() >= r->deadline_ns) {
		r->timed_out = true;
		phpa_log(PHPA_LOG_ERROR, r->id, "request timeout: the handler ran for more than %u ms; interrupted, answered 504",
			limit_ms(r));
		zend_throw_unwind_exit();
	}
}

void phpa_limits_thread_start(void)
{
	phpa_guard_set_policy(interrupt, contain);
	due_reset(); /* a new interpreter: the requests of the last one are gone, and its timers */
}

/* ---- jobs and suspended handlers ------------------------------------------------------------ */

bool phpa_limits_skip_job(const phpa_job *job)
{
	last_started_id = job->id;
	phpa_guard_take_cancels();
	/* Only the exact id: smaller ones may belong to suspended handlers, which phpa_limits_tick()
	 * matches (and prunes once their request is over). */
	return phpa_guard_any_cancelled() && phpa_guard_take_cancelled(job->id);
}

/* Its deadline passed: interrupted if it is suspended now. */
static void deadline_due(phpa_worker_req *r)
{
	/* Running handlers are the watchdog's (vm_interrupt); from the reactor none runs. */
	if (!r->co || r->co->state != PHPA_CO_WAITING || r->timed_out || r->cancelled) return;
	r->timed_out = true;
	phpa_log(PHPA_LOG_ERROR, r->id, "request timeout: the handler waited for more than %u ms; interrupted, answered 504",
		limit_ms(r));
	phpa_sched_interrupt(r->co);
}

static void deadline_timer_cb(phpa_timer *t) { deadline_due(t->data); }

/* ---- Deadlines of suspended requests ----------------------------------------------------------
 * A request's deadline timer is armed at its first suspension (none runs while a handler runs:
 * the reactor ticks between switches, so a request that never suspends needs none). Deadlines
 * that come from request_timeout grow with the start time, and requests first suspend in the
 * order they started (each runs from its start to its first suspension), so they wait in one
 * FIFO list behind a single thread timer instead of a heap entry each (a heap insert and
 * removal per request). The thread timer is armed at or before the list head's deadline: when
 * it fires, every request due is taken off and the timer is re-armed for the new head; a
 * request that ends just leaves the list (the timer may then fire for nothing). A request
 * whose deadline set_time_limit() moved, or one that would not keep the list in order, gets a
 * timer of its own. */
static __thread phpa_worker_req *due_head, *due_tail;
static __thread phpa_timer due_timer;

static void due_unlink(phpa_worker_req *r)
{
	if (r->due_prev) r->due_prev->due_next = r->due_next;
	else due_head = r->due_next;
	if (r->due_next) r->due_next->due_prev = r->due_prev;
	else due_tail = r->due_prev;
	r->due_prev = r->due_next = NULL;
	r->due_listed = false;
}

static void due_timer_cb(phpa_timer *t);

static void due_reset(void)
{
	due_head = due_tail = NULL;
	phpa_timer_init(&due_timer, due_timer_cb, NULL);
}

static void due_timer_cb(phpa_timer *t)
{
	const uint64_t now = phpa_now_ns();
	while (due_head && due_head->deadline_ns <= now) {
		phpa_worker_req *r = due_head;
		due_unlink(r);
		deadline_due(r);
	}
	if (due_head) phpa_timer_start(&due_timer, due_head->deadline_ns);
}

/* A cancelled id: kept while its job is still in the ring (dropped when popped), else the
 * suspended handler it names is interrupted (nothing runs during a tick) and the id dropped. */
static bool keep_cancelled(uint64_t id)
{
	if (id > last_started_id) return true;
	phpa_coroutine **all;
	uint32_t n = phpa_sched_all(&all);
	for (uint32_t j = 0; j < n; j++) {
		phpa_worker_req *r = phpa_worker_req_of(all[j]);
		if (r && r->id == id && all[j]->state == PHPA_CO_WAITING && !r->timed_out && !r->cancelled) {
			if (r->call && phpa_classic_abort(r)) break; /* it goes on (ignore_user_abort(true)) */
			r->cancelled = true;
			phpa_log(PHPA_LOG_DEBUG, id, "client went away: suspended handler interrupted, response discarded");
			phpa_sched_interrupt(all[j]);
			break;
		}
	}
	return false;
}

void phpa_limits_tick(void)
{
	phpa_guard_take_cancels();
	if (phpa_guard_any_cancelled()) phpa_guard_filter_cancelled(keep_cancelled);
}

/* ---- per request -------------------------------------------------------------------------- */

void phpa_limits_request_started(phpa_worker_req *r)
{
	r->timed_out = r->cancelled = r->contained_fatal = false;
	uint32_t ms = timeout_ms();
	r->deadline_ns = ms ? phpa_now_ns() + (uint64_t)ms * 1000000u : 0;
	r->timeout_deadline_ns = r->deadline_ns;
	r->time_limit_ms = 0;
	phpa_timer_init(&r->deadline_timer, deadline_timer_cb, r);
	r->deadline_pending = r->deadline_ns != 0; /* see "Deadlines of suspended requests" */
}

void phpa_limits_request_suspended(phpa_worker_req *r)
{
	if (!r->deadline_pending) return;
	r->deadline_pending = false;
	if (due_tail && r->deadline_ns < due_tail->deadline_ns) {
		phpa_timer_start(&r->deadline_timer, r->deadline_ns); /* out of order: its own timer */
		return;
	}
	r->due_prev = due_tail;
	r->due_next = NULL;
	if (due_tail) due_tail->due_next = r;
	else due_head = r;
	due_tail = r;
	r->due_listed = true;
	/* The timer is armed at or before every listed deadline; only a first entry may need it. */
	if (!phpa_timer_armed(&due_timer)) phpa_timer_start(&due_timer, r->deadline_ns);
}

void phpa_limits_set_time_limit(phpa_worker_req *r, zend_long secs)
{
	uint64_t d = r->timeout_deadline_ns;
	r->time_limit_ms = 0;
	if (secs > 0) {
		uint64_t mine = phpa_now_ns() + (uint64_t)secs * 1000000000u;
		if (!d || mine < d) {
			d = mine;
			r->time_limit_ms = secs < 4000000 ? (uint32_t)secs * 1000u : UINT32_MAX;
		}
	}
	r->deadline_ns = d;
	r->deadline_pending = false;
	if (r->due_listed) due_unlink(r);
	phpa_timer_stop(&r->deadline_timer);
	if (d) phpa_timer_start(&r->deadline_timer, d);
	/* Its handler runs: the watchdog reads the running coroutine's deadline from its slot. */
	phpa_guard_publish_deadline(d);
}

void phpa_limits_request_done(phpa_worker_req *r)
{
	if (r->due_listed) due_unlink(r);
	phpa_timer_stop(&r->deadline_timer);
}

bool phpa_limits_after_handler(phpa_worker_req *r)
{
	if (phpa_guard_fatal()) {
		/* Whatever PHP left pending (an UnwindExit for memory exhaustion), the interpreter is
		 * unusable now: go to the worker loop's zend_catch, which answers 500 and restarts. */
		if (EG(exception)) zend_clear_exception();
		zend_bailout();
	}
	if (r->contained_fatal) {
		/* The handler unwound from a fatal error of its own (see guard.c, containable_type()). */
		r->contained_fatal = false;
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
			phpa_worker_recycle(true);
			CG(unclean_shutdown) = 1;
			phpa_log(PHPA_LOG_ERROR, r->id,
				"request failed with a fatal error: answered 500; the thread restarts its interpreter once the "
				"other requests in flight are done");
			phpa_response_fail(r->response, 500);
			return true;
		}
#endif
		phpa_log(PHPA_LOG_ERROR, r->id, "request failed with a fatal error: answered 500; the thread goes on");
		phpa_response_fail(r->response, 500);
		return true;
	}
	if (!r->timed_out && !r->cancelled) return false;
	if (EG(exception)) zend_clear_exception();
	EG(exit_status) = 0;
	/* A cancelled request's client is gone: a small error frame that JS drops (the body the
	 * handler wrote is released here rather than sent). */
	phpa_response_fail(r->response, r->timed_out ? 504 : 499);
	return true;
}
