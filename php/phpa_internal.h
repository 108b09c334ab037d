/*
 * Declarations shared by the files of php/ (never included by addon/).
 * One PHP thread = one phpa_thread_state, reached through a thread-local pointer.
 */
#ifndef PHPA_INTERNAL_H
#define PHPA_INTERNAL_H

#include <php.h>
#include <SAPI.h>
#include <stdbool.h>

#include "phpa_bridge.h"

typedef struct phpa_coroutine phpa_coroutine;

/* A reactor timer (API in async_backend.h). Defined here because a coroutine embeds one. */
typedef struct phpa_timer phpa_timer;
typedef void (*phpa_timer_cb)(phpa_timer *t);
struct phpa_timer {
	uint64_t deadline_ns; /* monotonic */
	int32_t heap_index;   /* -1 when not armed */
	uint32_t generation;  /* reactor generation it was armed in (stale after a fatal-error reset) */
	phpa_timer_cb cb;
	void *data;
};

enum phpa_co_state {
	PHPA_CO_IDLE = 0,    /* in the pool, suspended at the top of its loop */
	PHPA_CO_RUNNING = 1, /* running a request handler */
	PHPA_CO_DEAD = 2,    /* its fiber is gone; never resumed again */
	PHPA_CO_WAITING = 3, /* suspended by phpa_sched_suspend(), until phpa_sched_wake() */
};

struct phpa_coroutine {
	zval fiber;                /* the pooled Fiber object */
	uint64_t job_id;           /* id of the request being served (0 when idle) */
	zend_object *request;      /* FrankenPHP\Request for this job */
	zend_object *response;     /* FrankenPHP\Response for this job */
	int state;                 /* enum phpa_co_state */
	bool started;              /* Fiber::start() already called */
	phpa_coroutine *next_idle; /* pool free list */
	uint32_t all_index;        /* position in the thread's list of all coroutines */
	phpa_coroutine *next_ready; /* run queue link (woken, waiting for the next tick) */
	bool queued;               /* on the run queue */
	/* issue 6 (limits.c): request deadline and why the handler was interrupted. */
	uint64_t deadline_ns;      /* CLOCK_MONOTONIC; 0 = no request timeout */
	bool timed_out;            /* interrupted by the request timeout: answered 504 */
	bool cancelled;            /* the client went away: interrupted, response discarded */
	bool interrupt_pending;    /* timed out or cancelled while suspended: unwind when resumed */
	phpa_timer deadline_timer; /* fires at deadline_ns if the handler is suspended then */
	bool guarded;              /* its handler is running (serve()): interrupts may unwind it */
	bool contained_fatal;      /* its handler hit a fatal error that ends only this request */
	/* Added for Async\ (async.c): what the fiber runs and how it is told to stop. */
	int kind;                  /* enum phpa_co_kind */
	zend_object *task;         /* Async\Coroutine object (reference held); NULL until asked for */
	zend_object *cancel_pending; /* Throwable thrown at the next suspension point (reference held) */
	uint64_t owner_job;        /* request whose structured scope this coroutine belongs to (0: none) */
	struct phpa_request_state *reqstate; /* its request's PHP state (server/request_state.c); NULL for tasks */
	uint32_t time_limit_ms;    /* set_time_limit() gave the deadline (for the 504 log line); 0: request_timeout did */
};

enum phpa_co_kind {
	PHPA_CO_KIND_REQUEST = 0, /* serves a request (job_id, request, response) */
	PHPA_CO_KIND_TASK = 1,    /* runs a callable given to Async\spawn() */
};

