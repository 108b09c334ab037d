/*
 * The small C interface the Async\ API, the I/O hooks and the server are written against:
 * coroutines (spawn, suspend, wake, cancel, interrupt), timers and waits on time and fds.
 * phpasync's own runtime (scheduler.c, reactor.c, wait.c) implements it on stock PHP; a
 * TrueAsync backend (patched PHP 8.6 + true_async, libuv) would implement exactly these
 * functions and leave php/async/ and php/server/ unchanged.
 *
 * Everything here runs on the owning PHP thread only. Times are CLOCK_MONOTONIC nanoseconds.
 */
#ifndef PHPA_ASYNC_BACKEND_H
#define PHPA_ASYNC_BACKEND_H

#include <php.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- clock and timers ---------------------------------------------------------------------
 * A timer is a struct the caller owns (on a fiber's stack, inside an object...). The reactor
 * keeps a min-heap of the armed timers; when one expires its callback runs from the
 * scheduler (not inside a coroutine): it may wake coroutines, never call into PHP code. */
typedef struct phpa_timer phpa_timer;
typedef void (*phpa_timer_cb)(phpa_timer *t);
struct phpa_timer {
	uint64_t deadline_ns; /* monotonic */
	uint64_t slack_ns;    /* it may fire this much after deadline_ns (never before): see reactor.c */
	int32_t heap_index;   /* -1 when not armed */
	uint32_t generation;  /* reactor generation it was armed in (stale after a fatal-error reset) */
	phpa_timer_cb cb;
	void *data;
};

uint64_t phpa_now_ns(void);
void phpa_timer_init(phpa_timer *t, phpa_timer_cb cb, void *data);
void phpa_timer_start(phpa_timer *t, uint64_t deadline_ns);
void phpa_timer_stop(phpa_timer *t); /* no-op when not armed or stale */
bool phpa_timer_armed(const phpa_timer *t);

/* ---- coroutines ----------------------------------------------------------------------------
 * A coroutine runs on a pooled PHP Fiber. Its user (the server for a request, the Async\ API
 * for a spawned callable) gives it a body and hooks; the scheduler calls them and knows
 * nothing else about what the coroutine does. */
typedef struct phpa_coroutine phpa_coroutine;

typedef struct phpa_co_ops {
	/* What runs, for log lines ("handler of this request", "coroutine spawned by this request"). */
	const char *what;
	/* Runs on the coroutine's fiber; the coroutine ends when it returns. */
	void (*body)(phpa_coroutine *co);
	/* Around every switch into the coroutine, on the scheduler's side (either may be NULL). */
	void (*enter)(phpa_coroutine *co);
	void (*leave)(phpa_coroutine *co);
	/* Once, after the body returned or its fiber died, on the scheduler's side: release what
	 * the user held. Not called after a fatal error (the interpreter is restarted). */
	void (*finish)(phpa_coroutine *co);
} phpa_co_ops;

enum phpa_co_state {
	PHPA_CO_IDLE = 0,    /* in the pool, suspended at the top of its loop */
	PHPA_CO_RUNNING = 1, /* running its body */
	PHPA_CO_DEAD = 2,    /* its fiber is gone; never resumed again */
	PHPA_CO_WAITING = 3, /* suspended by phpa_sched_suspend(), until phpa_sched_wake() */
};

struct phpa_coroutine {
	const phpa_co_ops *ops;       /* NULL while idle */
	void *data;                   /* the user's, given to phpa_sched_spawn() */
	uint64_t scope_id;            /* request this coroutine works for (logs, structured cancellation); 0: none */
	zend_object *handle;          /* user-visible object (Async\Coroutine), reference held by the
	                               * async layer, which sets and drops it; the scheduler never touches it */
	int state;                    /* enum phpa_co_state */
	bool queued;                  /* on the run queue */
	bool started;                 /* Fiber::start() already called */
	bool unwind_pending;          /* phpa_sched_interrupt() while suspended: unwind when resumed */
	zend_object *cancel_pending;  /* Throwable thrown at the next suspension point (reference held) */
	zval fiber;                   /* the pooled Fiber object */
	phpa_coroutine *next_idle;    /* pool free list */
	phpa_coroutine *next_ready;   /* run queue link (woken, waiting for the next tick) */
	uint32_t all_index;           /* position in the thread's list of all coroutines */
};

/* The coroutine the scheduler switched into (also while it runs a user Fiber), else NULL. */
phpa_coroutine *phpa_sched_current(void);
/* The running coroutine when the caller runs on its pooled fiber (and not inside a user Fiber
 * nested in it), else NULL. Only then may the caller suspend. */
phpa_coroutine *phpa_sched_running(void);

/* Take a pooled fiber (or create one) to run ops->body. run_now: switch into it at once (the
 * caller is the scheduler's loop); else it starts at the next tick, after the spawner yields
 * (TrueAsync's order). Counts as live for the per-thread bound until it finishes. */
phpa_coroutine *phpa_sched_spawn(const phpa_co_ops *ops, void *data, uint64_t scope_id, bool run_now);

/* Park the running coroutine until phpa_sched_wake(). False when it must not go on (an
 * exception is pending: it was cancelled, interrupted, or its fiber is being destroyed).
 * Outside a coroutine it throws an Error and returns false. */
bool phpa_sched_suspend(void);
/* Put the running coroutine at the end of the run queue and suspend it (Async\suspend()). */
bool phpa_sched_yield(void);
/* Make a WAITING coroutine runnable at the next tick; no-op for any other. */
void phpa_sched_wake(phpa_coroutine *co);
/* Ask a coroutine to stop: `reason` (a Throwable, reference taken) is thrown at its current or
 * next suspension point. A second request while one is pending is ignored. */
void phpa_sched_cancel(phpa_coroutine *co, zend_object *reason);
/* Unwind a suspended coroutine as exit() would (an UnwindExit nothing can catch) when it
 * resumes; it is woken now. */
void phpa_sched_interrupt(phpa_coroutine *co);

/* Every coroutine slot of this thread (idle ones included). */
uint32_t phpa_sched_all(phpa_coroutine ***out);

/* ---- waits (wait.c) ------------------------------------------------------------------------ */
/* Sleep the running coroutine until `deadline_ns`. False when it was cancelled (exception set). */
bool phpa_sched_sleep_until(uint64_t deadline_ns);
/* Wait until one of fds[i] (with events[i] = POLLIN/POLLOUT) is ready, or the deadline passes
 * (0: none). revents[i] receives what fired. Returns >0 (ready), 0 (deadline), -1 (cancelled:
 * an exception is pending; or not in a coroutine: errno = EWOULDBLOCK, nothing thrown). */
int phpa_wait_fds(const int *fds, const short *events, short *revents, int n, uint64_t deadline_ns);

#endif
