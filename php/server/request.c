/*
 * FrankenPHP\Request: a view over the request envelope JS sent. Nothing is decoded until a
 * method asks for it; the envelope (the job) is owned by the object and freed with it.
 */
#include "server/http.h"

#include <ext/standard/url.h>
#include <main/php_variables.h>
#include <zend_smart_str.h>

#include "server/envelope.h"
#include "server/form.h"

typedef struct {
	phpa_job *job;
	phpa_envelope env;
	zend_string *body; /* cached so getBody() returns the same string every time */
	/* Parsed once, on first use (UNDEF until then). */
	zval query, cookies, parsed_body, files;
	bool body_parsed;
	phpa_upload_set *uploads; /* temp files of this request, removed when it is freed */
	zend_object std;
} phpa_request;

zend_class_entry *phpa_ce_request;
static zend_object_handlers request_handlers;

static inline phpa_request *from_obj(zend_object *o) { return (phpa_request *)((char *)o - XtOffsetOf(phpa_request, std)); }
#define THIS_REQUEST() from_obj(Z_OBJ_P(ZEND_THIS))

static zend_object *request_create(zend_class_entry *ce)
{
	phpa_request *r = zend_object_alloc(sizeof(phpa_request), ce);
	zend_object_std_init(&r->std, ce);
	r->std.handlers = &request_handlers;
	ZVAL_UNDEF(&r->query);
	ZVAL_UNDEF(&r->cookies);
	ZVAL_UNDEF(&r->parsed_body);
	ZVAL_UNDEF(&r->files);
	return &r->std;
}

static void request_free(zend_object *obj)
{
	phpa_request *r = from_obj(obj);
	free(r->job);
	if (r->body) zend_string_release(r->body);
	zval_ptr_dtor(&r->query);
	zval_ptr_dtor(&r->cookies);
	zval_ptr_dtor(&r->parsed_body);
	zval_ptr_dtor(&r->files);
	/* The request is over (the scheduler dropped it): temp files not moved go now. */
	phpa_upload_set_end(r->uploads);
	phpa_upload_set_unref(r->uploads);
	zend_object_std_dtor(obj);
}

zend_object *phpa_request_new(phpa_job *job)
{
	phpa_envelope env;
	if (!phpa_envelope_parse(job->data, job->len, &env)) return NULL;
	zend_object *o = request_create(phpa_ce_request);
	phpa_request *r = from_obj(o);
	r->job = job;
	r->env = env;
	return o;
}

const phpa_envelope *phpa_request_envelope(zend_object *request) { return &from_obj(request)->env; }

void phpa_request_init_class(zend_class_entry *ce)
{
	phpa_ce_request = ce;
	/* Created by the scheduler only: `new Request` gets an object with no envelope, refused below. */
	ce->create_object = request_create;
	memcpy(&request_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
	request_handlers.offset = XtOffsetOf(phpa_request, std);
	request_handlers.free_obj = request_free;
	request_handlers.clone_obj = NULL;
}

static phpa_request *this_checked(zval *this_zv)
{
	phpa_request *r = from_obj(Z_OBJ_P(this_zv));
	if (!r->job) {
		zend_throw_error(NULL, "This FrankenPHP\\Request was not created by phpasync");
		return NULL;
	}
	return r;
}

static void return_bytes(zval *return_value, phpa_bytes b)
{
	if (b.len == 0) {
		RETVAL_EMPTY_STRING();
	} else {
		RETVAL_STRINGL(b.ptr, b.len);
	}
}

ZEND_METHOD(FrankenPHP_Request, getMethod)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	return_bytes(return_value, r->env.method);
}

ZEND_METHOD(FrankenPHP_Request, getUri)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	return_bytes(return_value, r->env.uri);
}

static bool name_equals(phpa_bytes a, const char *b, size_t blen)
{
	return a.len == blen && zend_binary_strncasecmp(a.ptr, a.len, b, blen, blen) == 0;
}

ZEND_METHOD(FrankenPHP_Request, getHeader)
{
	zend_string *want;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(want)
	ZEND_PARSE_PARAMETERS_END();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	const uint8_t *cur = NULL;
	uint32_t idx = 0;
	phpa_bytes name, value;
	smart_str joined = {0};
	bool found = false;
	while (phpa_envelope_next_header(&r->env, &cur, &idx, &name, &value)) {
		if (!name_equals(name, ZSTR_VAL(want), ZSTR_LEN(want))) continue;
		if (found) smart_str_appendl(&joined, ", ", 2);
		smart_str_appendl(&joined, value.ptr ? value.ptr : "", value.len);
		found = true;
	}
	if (!found) RETURN_NULL();
	if (!joined.s) RETURN_EMPTY_STRING();
	RETURN_STR(smart_str_extract(&joined));
}

