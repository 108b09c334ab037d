/*
 * Per-request PHP state: what PHP keeps per request (SAPI headers and status, output state,
 * error state, ini changes, time limit, superglobals, php://input) belongs to the request, not
 * to the thread. php/server/ only; see request_state.c for what is swapped and why.
 *
 * Files: request_state.c (the swap and the life of a state), request_ini.c (the ini entries a
 * request changed), request_vars.c ($_SERVER's CGI variables), request_functions.c (the PHP
 * functions wrapped: header functions, headers_list(), max_execution_time).
 *
 * Life of a state: _init() when the async worker takes the request (outside every coroutine),
 * then _enter()/_leave() around every switch into and out of its coroutine, _begin() inside
 * the coroutine before the handler runs, _destroy() when the request is over (after its last
 * _leave()). _bailout() after a fatal error, whose interpreter restart frees what the entered
 * state held.
 */
#ifndef PHPA_SERVER_REQUEST_STATE_H
#define PHPA_SERVER_REQUEST_STATE_H

#include "server/worker.h"
/* After worker.h: php.h must come before the first system header (it sets _GNU_SOURCE). */
#include "server/envelope.h"

typedef struct phpa_request_state phpa_request_state;

/* ---- request_state.c ----------------------------------------------------------------------- */

/* Once, inside PHP's module startup, after the FrankenPHP\* classes are registered. */
void phpa_request_state_minit(void);

/* r has its request, response and deadline. The state is stored in r->state. Runs outside
 * every coroutine (the thread's neutral state is live). */
void phpa_request_state_init(phpa_worker_req *r);
/* Around every switch into / out of r's coroutine. */
void phpa_request_state_enter(phpa_worker_req *r);
void phpa_request_state_leave(phpa_worker_req *r);
/* Inside r's coroutine, before its handler runs: what PHP keeps per fiber (error_reporting). */
void phpa_request_state_begin(phpa_worker_req *r);
/* The request is over; r->state is NULL afterwards. */
void phpa_request_state_destroy(phpa_worker_req *r);
/* zend_catch after a fatal error: the thread's own values go back into the globals; the
 * request's memory is left to the request shutdown that follows. */
void phpa_request_state_bailout(void);
/* Before every interpreter start on the thread (its symbol table is a new one). */
void phpa_request_state_interpreter_start(void);
/* The request whose state is in the globals now, or NULL (the thread's own state). */
phpa_worker_req *phpa_request_state_entered(void);

/* response.c: the status and headers of `response` went out (flush() or end()). */
void phpa_request_state_head_sent(zend_object *response);
/* response.c: setStatus()/redirect() set `status`: http_response_code() reads it back. */
void phpa_request_state_status_set(zend_object *response, int status);

/* ---- request_ini.c: the ini entries a request changed (*ini: name => value; NULL: none) --- */

/* Entering: the thread's changed entries are noted and the request's re-applied. */
void phpa_request_ini_enter(HashTable *ini);
/* Leaving: what the request changed goes into *ini and the thread's values come back. */
void phpa_request_ini_leave(HashTable **ini);
void phpa_request_ini_free(HashTable *ini);
/* After a fatal error: the thread's noted values went with the heap. */
void phpa_request_ini_bailout(void);
/* True while ini values are put back or re-applied by us (not by user code). */
bool phpa_request_ini_applying(void);

/* ---- request_vars.c ------------------------------------------------------------------------ */

/* The request's CGI variables ($_SERVER), over what ht holds (the worker's $_SERVER). */
void phpa_request_vars_add(HashTable *ht, const phpa_envelope *env, double now);

/* ---- request_functions.c ------------------------------------------------------------------- */

/* Wraps the header functions, headers_list(), header_register_callback() and the
 * max_execution_time ini handler (from phpa_request_state_minit()). */
void phpa_request_functions_minit(void);

#endif
