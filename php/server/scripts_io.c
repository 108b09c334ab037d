/*
 * The SAPI callbacks of a classic script (embed/sapi.c routes them here while one runs):
 * php://input and $_POST/$_FILES read the envelope's body (read_post), $_COOKIE its Cookie
 * header (read_cookies), $_SERVER gets the CGI variables (register_variables); PHP's own
 * header list (header(), setcookie(), http_response_code(), headers_list() all native) is
 * captured when PHP sends the headers (send_headers), and echo's bytes (ub_write) go out as
 * frames: buffered into one HEAD|END frame unless flush() or a large body streams them.
 *
 * Streaming: flush() sends the head and what is buffered as a non-final frame; so does a body
 * that grows past SCRIPT_FLUSH_AT (php-fpm writes its output as it comes too). Every non-final
 * frame is counted by a phpa_stream (frames.c hands frames back): above PHPA_STREAM_HWM unsent
 * bytes the script waits for the client, parked on the thread's notifier. A frame that comes
 * back unsent means the client went away: the connection counts as aborted
 * (connection_aborted(), and the script stops unless ignore_user_abort).
 */
#include "server/scripts.h"
#include "server/request_state.h"

#include <SAPI.h>
#include <main/php_main.h>

/* A body larger than this goes out without waiting for the script to end. */
#define SCRIPT_FLUSH_AT ((size_t)256 * 1024)

static void put_u32_bytes(char *p, const char *s, uint32_t len)
{
	memcpy(p, &len, sizeof len);
	memcpy(p + sizeof len, s, len);
}

static void append_header(phpa_script_req *r, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t need = r->headers_len + 8 + nlen + vlen;
	r->headers = phpa_realloc_array(r->headers, need, 1, "response headers");
	put_u32_bytes(r->headers + r->headers_len, name, (uint32_t)nlen);
	put_u32_bytes(r->headers + r->headers_len + 4 + nlen, value, (uint32_t)vlen);
	r->headers_len = need;
	r->header_count++;
}

/* PHP's header list ("Name: value" lines) appended to r->headers in frame layout. */
static void capture_headers(phpa_script_req *r, zend_llist *list)
{
	zend_llist_position pos;
	for (sapi_header_struct *sh = zend_llist_get_first_ex(list, &pos); sh; sh = zend_llist_get_next_ex(list, &pos)) {
		const char *line = sh->header;
		const char *colon = memchr(line, ':', sh->header_len);
		if (!colon || colon == line) continue; /* PHP keeps only "Name: value" lines here */
		const char *v = colon + 1, *end = line + sh->header_len;
		while (v < end && (*v == ' ' || *v == '\t')) v++;
		append_header(r, line, (size_t)(colon - line), v, (size_t)(end - v));
	}
}

/* ---- SAPI callbacks ----------------------------------------------------------------------- */

bool phpa_scripts_active(void) { return phpa_scripts_current() != NULL; }

void phpa_scripts_send_headers(sapi_headers_struct *h)
{
	phpa_script_req *r = phpa_scripts_current();
	if (!r || r->head_captured) return;
	r->head_captured = true;
	r->status = h->http_response_code ? h->http_response_code : 200;
	capture_headers(r, &h->headers);
}

void phpa_scripts_send_informational(phpa_script_req *r, int status)
{
	/* The head of the response is captured into r->headers: built aside, then put back. */
	char *saved = r->headers;
	const size_t saved_len = r->headers_len;
	const uint32_t saved_count = r->header_count;
	r->headers = NULL;
	r->headers_len = 0;
	r->header_count = 0;
	capture_headers(r, &SG(sapi_headers).headers);
	phpa_frame *f = phpa_calloc(sizeof(phpa_frame), "a response frame");
	f->id = r->id;
	f->thread = phpa_thread_index();
	f->flags = PHPA_FRAME_HEAD; /* with a 1xx status: informational (phpa_bridge.h) */
	f->status = status;
	f->headers = r->headers; /* the frame owns them */
	f->header_count = r->header_count;
	r->headers = saved;
	r->headers_len = saved_len;
	r->header_count = saved_count;
	phpa_host_send_frame(f);
}

