/*
 * FrankenPHP\Response: status, headers and a body assembled as chunks. Short writes are
 * copied into one malloc'd run; writes of at least config->copy_threshold bytes keep a
 * reference to the PHP string until end()/flush(), which copy the frame's body once into a
 * malloc'd block that the host owns and frees when the socket is done with it (no PHP memory
 * is ever lent to Node: see send_frame()).
 *
 * Streaming: the first flush() sends the head and the buffered body as a non-final frame;
 * from then on every write() is sent at once. Each non-final frame is tracked by the
 * response's phpa_stream (see phpa_bridge.h): while more than PHPA_STREAM_HWM bytes are
 * unsent (frames JS has not finished writing), flush() and write() suspend the coroutine
 * until the host hands frames back.
 */
#include "phpa_internal.h"

#include <zend_exceptions.h>

#include "server/request_state.h"

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

/* Counts interpreter restarts on this thread. A frame may come back after the restart that
 * destroyed its response's coroutine (and, after a fatal error, perhaps without the response's
 * free_obj having run): its stream's waiter must then not be woken. */
static __thread uint32_t interpreter_generation;

void phpa_response_interpreter_gone(void) { interpreter_generation++; }

typedef struct {
	uint64_t id;
	int thread;
	int status;
	bool ended;
	bool head_sent;      /* flush() sent status and headers: the response is streaming */
	phpa_stream *stream; /* created by the first flush() */
	HashTable headers;   /* lower-case name => [0 => name as set, 1 => [values...]] */
	phpa_chunk *chunks;  /* body chunks in order; malloc'd */
	uint32_t nchunks, chunks_cap, nowned;
	char *run;           /* copy run being appended to (becomes a chunk when closed) */
	size_t run_len, run_cap;
	zend_object std;
} phpa_response;

zend_class_entry *phpa_ce_response;
static zend_object_handlers response_handlers;

static inline phpa_response *from_obj(zend_object *o) { return (phpa_response *)((char *)o - XtOffsetOf(phpa_response, std)); }
#define THIS_RESPONSE() from_obj(Z_OBJ_P(ZEND_THIS))

static void push_chunk(phpa_response *r, const char *ptr, size_t len, void *owner)
{
	if (r->nchunks == r->chunks_cap) {
		r->chunks_cap = r->chunks_cap ? r->chunks_cap * 2 : 4;
		r->chunks = realloc(r->chunks, r->chunks_cap * sizeof(phpa_chunk));
		if (!r->chunks) zend_error_noreturn(E_ERROR, "phpasync: out of memory for response chunks");
	}
	r->chunks[r->nchunks++] = (phpa_chunk){ptr, len, owner};
	if (owner) r->nowned++;
}

static void close_run(phpa_response *r)
{
	if (r->run_len == 0) return;
	push_chunk(r, r->run, r->run_len, NULL);
	r->run = NULL;
	r->run_len = r->run_cap = 0;
}

static void append_copy(phpa_response *r, const char *str, size_t len)
{
	if (r->run_len + len > r->run_cap) {
		size_t cap = r->run_cap ? r->run_cap : 256;
		while (cap < r->run_len + len) cap *= 2;
		char *p = realloc(r->run, cap);
		if (!p) zend_error_noreturn(E_ERROR, "phpasync: out of memory for the response body");
		r->run = p;
		r->run_cap = cap;
	}
	memcpy(r->run + r->run_len, str, len);
	r->run_len += len;
}

/* Drop body chunks never sent (a response replaced by an error page, or freed unsent). */
static void discard_body(phpa_response *r)
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

static void stream_unref(phpa_stream *st)
{
	if (st && --st->refs == 0) free(st);
}

void phpa_php_frame_released(phpa_frame *f)
{
	/* The body bytes were the host's (see send_frame); it freed them already. */
	phpa_stream *st = f->stream;
	if (st && st->generation != interpreter_generation) {
		stream_unref(st);
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
		stream_unref(st);
	}
	free(f);
}

/* Hand what is pending to the host: the head (status, headers) unless flush() sent it
 * already, and the buffered body. flags: PHPA_FRAME_END for the last frame (plus
 * PHPA_FRAME_ABORT when a streamed response failed). */