typedef struct phpa_thread_state {
	int index;
	const phpa_config *config;

	/* The handler registered by HttpServer::onRequest(). */
	zval handler;
	zend_fcall_info_cache handler_fcc;

	phpa_coroutine *current;   /* running coroutine; NULL in the scheduler itself */
	phpa_coroutine *idle;      /* pooled coroutines ready for the next request */
	phpa_coroutine *ready_head, *ready_tail; /* woken coroutines, resumed in order at the next tick */
	uint32_t inflight;         /* coroutines in flight: requests and the coroutines they spawned */
	uint32_t tasks;            /* of which spawned by Async\spawn() */
	bool tasks_cancelled;      /* stopping: the remaining spawned coroutines were cancelled */
	uint32_t pooled;           /* coroutines created (idle or not) */
	uint32_t nidle;            /* of which in the idle pool (at most PHPA_IDLE_MAX) */
	bool stopping;             /* the sentinel was seen */
	bool in_request_scope;     /* the worker's PHP request is active */

	int epfd;                  /* the reactor's epoll (or -1 when poll() is used) */
	int base_ob_level;         /* output-buffer level handlers start at */

	/* issue 6 (limits.c) */
	bool fatal;                /* a fatal error happened: the interpreter must be restarted */
	bool recycling;            /* max_requests reached: take no new job, restart when idle */
	bool recycle_after_oom;    /* recycling because a contained out-of-memory error leaked */
	uint64_t started_requests; /* requests started since the last interpreter (re)start */
	uint64_t last_started_id;  /* id of the newest job taken from the ring */
	uint64_t *cancelled_ids;   /* ids JS cancelled that this thread has not matched yet (sorted) */
	uint32_t ncancelled, cancelled_cap;
} phpa_thread_state;

/* One PHP thread = one state; __thread keeps ZTS builds correct too. */
extern __thread phpa_thread_state *phpa_ts;

/* sapi.c */
extern sapi_module_struct phpa_sapi_module;
/* php_request_startup() that leaves SIGPROF as it found it. */
zend_result phpa_request_startup(void);
const phpa_config *phpa_current_config(void);
void phpa_log(int level, uint64_t request_id, const char *fmt, ...) ZEND_ATTRIBUTE_FORMAT(printf, 3, 4);

/* module.c: classes and the internal module */
extern zend_module_entry phpa_module_entry;
extern zend_class_entry *phpa_ce_request;
extern zend_class_entry *phpa_ce_response;
extern zend_class_entry *phpa_ce_http_server;

/* request.c */
zend_object *phpa_request_new(phpa_job *job);
void phpa_request_init_class(zend_class_entry *ce);
/* The envelope the Request reads (owned by it). */
const struct phpa_envelope *phpa_request_envelope(zend_object *request);

/* response.c */
zend_object *phpa_response_new(uint64_t id, int thread);
void phpa_response_init_class(zend_class_entry *ce);
/* Append bytes written by echo/print (copied). */
void phpa_response_append_output(zend_object *response, const char *str, size_t len);
bool phpa_response_is_ended(zend_object *response);
/* End the response; used when the handler returned without end(). */
void phpa_response_finish(zend_object *response);
/* header()/header_remove() inside a handler (op is a sapi_header_op_enum). */
void phpa_response_sapi_header(zend_object *response, const char *line, size_t len, int op);
/* A status set by header()/http_response_code() inside its handler. */
void phpa_response_sapi_status(zend_object *response, int status);
/* Replace whatever was set with a generic error page and end the response. */
void phpa_response_fail(zend_object *response, int status);
/* The interpreter is being restarted: streamed frames still with the host no longer have a
 * coroutine to wake when they come back. */
void phpa_response_interpreter_gone(void);


/* scheduler.c */
void phpa_scheduler_init(phpa_thread_state *ts);
/* Runs until the sentinel arrived and every coroutine finished. Returns false on a bailout
 * (fatal error), after failing every request this thread still held. */
bool phpa_scheduler_run(phpa_thread_state *ts);
/* Drop the pooled coroutines. after_fatal: PHP frees their objects at request shutdown. */
void phpa_scheduler_destroy(phpa_thread_state *ts, bool after_fatal);
/* Hand frames JS finished with back to PHP's allocator (owning thread only). */
void phpa_scheduler_drain_released(phpa_thread_state *ts);