/* Waits while too many streamed bytes are unsent (or until the client is gone, the request is
 * cancelled or one of its deadlines passes: the VM interrupt then acts). */
static void wait_drain(phpa_script_req *r)
{
	phpa_stream *st = r->stream;
	while (st && st->unsent > PHPA_STREAM_HWM && !st->gone && !r->aborted) {
		phpa_response_drain_released();
		if (st->unsent <= PHPA_STREAM_HWM || st->gone) break;
		phpa_guard_take_cancels();
		if (phpa_guard_any_cancelled() && phpa_guard_take_cancelled(r->id)) {
			r->aborted = true;
			break;
		}
		uint64_t now = phpa_now_ns(), d = 0;
		if (r->timeout_deadline_ns) d = r->timeout_deadline_ns;
		if (r->limit_deadline_ns && (!d || r->limit_deadline_ns < d)) d = r->limit_deadline_ns;
		if (d && now >= d) break;
		int ms = 100; /* re-checks the cancel list now and then (a cancel only sets vm_interrupt) */
		if (d && (d - now) / 1000000u < 100u) ms = (int)((d - now) / 1000000u) + 1;
		phpa_reactor_park(false, ms); /* watch_ring=false: a new job must not wake us */
	}
	if (st && st->gone) r->aborted = true;
}

void phpa_scripts_send(phpa_script_req *r, bool last)
{
	const bool head = !r->head_sent;
	phpa_frame *f = malloc(sizeof(phpa_frame) + sizeof(phpa_chunk));
	if (!f) phpa_out_of_memory("a response frame");
	f->id = r->id;
	f->thread = phpa_thread_index();
	f->flags = (last ? PHPA_FRAME_END : 0) | (head ? PHPA_FRAME_HEAD : 0);
	f->status = r->status ? r->status : 200;
	f->headers = NULL;
	f->header_count = 0;
	f->stream = NULL;
	f->nchunks = 0;
	if (head) {
		f->headers = r->headers; /* the frame owns them now */
		f->header_count = r->header_count;
		r->headers = NULL;
		r->headers_len = 0;
		r->header_count = 0;
		r->head_sent = true;
	}
	const size_t bytes = r->body_len;
	if (bytes) {
		f->chunks[0] = (phpa_chunk){r->body, bytes, NULL}; /* malloc'd: the host frees it */
		f->nchunks = 1;
		r->body = NULL;
		r->body_len = r->body_cap = 0;
	}
	if (!last) {
		if (!r->stream) {
			r->stream = phpa_calloc(sizeof(phpa_stream), "a response stream");
			r->stream->refs = 1;
			/* generation 0: a scripts thread never restarts its interpreter (frames.c counts). */
		}
		r->stream->refs++;
		r->stream->unsent += bytes;
		f->stream = r->stream;
	}
	phpa_host_send_frame(f);
	if (!last) wait_drain(r);
}

size_t phpa_scripts_ub_write(const char *str, size_t len)
{
	phpa_script_req *r = phpa_scripts_current();
	if (r->aborted) {
		/* As CGI SAPIs do when a write fails: connection_aborted() is true from now on, and
		 * the script ends here unless it asked to ignore user aborts. */
		php_handle_aborted_connection();
		return len;
	}
	if (r->body_len + len > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		while (cap < r->body_len + len) cap *= 2;
		r->body = phpa_realloc_array(r->body, cap, 1, "the response body");
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, str, len);
	r->body_len += len;
	if (r->body_len >= SCRIPT_FLUSH_AT && r->head_captured) {
		phpa_scripts_send(r, false);
		if (r->aborted) php_handle_aborted_connection();
	}
	return len;
}

void phpa_scripts_flush(void)
{
	phpa_script_req *r = phpa_scripts_current();
	/* flush() before any output has no head to send yet (header() still works after it). */
	if (!r->head_captured || r->aborted) return;
	phpa_scripts_send(r, false);
	if (r->aborted) php_handle_aborted_connection();
}

