/*
 * FrankenPHP\Request: a view over the request envelope JS sent. Nothing is decoded until a
 * method asks for it; the envelope (the job) is owned by the object and freed with it.
 */
#include "phpa_internal.h"

#include <zend_smart_str.h>

#include "envelope.h"

typedef struct {
	phpa_job *job;
	phpa_envelope env;
	zend_string *body; /* cached so getBody() returns the same string every time */
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
	return &r->std;
}

static void request_free(zend_object *obj)
{
	phpa_request *r = from_obj(obj);
	free(r->job);
	if (r->body) zend_string_release(r->body);
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

void phpa_request_init_class(zend_class_entry *ce)
{
	phpa_ce_request = ce;
	ce->ce_flags |= ZEND_ACC_FINAL | ZEND_ACC_NO_DYNAMIC_PROPERTIES | ZEND_ACC_NOT_SERIALIZABLE;
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
