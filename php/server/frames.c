/*
 * A response's bytes on their way to the host. Short writes are copied into one malloc'd run;
 * writes of at least config->copy_threshold bytes keep a reference to the PHP string until
 * end()/flush(), which copy the frame's body once into a malloc'd block that the host owns and
 * frees when the socket is done with it (no PHP memory is ever lent to Node: see
 * phpa_frame_send()).
 *
 * Streaming: the first flush() sends the head and the buffered body as a non-final frame;
 * from then on every write() is sent at once. Each non-final frame is tracked by the
 * response's phpa_stream (see phpa_bridge.h): while more than PHPA_STREAM_HWM bytes are
 * unsent (frames JS has not finished writing), flush() and write() suspend the coroutine
 * until the host hands frames back.
 */
#include "server/response.h"
#include "server/request_state.h"

#include <zend_exceptions.h>

/* Counts interpreter restarts on this thread. A frame may come back after the restart that
 * destroyed its response's coroutine (and, after a fatal error, perhaps without the response's
 * free_obj having run): its stream's waiter must then not be woken. */
static __thread uint32_t interpreter_generation;

void phpa_response_interpreter_gone(void) { interpreter_generation++; }


void phpa_body_push(phpa_response *r, const char *ptr, size_t len, void *owner)
{
	if (r->nchunks == r->chunks_cap) {
		uint32_t cap = r->chunks_cap * 2;
		if (r->chunks == r->chunks_inline) {
			phpa_chunk *heap = phpa_realloc_array(NULL, cap, sizeof(phpa_chunk), "response chunks");
			memcpy(heap, r->chunks_inline, r->nchunks * sizeof(phpa_chunk));
			r->chunks = heap;
		} else {
			r->chunks = phpa_realloc_array(r->chunks, cap, sizeof(phpa_chunk), "response chunks");
		}
		r->chunks_cap = cap;
	}
	r->chunks[r->nchunks++] = (phpa_chunk){ptr, len, owner};
	if (owner) r->nowned++;
}

void phpa_body_close_run(phpa_response *r)
{
	if (r->run_len == 0) return;
	phpa_body_push(r, r->run, r->run_len, NULL);
	r->run = NULL;
	r->run_len = r->run_cap = 0;
}

void phpa_body_append(phpa_response *r, const char *str, size_t len)
{
	if (r->run_len + len > r->run_cap) {
		size_t cap = r->run_cap ? r->run_cap : 256;
		while (cap < r->run_len + len) cap *= 2;
		r->run = phpa_realloc_array(r->run, cap, 1, "the response body");
		r->run_cap = cap;
	}
	memcpy(r->run + r->run_len, str, len);
	r->run_len += len;
}

/* Drop body chunks never sent (a response replaced by an error page, or freed unsent). */
void phpa_body_discard(phpa_response *r)
{
	for (uint32_t i = 0; i < r->nchunks; i++) {
		if (r->chunks[i].owner) zend_string_release((zend_string *)r->chunks[i].owner);
		else free((void *)r->chunks[i].ptr);
	}
	r->nchunks = r->nowned = 0;
	free(r->run);
	r->run = NULL;
	r->run_len = r->run_cap = 0;
}

static void put_u32_bytes(char **p, const char *s, uint32_t len)
{
	memcpy(*p, &len, sizeof len);
	*p += sizeof len;
	memcpy(*p, s, len);
	*p += len;
}

/* The response's headers in frame layout (u32 length + bytes, name then value, per value);
 * malloc'd, NULL when there are none. */
static char *encode_headers(HashTable *headers, uint32_t *count)
{
	size_t size = 0;
	uint32_t n = 0;
	zval *entry;
	ZEND_HASH_FOREACH_VAL(headers, entry) {
		zend_string *name = Z_STR_P(zend_hash_index_find(Z_ARRVAL_P(entry), 0));
		zval *v;
		ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(zend_hash_index_find(Z_ARRVAL_P(entry), 1)), v) {
			size += 8 + ZSTR_LEN(name) + Z_STRLEN_P(v);
			n++;
		} ZEND_HASH_FOREACH_END();
	} ZEND_HASH_FOREACH_END();
	*count = n;
	if (!n) return NULL;
	char *out = malloc(size), *p = out;
	if (!out) phpa_out_of_memory("response headers");
	ZEND_HASH_FOREACH_VAL(headers, entry) {
		zend_string *name = Z_STR_P(zend_hash_index_find(Z_ARRVAL_P(entry), 0));
		zval *v;
		ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(zend_hash_index_find(Z_ARRVAL_P(entry), 1)), v) {
			put_u32_bytes(&p, ZSTR_VAL(name), (uint32_t)ZSTR_LEN(name));
			put_u32_bytes(&p, Z_STRVAL_P(v), (uint32_t)Z_STRLEN_P(v));
		} ZEND_HASH_FOREACH_END();
	} ZEND_HASH_FOREACH_END();
	return out;
}

void phpa_stream_unref(phpa_stream *st)
{
	if (st && --st->refs == 0) free(st);
}

