/*
 * Per-request PHP state: what PHP keeps per request (SAPI headers and status, output state,
 * error state, ini changes, time limit, superglobals, php://input) belongs to the request's
 * coroutine, not to the thread. See request_state.c for what is swapped and why.
 *
 * Life of a state: _init() when a request coroutine gets its job (scheduler context), then
 * _enter()/_leave() around every switch into and out of that coroutine, _destroy() when the
 * request is over (after its last _leave()). _bailout() after a fatal error, whose interpreter
 * restart frees what the entered state held.
 */
#ifndef PHPA_REQUEST_STATE_H
#define PHPA_REQUEST_STATE_H

#include "../phpa_internal.h"

typedef struct phpa_request_state phpa_request_state;

/* Once, inside PHP's module startup: wraps the header functions and max_execution_time. */
void phpa_request_state_minit(void);

/* co is a request coroutine that has its request, response and deadline. The state is stored in
 * co->reqstate. Runs outside every coroutine (the thread's neutral state is live). */
void phpa_request_state_init(phpa_coroutine *co);
/* Around every switch into / out of co; nothing for a coroutine without a state (Async\spawn). */
void phpa_request_state_enter(phpa_coroutine *co);
/* Inside co's fiber, before its handler runs: what PHP keeps per fiber (error_reporting). */
void phpa_request_state_begin(phpa_coroutine *co);
void phpa_request_state_leave(phpa_coroutine *co);
/* The request is over; co->reqstate is NULL afterwards. */
void phpa_request_state_destroy(phpa_coroutine *co);
/* zend_catch after a fatal error: the thread's own values go back into the globals; the
 * request's memory is left to the request shutdown that follows. */
void phpa_request_state_bailout(void);

/* response.c: the status and headers of `response` went out (flush() or end()). */
void phpa_request_state_head_sent(zend_object *response);
/* response.c: setStatus()/redirect() set `status`: http_response_code() reads it back. */
void phpa_request_state_status_set(zend_object *response, int status);
/* sapi.c register_variables: $_SERVER made while a request runs gets that request's variables. */
void phpa_request_state_register_variables(zval *track_vars);
/* sapi.c read_post: php://input of the running request. */
size_t phpa_request_state_read_post(char *buf, size_t len);

#endif