static void send_frame(phpa_response *r, uint32_t flags)
{
	close_run(r);
	const bool head = !r->head_sent;
	const bool last = (flags & PHPA_FRAME_END) != 0;
	phpa_frame *f = malloc(sizeof(phpa_frame) + r->nchunks * sizeof(phpa_chunk));
	if (!f) zend_error_noreturn(E_ERROR, "phpasync: out of memory for a response frame");
	f->id = r->id;
	f->thread = r->thread;
	f->flags = flags | (head ? PHPA_FRAME_HEAD : 0);
	f->status = r->status;
	f->headers = NULL;
	f->headers_len = 0;
	f->header_count = 0;
	f->stream = NULL;

	size_t size = 0;
	uint32_t count = 0;
	zval *entry;
	if (head) {
		ZEND_HASH_FOREACH_VAL(&r->headers, entry) {
			zend_string *name = Z_STR_P(zend_hash_index_find(Z_ARRVAL_P(entry), 0));
			zval *v;
			ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(zend_hash_index_find(Z_ARRVAL_P(entry), 1)), v) {
				size += 8 + ZSTR_LEN(name) + Z_STRLEN_P(v);
				count++;
			} ZEND_HASH_FOREACH_END();
		} ZEND_HASH_FOREACH_END();
	}
	if (count) {
		char *p = f->headers = malloc(size);
		if (!p) zend_error_noreturn(E_ERROR, "phpasync: out of memory for response headers");
		ZEND_HASH_FOREACH_VAL(&r->headers, entry) {
			zend_string *name = Z_STR_P(zend_hash_index_find(Z_ARRVAL_P(entry), 0));
			zval *v;
			ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(zend_hash_index_find(Z_ARRVAL_P(entry), 1)), v) {
				put_u32_bytes(&p, ZSTR_VAL(name), (uint32_t)ZSTR_LEN(name));
				put_u32_bytes(&p, Z_STRVAL_P(v), (uint32_t)Z_STRLEN_P(v));
			} ZEND_HASH_FOREACH_END();
		} ZEND_HASH_FOREACH_END();
		f->headers_len = size;
		f->header_count = count;
	}
	size_t bytes = 0;
	for (uint32_t i = 0; i < r->nchunks; i++) bytes += r->chunks[i].len;
	if (r->nowned > 0) {
		/* Strings write() kept a reference to are copied here, once, with the rest of the
		 * frame's body into one block the host owns: the frame may outlive the request and
		 * the interpreter (a client that reads slowly), and PHP's heap must not wait for it
		 * (a restart would stall) nor carry it (it would count against memory_limit). */
		char *block = phpa_host_body_alloc(bytes);
		if (!block) zend_error_noreturn(E_ERROR, "phpasync: out of memory for a response body of %zu bytes", bytes);
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
			if (!r->stream) zend_error_noreturn(E_ERROR, "phpasync: out of memory for a response stream");
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

static void send_final_frame(phpa_response *r) { send_frame(r, PHPA_FRAME_END); }

/* Back-pressure: suspend the coroutine while too many streamed bytes are unsent. Returns
 * false when an exception is pending (the coroutine was cancelled or is being destroyed). */
static bool check_client(phpa_response *r)
{
	if (r->stream && r->stream->gone) {
		zend_throw_error(NULL, "The client closed the connection");
		return false;
	}
	return true;
}

static bool wait_for_drain(phpa_response *r)
{
	phpa_stream *st = r->stream;
	while (st && st->unsent > PHPA_STREAM_HWM) {
		if (!check_client(r)) return false;
		if (!phpa_sched_current()) return true; /* not in a coroutine: nothing to wait with */
		st->waiter = phpa_sched_current();
		bool ok = phpa_sched_suspend();
		st->waiter = NULL;
		if (!ok) return false;
	}
	return check_client(r);
}

static bool is_token_char(unsigned char c)
{
	/* RFC 9110 tchar (c != 0: strchr() would find the terminator) */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool check_name_bytes(const char *name, size_t len, const char *prefix);

/* Node's rule for a header value (checkInvalidHeaderChar): tab, 0x20-0x7E and 0x80-0xFF.
 * Anything else makes Node's writeHead throw, so it is refused here, where the handler can
 * still catch it. Returns the offset of the first refused byte, or len when there is none. */
static size_t bad_value_byte(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) return i;
	}
	return len;
}

/* prefix names the PHP function for refusals that reach us through SAPI ("header(): "). */
static bool check_header_bytes(const char *name, size_t name_len, const char *value, size_t value_len, const char *prefix)
{
	if (!check_name_bytes(name, name_len, prefix)) return false;
	size_t at = bad_value_byte(value, value_len);
	if (at < value_len) {
		zend_value_error("%sHeader value for \"%.*s\" must not contain control characters (byte 0x%02X at offset %zu); "
			"only tab, bytes 0x20-0x7E and 0x80-0xFF are allowed",
			prefix, (int)name_len, name, (unsigned)(unsigned char)value[at], at);
		return false;
	}
	return true;
}

