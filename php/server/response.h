/*
 * FrankenPHP\Response's state, shared by response.c (the object and its methods) and frames.c
 * (its bytes on their way to the host: frames, streams, back-pressure). php/server/ only.
 */
#ifndef PHPA_SERVER_RESPONSE_H
#define PHPA_SERVER_RESPONSE_H

#include "server/http.h"

/* Unsent bytes above which flush()/write() of a streamed response wait for the socket
 * (so one 1 MiB write may be in flight while the handler produces the next). */
#define PHPA_STREAM_HWM ((size_t)1 << 20)

/* Shared by a response and its in-flight non-final frames (malloc'd, owning thread only):
 * the response may be freed before its last frame comes back. */
typedef struct phpa_stream {
	uint32_t refs;          /* the response + every frame in flight */
	size_t unsent;          /* body bytes of frames JS has not reported written */
	phpa_coroutine *waiter; /* coroutine suspended in flush()/write(), or NULL */
	bool gone;              /* a frame came back unsent: the client closed the connection */
	uint32_t generation;    /* interpreter it belongs to (see phpa_response_interpreter_gone) */
} phpa_stream;


typedef struct {
	uint64_t id;
	int thread;
	int status;
	bool ended;
	bool head_sent;      /* flush() sent status and headers: the response is streaming */
	phpa_stream *stream; /* created by the first flush() */
	HashTable headers;   /* lower-case name => [0 => name as set, 1 => [values...]] */
	phpa_chunk *chunks;  /* body chunks in order: chunks_inline, or malloc'd past it */
	uint32_t nchunks, chunks_cap, nowned;
	phpa_chunk chunks_inline[2]; /* most responses are one run or one kept string: no malloc */
	char *run;           /* copy run being appended to (becomes a chunk when closed) */
	size_t run_len, run_cap;
	zend_object std;
} phpa_response;

static inline phpa_response *phpa_response_from(zend_object *o)
{
	return (phpa_response *)((char *)o - XtOffsetOf(phpa_response, std));
}

/* The body being assembled: append copies bytes into the current run; push adds a chunk
 * (owner: the zend_string it references, or NULL for malloc'd bytes); discard drops it all. */
void phpa_body_push(phpa_response *r, const char *ptr, size_t len, void *owner);
void phpa_body_close_run(phpa_response *r);
void phpa_body_append(phpa_response *r, const char *str, size_t len);
void phpa_body_discard(phpa_response *r);
/* Hand what is pending to the host (flags: PHPA_FRAME_END, PHPA_FRAME_ABORT). */
void phpa_frame_send(phpa_response *r, uint32_t flags);
void phpa_frame_send_final(phpa_response *r);
/* A 1xx head with the headers set so far, before the response's own (headers_send(103)). */
void phpa_frame_send_informational(phpa_response *r, int status);
/* Back-pressure of a streamed response. False with an exception pending. */
bool phpa_stream_check_client(phpa_response *r);
bool phpa_stream_wait_drain(phpa_response *r);
void phpa_stream_unref(phpa_stream *st);

#endif