size_t phpa_scripts_read_post(char *buf, size_t len)
{
	phpa_script_req *r = phpa_scripts_current();
	if (!r || r->body_read >= r->env.body.len) return 0;
	size_t left = r->env.body.len - r->body_read;
	size_t n = left < len ? left : len;
	memcpy(buf, r->env.body.ptr + r->body_read, n);
	r->body_read += n;
	return n;
}

char *phpa_scripts_read_cookies(void)
{
	phpa_script_req *r = phpa_scripts_current();
	return r ? r->cookies : NULL;
}

static void put(HashTable *ht, const char *key, const char *v, size_t vlen)
{
	zval zv;
	if (vlen) ZVAL_STRINGL(&zv, v, vlen);
	else ZVAL_EMPTY_STRING(&zv);
	zend_hash_str_update(ht, key, strlen(key), &zv);
}

void phpa_scripts_register_variables(zval *track_vars)
{
	phpa_script_req *r = phpa_scripts_current();
	if (!r || Z_TYPE_P(track_vars) != IS_ARRAY) return;
	HashTable *ht = Z_ARRVAL_P(track_vars);
	/* Headers (HTTP_*, CONTENT_TYPE, CONTENT_LENGTH), REQUEST_*, QUERY_STRING, REMOTE_*,
	 * SERVER_NAME/PORT/PROTOCOL, HTTPS: as the async worker's $_SERVER (request_vars.c). */
	phpa_request_vars_add(ht, &r->env, sapi_get_request_time());
	const phpa_bytes root = r->env.doc_root, name = r->env.script_name, info = r->env.path_info;
	put(ht, "GATEWAY_INTERFACE", "CGI/1.1", 7);
	put(ht, "SERVER_SOFTWARE", "phpasync", 8);
	put(ht, "DOCUMENT_ROOT", root.ptr, root.len);
	put(ht, "SCRIPT_FILENAME", r->env.script_filename.ptr, r->env.script_filename.len);
	put(ht, "SCRIPT_NAME", name.ptr, name.len);
	/* PHP_SELF is SCRIPT_NAME + PATH_INFO; PATH_TRANSLATED maps PATH_INFO under the root. */
	zend_string *self = zend_string_concat2(name.ptr ? name.ptr : "", name.len, info.ptr ? info.ptr : "", info.len);
	zval zv;
	ZVAL_STR(&zv, self);
	zend_hash_str_update(ht, "PHP_SELF", sizeof("PHP_SELF") - 1, &zv);
	if (info.len) {
		put(ht, "PATH_INFO", info.ptr, info.len);
		ZVAL_STR(&zv, zend_string_concat2(root.ptr ? root.ptr : "", root.len, info.ptr, info.len));
		zend_hash_str_update(ht, "PATH_TRANSLATED", sizeof("PATH_TRANSLATED") - 1, &zv);
	}
}

/* ---- errors and the end ------------------------------------------------------------------- */

void phpa_scripts_fail(phpa_script_req *r, int status)
{
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
	if (r->head_sent) {
		/* The status line is out already: the host cuts the connection (incomplete response). */
		phpa_frame *f = phpa_calloc(sizeof(phpa_frame), "a response frame");
		f->id = r->id;
		f->thread = phpa_thread_index();
		f->flags = PHPA_FRAME_END | PHPA_FRAME_ABORT;
		f->status = r->status;
		phpa_host_send_frame(f);
		return;
	}
	free(r->headers);
	r->headers = NULL;
	r->headers_len = 0;
	r->header_count = 0;
	r->status = status;
	static const char ct[] = "text/plain; charset=utf-8";
	append_header(r, "Content-Type", 12, ct, sizeof ct - 1);
	const char *text = status == 504 ? "Gateway Timeout\n" : status == 400 ? "Bad Request\n" : "Internal Server Error\n";
	r->body = strdup(text);
	if (!r->body) phpa_out_of_memory("an error page");
	r->body_len = r->body_cap = strlen(text);
	phpa_scripts_send(r, true);
}

void phpa_scripts_output_free(phpa_script_req *r)
{
	free(r->headers);
	free(r->body);
	r->headers = r->body = NULL;
	phpa_stream_unref(r->stream);
	r->stream = NULL;
}
