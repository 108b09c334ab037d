/*
 * The small C interface the Async\ API and the I/O hooks are written against: spawn, suspend,
 * wake, wait for an fd, timers. phpasync's own scheduler (scheduler.c + reactor.c) implements
 * it on stock PHP; a TrueAsync backend (patched PHP 8.6 + true_async, libuv) can implement the
 * same functions and keep async.c / hooks.c unchanged.
 *
 * Everything here runs on the owning PHP thread only. Times are CLOCK_MONOTONIC nanoseconds.
 */
#ifndef PHPA_ASYNC_BACKEND_H
#define PHPA_ASYNC_BACKEND_H

#include "phpa_internal.h"

/* ---- clock and timers ---------------------------------------------------------------------
 * A timer is a struct the caller owns (on a fiber's stack, inside an object...). The reactor
 * keeps a min-heap of pointers to armed timers; when one expires its callback runs from the
 * scheduler (not inside a coroutine): it may wake coroutines, never call into PHP code. */
/* struct phpa_timer is in phpa_internal.h (a coroutine embeds one). */

uint64_t phpa_now_ns(void);
void phpa_timer_init(phpa_timer *t, phpa_timer_cb cb, void *data);
void phpa_timer_start(phpa_timer *t, uint64_t deadline_ns);
void phpa_timer_stop(phpa_timer *t); /* no-op when not armed or stale */
bool phpa_timer_armed(const phpa_timer *t);

/* ---- coroutines ---------------------------------------------------------------------------- */

/* The running coroutine when the caller runs on one of our pooled fibers (and not inside a
 * user Fiber nested in it), else NULL. Only then may the caller suspend. */
phpa_coroutine *phpa_sched_running(void);

/* Put the running coroutine at the end of the run queue and suspend it (Async\suspend()).
 * Same return convention as phpa_sched_suspend(). */
bool phpa_sched_yield(void);

/* Ask a coroutine to stop: `reason` (a Throwable, reference taken) is thrown at its current or
 * next suspension point. A second request while one is pending is ignored. */
void phpa_sched_cancel(phpa_coroutine *co, zend_object *reason);

/* Spawn: take a pooled fiber (or create one) to run `task` (an Async\Coroutine object, see
 * async.c) at the next tick. Counts as in flight for the per-thread bound. */
phpa_coroutine *phpa_sched_spawn(zend_object *task);

/* Every coroutine slot of this thread (idle ones included). */
uint32_t phpa_sched_all(phpa_coroutine ***out);

/* Sleep the running coroutine until `deadline_ns`. False when it was cancelled (exception set). */
bool phpa_sched_sleep_until(uint64_t deadline_ns);

/* ---- fds ----------------------------------------------------------------------------------
 * Wait until one of fds[i] (with events[i] = POLLIN/POLLOUT) is ready, or the deadline passes
 * (0: none). revents[i] receives what fired. Returns >0 (ready), 0 (deadline), -1 (cancelled:
 * an exception is pending; or not in a coroutine: errno = EWOULDBLOCK, nothing thrown). */
int phpa_wait_fds(const int *fds, const short *events, short *revents, int n, uint64_t deadline_ns);

/* ---- reactor internals shared with scheduler.c -------------------------------------------- */
/* Run expired timers, poll fds; blocks (parks) only when may_block. */
void phpa_reactor_tick(phpa_thread_state *ts, bool may_block, bool watch_ring);
/* Forget every timer and fd wait (after a fatal error the fiber stacks holding them are gone). */
void phpa_reactor_reset(phpa_thread_state *ts);

/* ---- async.c hooks called by the scheduler ----------------------------------------------- */
/* Run the body of a spawned task on the current fiber (inside the coroutine). */
void phpa_async_run_task(phpa_coroutine *co);
/* A request coroutine finished serving (abnormal: its handler threw or it was failed). */
void phpa_async_request_done(phpa_coroutine *co, bool abnormal);
/* Structured concurrency: cancel every coroutine spawned (directly or not) while serving
 * request `job_id`. Called when a request ends abnormally (exception, timeout, abort). */
void phpa_async_cancel_request_children(uint64_t job_id);
/* Cancel every spawned coroutine of this thread (thread stopping). Returns how many. */
uint32_t phpa_async_cancel_all(void);
/* Per-thread reset of the Async\ bookkeeping (scheduler init/destroy). */
void phpa_async_thread_reset(bool after_fatal);
/* Drop a task reference held by the scheduler (co->task) when its fiber slot goes idle. */
void phpa_async_release_task(phpa_coroutine *co);

/* module.c: register Async\ (when true_async is not loaded) and the hooks. */
void phpa_async_minit(int module_number);
/* hooks.c */
void phpa_hooks_minit(void);
/* Called on a PHP thread inside a PHP request (scheduler init): patches socket stream ops once. */
void phpa_hooks_thread_init(void);
bool phpa_async_enabled(void);

#endif