void phpa_php_frame_released(phpa_frame *f)
{
	/* The body bytes were the host's (see phpa_frame_send); it freed them already. */
	phpa_stream *st = f->stream;
	if (st && st->generation != interpreter_generation) {
		phpa_stream_unref(st);
	} else if (st) {
		size_t bytes = 0;
		for (uint32_t c = 0; c < f->nchunks; c++) bytes += f->chunks[c].len;
		st->unsent -= bytes < st->unsent ? bytes : st->unsent;
		if (f->flags & PHPA_FRAME_UNSENT) st->gone = true;
		if (st->waiter && (st->unsent <= PHPA_STREAM_HWM || st->gone)) {
			phpa_coroutine *co = st->waiter;
			st->waiter = NULL;
			phpa_sched_wake(co);
		}
		phpa_stream_unref(st);
	}
	free(f);
}

void phpa_response_drain_released(void)
{
	phpa_frame *frames[64];
	size_t n;
	while ((n = phpa_host_take_released(phpa_thread_index(), frames, 64)) > 0) {
		for (size_t i = 0; i < n; i++) phpa_php_frame_released(frames[i]);
	}
}

/* Hand what is pending to the host: the head (status, headers) unless flush() sent it
 * already, and the buffered body. flags: PHPA_FRAME_END for the last frame (plus
 * PHPA_FRAME_ABORT when a streamed response failed). */
void phpa_frame_send(phpa_response *r, uint32_t flags)
{
	phpa_body_close_run(r);
	const bool head = !r->head_sent;
	const bool last = (flags & PHPA_FRAME_END) != 0;
	phpa_frame *f = malloc(sizeof(phpa_frame) + r->nchunks * sizeof(phpa_chunk));
	if (!f) phpa_out_of_memory("a response frame");
	f->id = r->id;
	f->thread = r->thread;
	f->flags = flags | (head ? PHPA_FRAME_HEAD : 0);
	f->status = r->status;
	f->headers = NULL;
	f->header_count = 0;
	f->stream = NULL;

	if (head) f->headers = encode_headers(&r->headers, &f->header_count);
	size_t bytes = 0;
	for (uint32_t i = 0; i < r->nchunks; i++) bytes += r->chunks[i].len;
	if (r->nowned > 0) {
		/* Strings write() kept a reference to are copied here, once, with the rest of the
		 * frame's body into one block the host owns: the frame may outlive the request and
		 * the interpreter (a client that reads slowly), and PHP's heap must not wait for it
		 * (a restart would stall) nor carry it (it would count against memory_limit). */
		char *block = phpa_host_body_alloc(bytes);
		if (!block) phpa_out_of_memory("a response body");
		size_t at = 0;
		for (uint32_t i = 0; i < r->nchunks; i++) {
			phpa_chunk *c = &r->chunks[i];
			memcpy(block + at, c->ptr, c->len);
			at += c->len;
			if (c->owner) zend_string_release((zend_string *)c->owner);
			else free((void *)c->ptr);
		}
		r->chunks[0] = (phpa_chunk){block, bytes, PHPA_HOST_BLOCK};
		r->nchunks = 1;
		r->nowned = 0;
	}
	f->nchunks = r->nchunks;
	if (r->nchunks) memcpy(f->chunks, r->chunks, r->nchunks * sizeof(phpa_chunk));
	/* The frame owns the chunks now. */
	r->nchunks = 0;
	if (head) phpa_request_state_head_sent(&r->std); /* headers_sent() is true from now on */
	if (!last) {
		if (!r->stream) {
			r->stream = calloc(1, sizeof(phpa_stream));
			if (!r->stream) phpa_out_of_memory("a response stream");
			r->stream->refs = 1;
			r->stream->generation = interpreter_generation;
		}
		r->stream->refs++;
		r->stream->unsent += bytes;
		f->stream = r->stream;
		r->head_sent = true;
	} else {
		r->ended = true;
	}
	phpa_host_send_frame(f);
}

void phpa_frame_send_final(phpa_response *r) { phpa_frame_send(r, PHPA_FRAME_END); }

/* An informational head (status 100..199: headers_send(103), Early Hints) with the headers set
 * so far, ahead of the response's own head: a HEAD frame with a 1xx status, no body, no END
 * (phpa_bridge.h). The response is unchanged: its headers stay set for the final head. */
void phpa_frame_send_informational(phpa_response *r, int status)
{
	phpa_frame *f = malloc(sizeof(phpa_frame));
	if (!f) phpa_out_of_memory("a response frame");
	f->id = r->id;
	f->thread = r->thread;
	f->flags = PHPA_FRAME_HEAD;
	f->status = status;
	f->headers = encode_headers(&r->headers, &f->header_count);
	f->nchunks = 0;
	f->stream = NULL;
	phpa_host_send_frame(f);
}

/* Back-pressure: suspend the coroutine while too many streamed bytes are unsent. Returns
 * false when an exception is pending (the coroutine was cancelled or is being destroyed). */
bool phpa_stream_check_client(phpa_response *r)
{
	if (r->stream && r->stream->gone) {
		zend_throw_error(NULL, "The client closed the connection");
		return false;
	}
	return true;
}

bool phpa_stream_wait_drain(phpa_response *r)
{
	phpa_stream *st = r->stream;
	while (st && st->unsent > PHPA_STREAM_HWM) {
		if (!phpa_stream_check_client(r)) return false;
		if (!phpa_sched_current()) return true; /* not in a coroutine: nothing to wait with */
		st->waiter = phpa_sched_current();
		bool ok = phpa_sched_suspend();
		st->waiter = NULL;
		if (!ok) return false;
	}
	return phpa_stream_check_client(r);
}