ZEND_METHOD(FrankenPHP_Request, getHeaders)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	/* lower-case name => the first spelling, so repeats join onto it */
	HashTable seen;
	zend_hash_init(&seen, r->env.header_count, NULL, ZVAL_PTR_DTOR, 0);
	array_init_size(return_value, r->env.header_count);
	const uint8_t *cur = NULL;
	uint32_t idx = 0;
	phpa_bytes name, value;
	while (phpa_envelope_next_header(&r->env, &cur, &idx, &name, &value)) {
		zend_string *key = zend_string_init(name.ptr ? name.ptr : "", name.len, 0);
		zend_string *lower = zend_string_tolower(key);
		zval *prev = zend_hash_find(&seen, lower);
		if (prev) {
			zend_string_release(key);
			zval *existing = zend_symtable_find(Z_ARRVAL_P(return_value), Z_STR_P(prev));
			zend_string *s = Z_STR_P(existing);
			size_t old = ZSTR_LEN(s);
			s = zend_string_extend(s, old + 2 + value.len, 0);
			memcpy(ZSTR_VAL(s) + old, ", ", 2);
			if (value.len) memcpy(ZSTR_VAL(s) + old + 2, value.ptr, value.len);
			ZSTR_VAL(s)[old + 2 + value.len] = '\0';
			ZVAL_STR(existing, s);
		} else {
			zval v, k;
			ZVAL_STRINGL(&v, value.ptr ? value.ptr : "", value.len);
			zend_symtable_update(Z_ARRVAL_P(return_value), key, &v);
			ZVAL_STR(&k, key);
			zend_hash_add_new(&seen, lower, &k);
		}
		zend_string_release(lower);
	}
	/* `seen` owns one reference to each original name. */
	zend_hash_destroy(&seen);
}

ZEND_METHOD(FrankenPHP_Request, getBody)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	if (!r->body) {
		r->body = r->env.body.len ? zend_string_init(r->env.body.ptr, r->env.body.len, 0) : ZSTR_EMPTY_ALLOC();
	}
	RETURN_STR_COPY(r->body);
}

/* The joined value of a header (case-insensitive name) into out; false when absent. */
static bool find_header(phpa_request *r, const char *want, size_t want_len, const char *sep, smart_str *out)
{
	const uint8_t *cur = NULL;
	uint32_t idx = 0;
	phpa_bytes name, value;
	bool found = false;
	while (phpa_envelope_next_header(&r->env, &cur, &idx, &name, &value)) {
		if (!name_equals(name, want, want_len)) continue;
		if (found) smart_str_appends(out, sep);
		smart_str_appendl(out, value.ptr ? value.ptr : "", value.len);
		found = true;
	}
	smart_str_0(out);
	return found;
}

ZEND_METHOD(FrankenPHP_Request, getQueryParams)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	if (Z_ISUNDEF(r->query)) {
		array_init(&r->query);
		const char *q = r->env.uri.len ? memchr(r->env.uri.ptr, '?', r->env.uri.len) : NULL;
		if (q) {
			q++;
			size_t len = r->env.uri.ptr + r->env.uri.len - q;
			const char *hash = memchr(q, '#', len);
			if (hash) len = hash - q;
			phpa_form_parse_urlencoded(q, len, &r->query);
		}
	}
	RETURN_COPY(&r->query);
}

/* As $_COOKIE: "; "-separated pairs, names as sent (not decoded; mangled and bracket arrays
 * as any PHP input variable), values rawurldecode()d ("+" stays "+"), the first of two
 * cookies with the same name wins. */
static void parse_cookies(const char *s, size_t len, zval *arr)
{
	char *buf = estrndup(s, len);
	char *save = NULL;
	HashTable seen;
	zend_hash_init(&seen, 8, NULL, NULL, 0);
	for (char *pair = php_strtok_r(buf, ";", &save); pair; pair = php_strtok_r(NULL, ";", &save)) {
		while (*pair == ' ' || *pair == '\t') pair++;
		char *eq = strchr(pair, '=');
		if (eq == pair || *pair == '\0') continue;
		char *val = "";
		size_t val_len = 0;
		if (eq) {
			*eq = '\0';
			val = eq + 1;
			val_len = php_raw_url_decode(val, strlen(val));
		}
		size_t nlen = strlen(pair);
		while (nlen > 0 && (pair[nlen - 1] == ' ' || pair[nlen - 1] == '\t')) pair[--nlen] = '\0';
		if (nlen == 0) continue;
		if (zend_hash_str_exists(&seen, pair, nlen)) continue;
		zend_hash_str_add_empty_element(&seen, pair, nlen);
		php_register_variable_safe(pair, val, val_len, arr);
	}
	zend_hash_destroy(&seen);
	efree(buf);
}

