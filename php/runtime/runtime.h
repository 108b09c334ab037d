/*
 * The runtime layer of php/: what a PHP thread needs that knows Zend and the host but nothing
 * of HTTP or of the Async\ API. Included by php/async/, php/server/ and php/embed/; includes
 * only the bridge and async_backend.h.
 *
 * Files: runtime.c (thread identity, out-of-memory policy), log.c, reactor.c (epoll + timer
 * heap), scheduler.c (pooled fibers, run queue), wait.c (coroutine waits on time and fds),
 * guard.c (watchdog, vm_interrupt, fatal flag, cancelled ids), stack_guard.c (C stack overflow).
 */
#ifndef PHPA_RUNTIME_H
#define PHPA_RUNTIME_H

#include <php.h>
#include <stdbool.h>

#include "phpa_bridge.h"
#include "runtime/async_backend.h"

/* ---- runtime.c: the PHP thread and process-wide helpers ------------------------------------ */

/* The configuration the module was started with (NULL before). */
void phpa_runtime_set_config(const phpa_config *config);
const phpa_config *phpa_runtime_config(void);
/* A server PHP thread sets its index for its whole life (worker file included); -1 elsewhere. */
void phpa_runtime_thread_enter(int index);
void phpa_runtime_thread_leave(void);
int phpa_thread_index(void);
static inline bool phpa_on_php_thread(void) { return phpa_thread_index() >= 0; }

/* Out-of-memory policy: on a PHP thread inside the interpreter, an allocation of ours that
 * fails is a fatal error (E_ERROR): the interpreter restarts and the requests it held get
 * 500s, as for any fatal error. Never returns. Outside the interpreter (module startup, the
 * watchdog) callers check for NULL and degrade, saying so in the log. */
ZEND_NORETURN void phpa_out_of_memory(const char *what);
/* realloc(p, n * size) that never loses p: on failure (or overflow) phpa_out_of_memory(what). */
void *phpa_realloc_array(void *p, size_t n, size_t size, const char *what);
void *phpa_calloc(size_t size, const char *what);

/* ---- log.c --------------------------------------------------------------------------------- */
void phpa_log(int level, uint64_t request_id, const char *fmt, ...) ZEND_ATTRIBUTE_FORMAT(printf, 3, 4);
/* php-cli: log lines go to stderr instead of the host. */
void phpa_log_to_stderr(bool on);
/* The request id log lines of the running code carry (0: none). */
uint64_t phpa_log_request_id(void);
/* Outside coroutines (a classic script): the id the running code's log lines carry (0: none). */
void phpa_log_set_request_id(uint64_t id);
/* The thread mode is classic scripts: one whole PHP request per HTTP request, nothing shared. */
static inline bool phpa_runtime_scripts_mode(void)
{
	const phpa_config *c = phpa_runtime_config();
	return c && c->mode == PHPA_MODE_SCRIPTS;
}

/* ---- reactor.c ----------------------------------------------------------------------------
 * An fd wait is a struct its owner keeps (on a fiber's stack) until it removes it; when the
 * fd is ready for one of `events`, cb runs from the reactor (not inside a coroutine) with
 * `revents` updated: it may wake coroutines, never call into PHP code. */
typedef struct phpa_fd_wait phpa_fd_wait;
struct phpa_fd_wait {
	phpa_fd_wait *next;
	int fd;
	short events, revents;
	void (*cb)(phpa_fd_wait *w);
	void *data;
};
void phpa_reactor_add(phpa_fd_wait *w);
void phpa_reactor_remove(phpa_fd_wait *w);

int phpa_reactor_open(void);
void phpa_reactor_close(void);
/* Run expired timers, poll fds; blocks (parks) only when may_block. watch_ring=false when the
 * coroutine bound is reached (queued jobs must not wake the thread). */
void phpa_reactor_tick(bool may_block, bool watch_ring);
/* Block until the notifier fires or timeout_ms passes (-1: no timeout), unless work is
 * already waiting. */
void phpa_reactor_park(bool watch_ring, int timeout_ms);
/* Forget every timer and fd wait (after a fatal error the fiber stacks holding them are gone). */
void phpa_reactor_reset(void);

/* ---- scheduler.c --------------------------------------------------------------------------- */
/* Once at module startup (MINIT), before any PHP thread: the state every thread shares. */
void phpa_sched_minit(void);
/* Per interpreter start / end. After a fatal error (after_fatal) PHP frees the fibers' objects
 * at request shutdown; only our own structs go. */
void phpa_sched_init(void);
void phpa_sched_destroy(bool after_fatal);
/* Resume every coroutine woken since the last tick (ones woken meanwhile wait for the next). */
void phpa_sched_run_ready(void);
bool phpa_sched_has_ready(void);
/* Coroutines spawned and not finished. */
uint32_t phpa_sched_live(void);
/* After a bailout out of a coroutine: nothing runs or waits any more (the fibers are dead). */
void phpa_sched_abandon(void);

/* ---- guard.c: faults and interrupts, mechanism only ---------------------------------------
 * A watchdog thread sets a PHP thread's EG(vm_interrupt) once the deadline it published has
 * passed; JS cancels (client gone) are taken from the host into a sorted list; bailing errors
 * raise a per-thread fatal flag, unless the thread's policy contains them. What an interrupt
 * or a contained error means for a request is the server's policy (the callbacks below). */
void phpa_guard_module_startup(const phpa_config *config);
void phpa_guard_module_shutdown(void);
void phpa_guard_thread_start(void); /* once per interpreter start, on the PHP thread */
void phpa_guard_thread_stop(void);
/* The policy of this thread. interrupt: called at a VM interrupt (after PHP's own function).
 * contain: a fatal error of a containable kind (E_USER_ERROR, delayed out-of-memory) was raised
 * in a fiber outside compilation and output handlers; return true to have it logged without a
 * bailout and an UnwindExit thrown instead (the caller marks what failed). */
void phpa_guard_set_policy(void (*interrupt)(void), bool (*contain)(void));
/* Publish the deadline of the coroutine being entered (0: none) for the watchdog. */
void phpa_guard_publish_deadline(uint64_t deadline_ns);
/* Ask for the VM interrupt again at the next check (not at a point where it can act now). */
void phpa_guard_rearm_interrupt(void);
/* A fatal error happened on this thread since its start: the interpreter must be restarted. */
bool phpa_guard_fatal(void);
/* After a bailout: room to answer requests after an out-of-memory fatal error. */
void phpa_guard_after_bailout(void);
/* Take the ids JS cancelled into the thread's list. */
void phpa_guard_take_cancels(void);
/* Remove `id` from the list; true when it was there. */
bool phpa_guard_take_cancelled(uint64_t id);
bool phpa_guard_any_cancelled(void);
/* Call keep(id) for every listed id, oldest first; drops those for which it returns false. */
void phpa_guard_filter_cancelled(bool (*keep)(uint64_t id));

/* ---- stack_guard.c: a C stack overflow on a PHP thread fails its request, not the process -- */
void phpa_stack_guard_module_startup(void);
void phpa_stack_guard_thread_start(void);
void phpa_stack_guard_thread_stop(void);
/* After a bailout: logs a stack overflow not logged yet; true when there was one. */
bool phpa_stack_guard_report(void);
/* First thing on a new coroutine's fiber: in ASan builds, clears stale marks on its stack. */
void phpa_stack_guard_fresh_stack(void);

#endif