static bool check_header(zend_string *name, zend_string *value)
{
	return check_header_bytes(ZSTR_VAL(name), ZSTR_LEN(name), ZSTR_VAL(value), ZSTR_LEN(value), "");
}

static bool check_open(phpa_response *r)
{
	if (r->ended) {
		zend_throw_error(NULL, "The response has already ended");
		return false;
	}
	return true;
}

/* Status and headers can change until they are sent (end() or the first flush()). */
static bool check_head_open(phpa_response *r)
{
	if (!check_open(r)) return false;
	if (r->head_sent) {
		zend_throw_error(NULL, "The response headers have already been sent by flush()");
		return false;
	}
	return true;
}

static bool check_name_bytes(const char *name, size_t len, const char *prefix)
{
	if (len == 0) {
		zend_value_error("%sHeader name must not be empty", prefix);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!is_token_char((unsigned char)name[i])) {
			zend_value_error("%sHeader name \"%.*s\" is not a valid HTTP token", prefix, (int)len, name);
			return false;
		}
	}
	return true;
}

static bool check_name(zend_string *name) { return check_name_bytes(ZSTR_VAL(name), ZSTR_LEN(name), ""); }

static void set_header(phpa_response *r, zend_string *name, zend_string *value, bool replace)
{
	zend_string *key = zend_string_tolower(name);
	zval *entry = zend_hash_find(&r->headers, key);
	if (!entry || replace) {
		zval e, list;
		array_init_size(&e, 2);
		add_index_str(&e, 0, zend_string_copy(name));
		array_init(&list);
		add_index_zval(&e, 1, &list);
		entry = zend_hash_update(&r->headers, key, &e);
	}
	add_next_index_str(zend_hash_index_find(Z_ARRVAL_P(entry), 1), zend_string_copy(value));
	zend_string_release(key);
}

/* ---- object lifecycle -------------------------------------------------------------------- */

static zend_object *response_create(zend_class_entry *ce)
{
	phpa_response *r = zend_object_alloc(sizeof(phpa_response), ce);
	zend_object_std_init(&r->std, ce);
	r->std.handlers = &response_handlers;
	r->status = 200;
	zend_hash_init(&r->headers, 4, NULL, ZVAL_PTR_DTOR, 0);
	return &r->std;
}

static void response_free(zend_object *obj)
{
	phpa_response *r = from_obj(obj);
	discard_body(r);
	free(r->chunks);
	if (r->stream) {
		r->stream->waiter = NULL;
		stream_unref(r->stream);
		r->stream = NULL;
	}
	zend_hash_destroy(&r->headers);
	zend_object_std_dtor(obj);
}

zend_object *phpa_response_new(uint64_t id, int thread)
{
	zend_object *o = response_create(phpa_ce_response);
	phpa_response *r = from_obj(o);
	r->id = id;
	r->thread = thread;
	return o;
}

void phpa_response_append_output(zend_object *response, const char *str, size_t len)
{
	append_copy(from_obj(response), str, len);
}

bool phpa_response_is_ended(zend_object *response) { return from_obj(response)->ended; }

void phpa_response_finish(zend_object *response)
{
	phpa_response *r = from_obj(response);
	if (!r->ended) send_final_frame(r);
}

void phpa_response_fail(zend_object *response, int status)
{
	phpa_response *r = from_obj(response);
	if (r->ended) return;
	discard_body(r);
	if (r->head_sent) {
		/* The status line is gone already: cut the stream so the client sees it incomplete. */
		send_frame(r, PHPA_FRAME_END | PHPA_FRAME_ABORT);
		return;
	}
	zend_hash_clean(&r->headers);
	r->status = status;
	zend_string *n = zend_string_init("Content-Type", sizeof("Content-Type") - 1, 0);
	zend_string *v = zend_string_init("text/plain; charset=utf-8", sizeof("text/plain; charset=utf-8") - 1, 0);
	set_header(r, n, v, true);
	zend_string_release(n);
	zend_string_release(v);
	/* issue 6: 504 for the request timeout (limits.c). */
	const char *body = status == 500 ? "Internal Server Error\n" : status == 504 ? "Gateway Timeout\n" : "Error\n";
	append_copy(r, body, strlen(body));
	send_final_frame(r);
}