ZEND_METHOD(FrankenPHP_Request, getCookies)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	if (Z_ISUNDEF(r->cookies)) {
		array_init(&r->cookies);
		smart_str c = {0};
		/* HTTP/2 may split the header: the pieces join with "; " (RFC 9113 8.2.3). */
		if (find_header(r, "cookie", 6, "; ", &c) && c.s) parse_cookies(ZSTR_VAL(c.s), ZSTR_LEN(c.s), &r->cookies);
		smart_str_free(&c);
	}
	RETURN_COPY(&r->cookies);
}

ZEND_METHOD(FrankenPHP_Request, getHost)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	smart_str h = {0};
	if (!find_header(r, "host", 4, ", ", &h)) find_header(r, ":authority", 10, ", ", &h);
	if (!h.s) RETURN_EMPTY_STRING();
	RETURN_STR(smart_str_extract(&h));
}

ZEND_METHOD(FrankenPHP_Request, getRemoteAddr)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	const char *a = r->env.remote_addr.ptr ? r->env.remote_addr.ptr : "";
	int alen = (int)r->env.remote_addr.len;
	bool v6 = memchr(a, ':', alen) != NULL;
	RETURN_STR(zend_strpprintf(0, v6 ? "[%.*s]:%u" : "%.*s:%u", alen, a, (unsigned)r->env.remote_port));
}

ZEND_METHOD(FrankenPHP_Request, getScheme)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	if (r->env.scheme.len == 0) RETURN_STRING("http");
	return_bytes(return_value, r->env.scheme);
}

ZEND_METHOD(FrankenPHP_Request, getProtocolVersion)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	/* Node reports "1.1", "1.0", "2.0". */
	RETURN_STR(zend_strpprintf(0, "HTTP/%.*s", (int)r->env.protocol.len, r->env.protocol.ptr ? r->env.protocol.ptr : ""));
}

/* The media type of Content-Type, lower-cased, without parameters. */
static bool media_type_is(const char *ct, size_t len, const char *want)
{
	size_t i = 0, wlen = strlen(want);
	while (i < len && (ct[i] == ' ' || ct[i] == '\t')) i++;
	size_t s = i;
	while (i < len && ct[i] != ';' && ct[i] != ' ' && ct[i] != '\t') i++;
	return i - s == wlen && zend_binary_strncasecmp(ct + s, wlen, want, wlen, wlen) == 0;
}

/* Parses the body once for getParsedBody() and getUploadedFiles(). False: exception thrown. */
static bool parse_body(phpa_request *r)
{
	if (r->body_parsed) return true;
	smart_str ct = {0};
	find_header(r, "content-type", 12, ", ", &ct);
	const char *cts = ct.s ? ZSTR_VAL(ct.s) : "";
	size_t ctl = ct.s ? ZSTR_LEN(ct.s) : 0;
	bool ok = true;
	array_init(&r->files);
	if (media_type_is(cts, ctl, "application/x-www-form-urlencoded")) {
		array_init(&r->parsed_body);
		phpa_form_parse_urlencoded(r->env.body.ptr, r->env.body.len, &r->parsed_body);
	} else if (media_type_is(cts, ctl, "multipart/form-data")) {
		array_init(&r->parsed_body);
		if (!r->uploads) r->uploads = phpa_upload_set_new(r->job->id);
		bool too_many = false;
		ok = phpa_form_parse_multipart(r->env.body.ptr ? r->env.body.ptr : "", r->env.body.len, cts, ctl,
			&r->parsed_body, &r->files, r->uploads, &too_many);
		if (too_many) {
			/* 413, not 400: the body is well-formed, it is over a configured size limit (PHP's
			 * own check, counted in parts). Answered now, so a handler that catches the
			 * exception cannot go on with part of the form; one line, however many parts. */
			phpa_log(PHPA_LOG_WARN, r->job->id, "multipart body refused with 413: more than " ZEND_LONG_FMT
				" parts (max_multipart_body_parts)", phpa_form_max_parts());
			zend_object *response = phpa_worker_response_of(&r->std);
			if (response) phpa_response_fail(response, 413);
		}
		if (!ok) {
			/* Nothing half-parsed stays: the files written so far go with the request. */
			zval_ptr_dtor(&r->parsed_body);
			zval_ptr_dtor(&r->files);
			ZVAL_UNDEF(&r->parsed_body);
			ZVAL_UNDEF(&r->files);
		}
	} else {
		ZVAL_NULL(&r->parsed_body);
	}
	smart_str_free(&ct);
	r->body_parsed = ok;
	return ok;
}

ZEND_METHOD(FrankenPHP_Request, getParsedBody)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	if (!parse_body(r)) RETURN_THROWS();
	RETURN_COPY(&r->parsed_body);
}

ZEND_METHOD(FrankenPHP_Request, getUploadedFiles)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_request *r = this_checked(ZEND_THIS);
	if (!r) RETURN_THROWS();
	if (!parse_body(r)) RETURN_THROWS();
	RETURN_COPY(&r->files);
}
