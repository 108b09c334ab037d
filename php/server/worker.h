/*
 * A request being served by the async worker, shared by async_worker.c (intake, the
 * coroutine, recycling) and worker_limits.c (the 500/504/499 policy), php/server/ only.
 */
#ifndef PHPA_SERVER_WORKER_H
#define PHPA_SERVER_WORKER_H

#include "server/http.h"

typedef struct phpa_worker_req {
	phpa_coroutine *co;        /* set when its coroutine first runs */
	uint64_t id;               /* the job id JS chose */
	zend_object *request;      /* FrankenPHP\Request (reference held) */
	zend_object *response;     /* FrankenPHP\Response (reference held) */
	uint64_t deadline_ns;      /* CLOCK_MONOTONIC; 0 = no request timeout */
	phpa_timer deadline_timer; /* fires at deadline_ns if the handler is suspended then */
	bool deadline_pending;     /* its deadline waits for a timer from its first suspension on */
	bool due_listed;           /* in worker_limits.c's list of suspended requests' deadlines */
	struct phpa_worker_req *due_prev, *due_next; /* that list, in deadline order */
	bool guarded;              /* its handler is running: interrupts may unwind it */
	bool timed_out;            /* interrupted by the request timeout: answered 504 */
	bool cancelled;            /* the client went away: interrupted, response discarded */
	bool contained_fatal;      /* its handler hit a fatal error that ends only this request */
	uint64_t timeout_deadline_ns; /* request_timeout's deadline, which set_time_limit() never extends */
	uint32_t time_limit_ms;    /* set_time_limit() gave deadline_ns (for the 504 log line); 0: request_timeout did */
	struct phpa_request_state *state; /* its PHP state while it is not entered (request_state.c) */
	/* NULL: the onRequest handler runs with (Request, Response). Else this runs in its place, in
	 * the coroutine with the request entered: a classic worker's callback (classic_worker.c). */
	void (*call)(struct phpa_worker_req *r);
} phpa_worker_req;

/* The request a coroutine serves, or NULL (a spawned coroutine, none). */
phpa_worker_req *phpa_worker_req_of(phpa_coroutine *co);
/* HttpServer::onRequest(): false when not on a server PHP thread. */
bool phpa_worker_set_handler(zend_fcall_info *fci, zend_fcall_info_cache *fcc);
/* Stop taking jobs; restart the interpreter once the requests in flight are done. */
void phpa_worker_recycle(bool after_oom);
/* A job from the ring becomes a request in a coroutine of its own, run at once (call: see
 * phpa_worker_req). Answers it itself (400) when its envelope is malformed, drops it when its
 * client has gone; the request may be over when this returns. */
void phpa_worker_start_job(phpa_job *job, void (*call)(phpa_worker_req *r));
/* Request coroutines in flight on this thread. */
uint32_t phpa_worker_in_flight(void);
/* After a bailout out of a coroutine: every request in flight is answered 500. */
void phpa_worker_fail_inflight(void);
/* What the interpreter did so far: recycling, after_oom and served (the rest is the caller's). */
void phpa_worker_progress(phpa_worker_outcome *out);

/* classic_worker.c: the request whose classic callback runs now (NULL: none), and the output
 * level when it was called (frankenphp_finish_request() ends the buffers above it). */
phpa_worker_req *phpa_classic_request(void);
int phpa_classic_callback_ob_level(void);
/* classic_worker.c: the client of r went away. True when r is the classic callback's request
 * and the callback ignores user aborts (ignore_user_abort(true)): connection_aborted() is true
 * from now on and it runs to its end; false: it is interrupted as an async handler is. */
bool phpa_classic_abort(phpa_worker_req *r);
/* classic_vars.c: the worker file as the script in r's $_SERVER (SCRIPT_NAME, PATH_INFO, ...). */
void phpa_classic_script_vars(phpa_worker_req *r, zval *server);
/* classic_worker.c, at module startup: notes the callback's ignore_user_abort changes. */
void phpa_classic_worker_minit(void);
/* classic_functions.c: PHP's default Content-Type (default_mimetype, default_charset) when the
 * callback set none, as PHP sends it for a script; before the head goes out. */
void phpa_classic_default_type(phpa_worker_req *r);
/* classic_functions.c, at module startup: flush() streams a classic callback's response. */
void phpa_classic_minit(void);

/* worker_limits.c */
/* Installs the interrupt and containment policy on this thread (guard.c). */
void phpa_limits_thread_start(void);
/* True when JS cancelled this job before it started (drop it unanswered). */
bool phpa_limits_skip_job(const phpa_job *job);
/* The request got its coroutine: its deadline is set (the timer waits for a suspension). */
void phpa_limits_request_started(phpa_worker_req *r);
/* Its coroutine suspended: its deadline waits in a timer from now on (once; a running handler
 * is the watchdog's, and the timer acts only on a suspended one). */
void phpa_limits_request_suspended(phpa_worker_req *r);
/* set_time_limit(secs) inside its running handler: the deadline becomes now + secs, never later
 * than request_timeout's (secs <= 0: request_timeout's). */
void phpa_limits_set_time_limit(phpa_worker_req *r, zend_long secs);
/* Its request ended (normally or not): the deadline timer is disarmed. */
void phpa_limits_request_done(phpa_worker_req *r);
/* Each tick, before the ring is drained: cancelled ids of suspended handlers are matched and
 * those handlers interrupted (they unwind when resumed). */
void phpa_limits_tick(void);
/* Right after the handler returned: bails out (never returns) after a fatal error that needs a
 * restart; returns true, with the exception cleared, when the handler unwound from a fatal
 * error of its own (500 sent), a timeout (504 sent) or a client abort (response discarded). */
bool phpa_limits_after_handler(phpa_worker_req *r);

#endif