void phpa_response_sapi_header(zend_object *response, const char *line, size_t len, int op)
{
	phpa_response *r = from_obj(response);
	if (r->head_sent) return; /* after flush(): too late, as header() after output */
	if (op == SAPI_HEADER_DELETE_ALL) {
		zend_hash_clean(&r->headers);
		return;
	}
	if (!line) return;
	const char *colon = memchr(line, ':', len);
	size_t name_len = colon ? (size_t)(colon - line) : len;
	zend_string *name = zend_string_init(line, name_len, 0);
	if (op == SAPI_HEADER_DELETE) {
		zend_string *key = zend_string_tolower(name);
		zend_hash_del(&r->headers, key);
		zend_string_release(key);
	} else if (op == SAPI_HEADER_REPLACE || op == SAPI_HEADER_ADD) {
		/* header() and setcookie() refuse CR, LF and NUL themselves; what Node would still
		 * refuse is thrown here, from inside the call that set it (SAPI lets it propagate),
		 * named after that call ("setcookie(): ..."). */
		char prefix[64] = "";
		if (EG(current_execute_data) && EG(current_execute_data)->func) {
			snprintf(prefix, sizeof prefix, "%s(): ", get_active_function_name());
		}
		if (!colon) {
			if (len) zend_value_error("%sHeader \"%.*s\" has no ':' (expected \"Name: value\")", prefix, (int)len, line);
			zend_string_release(name);
			return;
		}
		const char *v = colon + 1;
		while (v < line + len && (*v == ' ' || *v == '\t')) v++;
		if (check_header_bytes(line, name_len, v, (size_t)(line + len - v), prefix)) {
			zend_string *value = zend_string_init(v, line + len - v, 0);
			set_header(r, name, value, op == SAPI_HEADER_REPLACE);
			zend_string_release(value);
		}
	}
	zend_string_release(name);
}

void phpa_response_sapi_status(zend_object *response, int status)
{
	phpa_response *r = from_obj(response);
	if (!r->head_sent && !r->ended) r->status = status; /* else PHP refused it: headers sent */
}

void phpa_response_init_class(zend_class_entry *ce)
{
	phpa_ce_response = ce;
	ce->ce_flags |= ZEND_ACC_FINAL | ZEND_ACC_NO_DYNAMIC_PROPERTIES | ZEND_ACC_NOT_SERIALIZABLE;
	ce->create_object = response_create;
	memcpy(&response_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
	response_handlers.offset = XtOffsetOf(phpa_response, std);
	response_handlers.free_obj = response_free;
	response_handlers.clone_obj = NULL;
}

/* A Response not made by phpasync (`new Response`) has no request to answer. */
static phpa_response *this_checked(zval *this_zv)
{
	phpa_response *r = from_obj(Z_OBJ_P(this_zv));
	if (!r->id) {
		zend_throw_error(NULL, "This FrankenPHP\\Response was not created by phpasync");
		return NULL;
	}
	return r;
}
#define THIS_CHECKED(r) phpa_response *r = this_checked(ZEND_THIS); if (!r) RETURN_THROWS()

/* ---- methods ----------------------------------------------------------------------------- */

ZEND_METHOD(FrankenPHP_Response, setStatus)
{
	zend_long status;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_LONG(status)
	ZEND_PARSE_PARAMETERS_END();
	THIS_CHECKED(r);
	if (!check_head_open(r)) RETURN_THROWS();
	/* A 1xx is informational: sent as the final status, the client keeps waiting for the
	 * real one (and a pipelining client gets out of step). */
	if (status < 200 || status > 599) {
		zend_argument_value_error(1, "must be a final status between 200 and 599 (1xx informational statuses "
			"cannot be sent as the response status), " ZEND_LONG_FMT " given", status);
		RETURN_THROWS();
	}
	r->status = (int)status;
	phpa_request_state_status_set(&r->std, r->status); /* http_response_code() reads it */
}

ZEND_METHOD(FrankenPHP_Response, getStatus)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_LONG(THIS_RESPONSE()->status);
}

ZEND_METHOD(FrankenPHP_Response, setHeader)
{
	zend_string *name, *value;
	ZEND_PARSE_PARAMETERS_START(2, 2)
		Z_PARAM_STR(name)
		Z_PARAM_STR(value)
	ZEND_PARSE_PARAMETERS_END();
	THIS_CHECKED(r);
	if (!check_head_open(r) || !check_header(name, value)) RETURN_THROWS();
	set_header(r, name, value, true);
}

ZEND_METHOD(FrankenPHP_Response, addHeader)
{
	zend_string *name, *value;
	ZEND_PARSE_PARAMETERS_START(2, 2)
		Z_PARAM_STR(name)
		Z_PARAM_STR(value)
	ZEND_PARSE_PARAMETERS_END();
	THIS_CHECKED(r);
	if (!check_head_open(r) || !check_header(name, value)) RETURN_THROWS();
	set_header(r, name, value, false);
}

