/*
 * FrankenPHP\Response: status, headers and a body assembled as chunks (frames.c sends them).
 * header() and echo inside a handler reach the running request's response through the SAPI
 * (phpa_response_sapi_header, phpa_response_append_output).
 */
#include "server/response.h"
#include "server/request_state.h"

#include <SAPI.h>
#include <zend_exceptions.h>

zend_class_entry *phpa_ce_response;
static zend_object_handlers response_handlers;

#define THIS_RESPONSE() phpa_response_from(Z_OBJ_P(ZEND_THIS))

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
	r->chunks = r->chunks_inline;
	r->chunks_cap = sizeof r->chunks_inline / sizeof r->chunks_inline[0];
	zend_hash_init(&r->headers, 4, NULL, ZVAL_PTR_DTOR, 0);
	return &r->std;
}

static void response_free(zend_object *obj)
{
	phpa_response *r = phpa_response_from(obj);
	phpa_body_discard(r);
	if (r->chunks != r->chunks_inline) free(r->chunks);
	if (r->stream) {
		r->stream->waiter = NULL;
		phpa_stream_unref(r->stream);
		r->stream = NULL;
	}
	zend_hash_destroy(&r->headers);
	zend_object_std_dtor(obj);
}

zend_object *phpa_response_new(uint64_t id, int thread)
{
	zend_object *o = response_create(phpa_ce_response);
	phpa_response *r = phpa_response_from(o);
	r->id = id;
	r->thread = thread;
	return o;
}

void phpa_response_append_output(zend_object *response, const char *str, size_t len)
{
	phpa_body_append(phpa_response_from(response), str, len);
}

bool phpa_response_is_ended(zend_object *response) { return phpa_response_from(response)->ended; }

void phpa_response_finish(zend_object *response)
{
	phpa_response *r = phpa_response_from(response);
	if (!r->ended) phpa_frame_send_final(r);
}

void phpa_response_fail(zend_object *response, int status)
{
	phpa_response *r = phpa_response_from(response);
	if (r->ended) return;
	phpa_body_discard(r);
	if (r->head_sent) {
		/* The status line is gone already: cut the stream so the client sees it incomplete. */
		phpa_frame_send(r, PHPA_FRAME_END | PHPA_FRAME_ABORT);
		return;
	}
	zend_hash_clean(&r->headers);
	r->status = status;
	zend_string *n = zend_string_init("Content-Type", sizeof("Content-Type") - 1, 0);
	zend_string *v = zend_string_init("text/plain; charset=utf-8", sizeof("text/plain; charset=utf-8") - 1, 0);
	set_header(r, n, v, true);
	zend_string_release(n);
	zend_string_release(v);
	/* 504: the request timeout (worker_limits.c). */
	const char *body = status == 500 ? "Internal Server Error\n" : status == 504 ? "Gateway Timeout\n" : "Error\n";
	phpa_body_append(r, body, strlen(body));
	phpa_frame_send_final(r);
}

void phpa_response_sapi_header(zend_object *response, const char *line, size_t len, int op)
{
	phpa_response *r = phpa_response_from(response);
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
	phpa_response *r = phpa_response_from(response);
	if (!r->head_sent && !r->ended) r->status = status; /* else PHP refused it: headers sent */
}

void phpa_response_init_class(zend_class_entry *ce)
{
	phpa_ce_response = ce;
	ce->create_object = response_create;
	memcpy(&response_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
	response_handlers.offset = XtOffsetOf(phpa_response, std);
	response_handlers.free_obj = response_free;
	response_handlers.clone_obj = NULL;
}

/* A Response not made by phpasync (`new Response`) has no request to answer. */
static phpa_response *this_checked(zval *this_zv)
{
	phpa_response *r = phpa_response_from(Z_OBJ_P(this_zv));
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
	if (!check_open(r) || !phpa_stream_check_client(r)) RETURN_THROWS();
	size_t len = ZSTR_LEN(data);
	if (len == 0) return;
	if (len < phpa_runtime_config()->copy_threshold) {
		phpa_body_append(r, ZSTR_VAL(data), len);
	} else {
		/* Zero-copy: keep the string alive until Node has written it and handed it back. */
		phpa_body_close_run(r);
		phpa_body_push(r, ZSTR_VAL(data), len, zend_string_copy(data));
	}
	if (r->head_sent) {
		/* Streaming since flush(): send now, and wait while the client is behind. */
		phpa_frame_send(r, 0);
		if (!phpa_stream_wait_drain(r)) RETURN_THROWS();
	}
}

ZEND_METHOD(FrankenPHP_Response, flush)
{
	ZEND_PARSE_PARAMETERS_NONE();
	THIS_CHECKED(r);
	if (!check_open(r) || !phpa_stream_check_client(r)) RETURN_THROWS();
	if (!r->head_sent || r->nchunks || r->run_len) phpa_frame_send(r, 0);
	if (!phpa_stream_wait_drain(r)) RETURN_THROWS();
}

ZEND_METHOD(FrankenPHP_Response, end)
{
	ZEND_PARSE_PARAMETERS_NONE();
	THIS_CHECKED(r);
	if (!check_open(r)) RETURN_THROWS();
	phpa_frame_send_final(r);
}
