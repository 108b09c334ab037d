/*
 * Classic scripts (PHPA_MODE_SCRIPTS), shared by scripts.c (the thread's loop, one PHP request
 * lifecycle per HTTP request, time limits and client aborts) and scripts_io.c (what the SAPI
 * callbacks do for the running script: its input, its $_SERVER, its status, headers and body
 * on their way to the host as frames). php/server/ only.
 */
#ifndef PHPA_SERVER_SCRIPTS_H
#define PHPA_SERVER_SCRIPTS_H

#include "server/response.h"
/* After response.h: php.h must come before the first system header (it sets _GNU_SOURCE). */
#include "server/envelope.h"

/* The request a classic-scripts thread serves now. malloc'd (it outlives PHP's request heap:
 * the last frame goes out after php_request_shutdown()), one per thread at a time. */
typedef struct phpa_script_req {
	uint64_t id;
	phpa_job *job;       /* owns the envelope's bytes */
	phpa_envelope env;
	/* NUL-terminated copies PHP keeps pointers to (SG(request_info)) for the request's life. */
	char *method, *uri, *query, *content_type, *filename, *cookies;
	size_t body_read;    /* php://input / read_post offset into env.body */

	/* Output. head: status and headers captured from SAPI (send_headers), in frame layout. */
	bool head_captured;
	bool head_sent;      /* a frame with the head went to the host: the response is streaming */
	int status;
	char *headers;
	size_t headers_len;
	uint32_t header_count;
	char *body;          /* malloc'd body bytes not yet handed to the host */
	size_t body_len, body_cap;
	phpa_stream *stream; /* set by the first non-final frame (back-pressure, client gone) */

	/* Limits. */
	bool running;        /* inside php_request_startup()..php_request_shutdown() */
	bool aborted;        /* the client went away (JS dropped the response) */
	bool timed_out;      /* request_timeout passed: answered 504 */
	uint64_t timeout_deadline_ns; /* request_timeout's; 0 = none */
	uint64_t limit_deadline_ns;   /* max_execution_time / set_time_limit()'s; 0 = none */
	zend_long limit_secs;
} phpa_script_req;


/* The script request of this thread, or NULL between requests. */
phpa_script_req *phpa_scripts_current(void);

/* scripts_io.c */
/* Hand what is pending to the host: the head unless sent, the buffered body; `last` ends the
 * response. A non-final frame may wait for the client to read (back-pressure). */
void phpa_scripts_send(phpa_script_req *r, bool last);
/* A 1xx head (headers_send(103)) with PHP's headers set so far, ahead of the response's own. */
void phpa_scripts_send_informational(phpa_script_req *r, int status);
/* Replace the response with a short error (status) when its head is not out yet; else cut it. */
void phpa_scripts_fail(phpa_script_req *r, int status);
/* The request's output is done with (frames sent or dropped): free what it held. */
void phpa_scripts_output_free(phpa_script_req *r);

#endif