ZEND_METHOD(FrankenPHP_Response, removeHeader)
{
	zend_string *name;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(name)
	ZEND_PARSE_PARAMETERS_END();
	THIS_CHECKED(r);
	if (!check_head_open(r) || !check_name(name)) RETURN_THROWS();
	zend_string *key = zend_string_tolower(name);
	zend_hash_del(&r->headers, key);
	zend_string_release(key);
}

ZEND_METHOD(FrankenPHP_Response, getHeader)
{
	zend_string *name;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(name)
	ZEND_PARSE_PARAMETERS_END();
	phpa_response *r = THIS_RESPONSE();
	zend_string *key = zend_string_tolower(name);
	zval *entry = zend_hash_find(&r->headers, key);
	zend_string_release(key);
	if (!entry) RETURN_NULL();
	zval *first = zend_hash_index_find(Z_ARRVAL_P(zend_hash_index_find(Z_ARRVAL_P(entry), 1)), 0);
	if (!first) RETURN_NULL();
	RETURN_STR_COPY(Z_STR_P(first));
}

ZEND_METHOD(FrankenPHP_Response, getHeaders)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_response *r = THIS_RESPONSE();
	array_init_size(return_value, zend_hash_num_elements(&r->headers));
	zval *entry;
	ZEND_HASH_FOREACH_VAL(&r->headers, entry) {
		zend_string *name = Z_STR_P(zend_hash_index_find(Z_ARRVAL_P(entry), 0));
		zval *list = zend_hash_index_find(Z_ARRVAL_P(entry), 1);
		Z_TRY_ADDREF_P(list);
		zend_symtable_update(Z_ARRVAL_P(return_value), name, list);
	} ZEND_HASH_FOREACH_END();
}

ZEND_METHOD(FrankenPHP_Response, isHeadersSent)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_response *r = THIS_RESPONSE();
	RETURN_BOOL(r->head_sent || r->ended);
}

ZEND_METHOD(FrankenPHP_Response, redirect)
{
	zend_string *url;
	zend_long code = 302;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(url)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(code)
	ZEND_PARSE_PARAMETERS_END();
	THIS_CHECKED(r);
	if (!check_head_open(r)) RETURN_THROWS();
	if (ZSTR_LEN(url) == 0) {
		zend_argument_value_error(1, "must not be empty");
		RETURN_THROWS();
	}
	if (code < 300 || code > 399) {
		zend_argument_value_error(2, "must be a redirect status between 300 and 399, " ZEND_LONG_FMT " given", code);
		RETURN_THROWS();
	}
	zend_string *name = zend_string_init("Location", sizeof("Location") - 1, 0);
	bool ok = check_header(name, url);
	if (ok) {
		set_header(r, name, url, true);
		r->status = (int)code;
		phpa_request_state_status_set(&r->std, r->status);
	}
	zend_string_release(name);
	if (!ok) RETURN_THROWS();
}

ZEND_METHOD(FrankenPHP_Response, write)
{
	zend_string *data;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(data)
	ZEND_PARSE_PARAMETERS_END();
	THIS_CHECKED(r);
	if (!check_open(r) || !check_client(r)) RETURN_THROWS();
	size_t len = ZSTR_LEN(data);
	if (len == 0) return;
	if (len < phpa_ts->config->copy_threshold) {
		append_copy(r, ZSTR_VAL(data), len);
	} else {
		/* Zero-copy: keep the string alive until Node has written it and handed it back. */
		close_run(r);
		push_chunk(r, ZSTR_VAL(data), len, zend_string_copy(data));
	}
	if (r->head_sent) {
		/* Streaming since flush(): send now, and wait while the client is behind. */
		send_frame(r, 0);
		if (!wait_for_drain(r)) RETURN_THROWS();
	}
}

ZEND_METHOD(FrankenPHP_Response, flush)
{
	ZEND_PARSE_PARAMETERS_NONE();
	THIS_CHECKED(r);
	if (!check_open(r) || !check_client(r)) RETURN_THROWS();
	if (!r->head_sent || r->nchunks || r->run_len) send_frame(r, 0);
	if (!wait_for_drain(r)) RETURN_THROWS();
}

ZEND_METHOD(FrankenPHP_Response, end)
{
	ZEND_PARSE_PARAMETERS_NONE();
	THIS_CHECKED(r);
	if (!check_open(r)) RETURN_THROWS();
	send_final_frame(r);
}