/* The coroutine API the rest of php/ builds on (flush back-pressure, Async\, I/O hooks).
 * suspend: park the running coroutine until someone calls wake(); returns false when it
 * must not go on (an exception is pending: it was cancelled or its fiber is being destroyed).
 * Outside a coroutine it throws an Error and returns false.
 * wake: make a WAITING coroutine runnable; it resumes at the scheduler's next tick. Calling it
 * for a coroutine that is not waiting does nothing. Owning thread only. */
phpa_coroutine *phpa_sched_current(void);
bool phpa_sched_suspend(void);
void phpa_sched_wake(phpa_coroutine *co);

/* limits.c: fatal errors, request timeout, client abort, max_requests (issue 6). */
void phpa_limits_module_startup(const phpa_config *config);
void phpa_limits_module_shutdown(void);
/* On the PHP thread, once per interpreter start: registers its EG(vm_interrupt). */
void phpa_limits_thread_start(phpa_thread_state *ts);
void phpa_limits_thread_stop(phpa_thread_state *ts);
/* start_request(): true when JS cancelled this job before it started (drop it unanswered). */
bool phpa_limits_skip_job(phpa_thread_state *ts, phpa_job *job);
/* start_request(): the coroutine got its job (deadline, max_requests count). */
void phpa_limits_request_started(phpa_thread_state *ts, phpa_coroutine *co);
/* Each scheduler tick, before the ring is drained: cancelled ids of suspended handlers are
 * matched and those handlers interrupted (they unwind when resumed, see phpa_limits_unwind). */
void phpa_limits_tick(phpa_thread_state *ts);
/* The request of `co` ended (normally or not): its deadline timer is disarmed. */
void phpa_limits_request_done(phpa_coroutine *co);
/* Inside a coroutine at a suspension point: true (UnwindExit thrown) when it was interrupted. */
bool phpa_limits_unwind(phpa_coroutine *co);
/* resume(): around every switch into a coroutine (publishes its deadline to the watchdog). */
void phpa_limits_enter(phpa_thread_state *ts, phpa_coroutine *co);
void phpa_limits_leave(phpa_thread_state *ts);
/* serve(), right after the handler returned: bails out (never returns) after a fatal error
 * that needs a restart; returns true, with the exception cleared, when the handler unwound from
 * a fatal error of its own (500 sent), a timeout (504 sent) or a client abort (response
 * discarded). */
bool phpa_limits_after_handler(phpa_thread_state *ts, phpa_coroutine *co);
/* The scheduler's zend_catch, before failing the requests: room to answer them after an
 * out-of-memory fatal error (the interpreter is restarted right after). */
void phpa_limits_after_bailout(phpa_thread_state *ts);

/* stack_guard.c: a C stack overflow on a PHP thread fails its request, not the process. */
/* Once, after PHP's module startup: the fiber-switch observer that logs an overflow. */
void phpa_stack_guard_module_startup(void);
/* On the PHP thread, when it starts and stops: its alternate signal stack, and the process-wide
 * SIGSEGV/SIGBUS handler while any PHP thread runs. */
void phpa_stack_guard_thread_start(void);
void phpa_stack_guard_thread_stop(void);
/* After a bailout: logs a stack overflow not logged yet; true when there was one. */
bool phpa_stack_guard_report(void);
/* First thing on a new coroutine's fiber: in ASan builds, clears stale marks on its stack. */
void phpa_stack_guard_fresh_stack(void);

/* reactor.c */
int phpa_reactor_open(phpa_thread_state *ts);
void phpa_reactor_close(phpa_thread_state *ts);
/* Block until the notifier fires or timeout_ms passes (-1: no timeout), unless work is
 * already waiting. watch_ring=false when the coroutine bound is reached. */
void phpa_reactor_park(phpa_thread_state *ts, bool watch_ring, int timeout_ms);

#endif
