/*
 * The server layer of php/: requests and responses (FrankenPHP\*), and the kinds of PHP
 * thread that serve them: the async worker (async_worker.c) and classic scripts (scripts.c, a
 * whole PHP request per HTTP request); a classic worker would be a sibling. This is what
 * php/embed/ sees of
 * it; it includes only the async layer (and through it the runtime).
 */
#ifndef PHPA_SERVER_H
#define PHPA_SERVER_H

#include "async/async.h"

#include <SAPI.h>

/* Module startup: the FrankenPHP\* classes and the upload function hooks (classes.c). */
void phpa_server_minit(void);

/* ---- the async worker: one coroutine per request (async_worker.c) ------------------------- */

/* Once per interpreter start on the PHP thread, before the worker file runs. */
void phpa_worker_thread_start(void);
void phpa_worker_thread_stop(void);
/* The worker file registered its handler (HttpServer::onRequest). */
bool phpa_worker_has_handler(void);
void phpa_worker_drop_handler(void);

typedef struct {
	bool clean;      /* false: a fatal error (bailout); every request it held was failed */
	bool stopping;   /* the stop sentinel arrived */
	bool recycling;  /* max_requests reached, or a contained out-of-memory error leaked */
	bool after_oom;  /* recycling because of an out-of-memory error */
	uint64_t served; /* requests started since the interpreter started */
} phpa_worker_outcome;

/* Serves requests from the thread's ring until the sentinel arrived, max_requests was reached
 * or a fatal error happened, and every coroutine finished (or was failed). */
void phpa_worker_run(phpa_worker_outcome *out);
/* Before the interpreter goes: frames still with the host are detached, the coroutines and the
 * Async\ bookkeeping dropped. */
void phpa_worker_shutdown(bool after_fatal);

/* ---- the classic worker: the worker file loops on frankenphp_handle_request() ------------ */
/* (classic_worker.c) Once per interpreter start, after phpa_worker_thread_start() and before
 * the worker file runs (it serves the requests); first: the thread's first start (READY is
 * reported at the first frankenphp_handle_request()). */
void phpa_classic_begin(bool first);
/* The worker file called frankenphp_handle_request() (it booted). */
bool phpa_classic_looped(void);
/* Once the worker file is over (returned, or a fatal error ended it): how its run ended. */
void phpa_classic_outcome(phpa_worker_outcome *out);

/* SAPI output (echo) and header() of the running request. False when no request's handler
 * runs (or its response ended): the caller decides where the bytes go. */
bool phpa_worker_output(const char *str, size_t len);
bool phpa_worker_header(const char *line, size_t len, int op);
/* ---- classic scripts: one PHP request per HTTP request (scripts.c, scripts_io.c) ----------- */

/* The thread's life in PHPA_MODE_SCRIPTS (reactor open): READY, then a script per job until
 * the sentinel. startup: php_request_startup() as the embed layer wraps it (SIGPROF kept). */
void phpa_scripts_thread_main(int thread, zend_result (*startup)(void));
/* A script request runs on this thread: the SAPI callbacks below are its. */
bool phpa_scripts_active(void);
/* NTS: the process's working directory and umask are Node's too; the calling PHP thread takes
 * its own (Linux unshare(CLONE_FS)) so that PHP's chdir() to a script's directory, or a
 * script's chdir()/umask(), cannot move Node's. Where that is refused: SAPI_OPTION_NO_CHDIR
 * (`who` run in the server's directory), a warning, false. ZTS: nothing to do. */
bool phpa_own_working_directory(const char *who);
size_t phpa_scripts_ub_write(const char *str, size_t len);
void phpa_scripts_flush(void);
void phpa_scripts_send_headers(sapi_headers_struct *headers);
size_t phpa_scripts_read_post(char *buf, size_t len);
char *phpa_scripts_read_cookies(void);
void phpa_scripts_register_variables(zval *track_vars);
/* max_execution_time changed at runtime (ini_set(), set_time_limit()): the script's new limit. */
void phpa_scripts_set_time_limit(zend_long secs);

/* SAPI read_post: php://input of the running request (0 outside one). */
size_t phpa_request_state_read_post(char *buf, size_t len);
/* SAPI register_variables: $_SERVER made while a request runs gets that request's variables. */
void phpa_request_state_register_variables(zval *track_vars);

#endif
