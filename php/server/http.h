/*
 * FrankenPHP\Request and FrankenPHP\Response (request.c, response.c), for the files of
 * php/server/ only.
 */
#ifndef PHPA_SERVER_HTTP_H
#define PHPA_SERVER_HTTP_H

#include "server/server.h"

extern zend_class_entry *phpa_ce_request;
extern zend_class_entry *phpa_ce_response;

/* request.c: NULL when the envelope is malformed (the job is then still the caller's). */
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
/* Hand frames JS finished with back to their streams (owning thread only). */
void phpa_response_drain_released(void);

/* The response of the request whose handler runs now, when `request` is its Request. */
zend_object *phpa_worker_response_of(zend_object *request);

#endif
