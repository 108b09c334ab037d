/*
 * PHP functions whose per-request meaning we supply inside a request's handler (outside one,
 * PHP's own run): header(), header_remove(), setcookie(), setrawcookie() and
 * http_response_code() act on the Response (a status they set becomes its status; outside
 * 200..599 it throws ValueError), headers_list() lists the Response's headers,
 * header_register_callback() is refused, and max_execution_time (ini_set(), set_time_limit())
 * moves the request's deadline instead of arming PHP's SIGPROF timer.
 */
#include "server/request_state.h"

#include <SAPI.h>
#include <zend_exceptions.h>
#include <zend_ini.h>

static zend_function *get_headers_fn;

/* Header functions inside a request: PHP's own "headers already sent" check applies (so
 * no_headers is 0 during the call), and a status they set becomes the Response's. */
static void header_call(zif_handler orig, INTERNAL_FUNCTION_PARAMETERS)
{
	phpa_worker_req *r = phpa_request_state_entered();
	if (!r) {
		orig(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	const int before = SG(sapi_headers).http_response_code;
	SG(request_info).no_headers = 0;
	orig(INTERNAL_FUNCTION_PARAM_PASSTHRU);
	SG(request_info).no_headers = 1;
	const int after = SG(sapi_headers).http_response_code;
	if (after == before || phpa_request_state_entered() != r) return;
	if (after < 200 || after > 599) {
		SG(sapi_headers).http_response_code = before;
		if (!EG(exception)) {
			zend_value_error("%s(): The response status must be between 200 and 599 (1xx informational statuses "
				"cannot be sent as the response status), %d given", get_active_function_name(), after);
		}
		return;
	}
	phpa_response_sapi_status(r->response, after);
}

#define WRAP(fn)                                                                                   \
	static zif_handler orig_##fn;                                                                  \
	static ZEND_NAMED_FUNCTION(wrap_##fn) { header_call(orig_##fn, INTERNAL_FUNCTION_PARAM_PASSTHRU); }
WRAP(header)
WRAP(header_remove)
WRAP(setcookie)
WRAP(setrawcookie)
WRAP(http_response_code)

/* headers_list() inside a request: the Response's headers ("Name: value", one per value). */
static zif_handler orig_headers_list;
static ZEND_NAMED_FUNCTION(wrap_headers_list)
{
	phpa_worker_req *r = phpa_request_state_entered();
	if (!r) {
		orig_headers_list(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	ZEND_PARSE_PARAMETERS_NONE();
	zval headers;
	ZVAL_UNDEF(&headers);
	zend_call_known_instance_method_with_0_params(get_headers_fn, r->response, &headers);
	array_init(return_value);
	if (Z_TYPE(headers) != IS_ARRAY) {
		zval_ptr_dtor(&headers);
		return;
	}
	zend_string *name;
	zend_ulong num;
	zval *list, *v;
	ZEND_HASH_FOREACH_KEY_VAL(Z_ARRVAL(headers), num, name, list) {
		zend_string *n = name ? zend_string_copy(name) : zend_long_to_str((zend_long)num);
		if (Z_TYPE_P(list) == IS_ARRAY) {
			ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(list), v) {
				if (Z_TYPE_P(v) != IS_STRING) continue;
				add_next_index_str(return_value,
					zend_string_concat3(ZSTR_VAL(n), ZSTR_LEN(n), ": ", 2, Z_STRVAL_P(v), Z_STRLEN_P(v)));
			} ZEND_HASH_FOREACH_END();
		}
		zend_string_release(n);
	} ZEND_HASH_FOREACH_END();
	zval_ptr_dtor(&headers);
}

/* header_register_callback() would run when PHP sends headers, which it never does inside a
 * request (the Response sends them at flush()/end()): refused rather than never called. */
static zif_handler orig_header_register_callback;
static ZEND_NAMED_FUNCTION(wrap_header_register_callback)
{
	if (!phpa_request_state_entered()) {
		orig_header_register_callback(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	zend_throw_error(NULL, "not supported yet: header_register_callback() in an async handler: the Response sends "
		"the headers at flush() or end(); set them before calling either");
}

/* max_execution_time (ini_set() and set_time_limit()): PHP's handler arms a SIGPROF timer,
 * which cannot run inside Node. Inside a request the value moves that request's deadline. */
static ZEND_INI_MH((*orig_on_timeout));
static ZEND_INI_MH(on_update_timeout)
{
	if (!phpa_on_php_thread()) return orig_on_timeout(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage); /* php-cli */
	zend_long secs = ZEND_STRTOL(ZSTR_VAL(new_value), NULL, 10);
	EG(timeout_seconds) = secs;
	if (phpa_scripts_active()) {
		if (stage == ZEND_INI_STAGE_RUNTIME) phpa_scripts_set_time_limit(secs);
		return SUCCESS;
	}
	phpa_worker_req *r = phpa_request_state_entered();
	if (!r || phpa_request_ini_applying() || stage != ZEND_INI_STAGE_RUNTIME) return SUCCESS;
	phpa_limits_set_time_limit(r, secs);
	return SUCCESS;
}

static zif_handler replace(const char *name, zif_handler h)
{
	zend_function *f = zend_hash_str_find_ptr(CG(function_table), name, strlen(name));
	if (!f || f->type != ZEND_INTERNAL_FUNCTION) return NULL;
	zif_handler old = f->internal_function.handler;
	f->internal_function.handler = h;
	return old;
}

void phpa_request_functions_minit(void)
{
	orig_header = replace("header", wrap_header);
	orig_header_remove = replace("header_remove", wrap_header_remove);
	orig_setcookie = replace("setcookie", wrap_setcookie);
	orig_setrawcookie = replace("setrawcookie", wrap_setrawcookie);
	orig_http_response_code = replace("http_response_code", wrap_http_response_code);
	orig_headers_list = replace("headers_list", wrap_headers_list);
	orig_header_register_callback = replace("header_register_callback", wrap_header_register_callback);
	zend_ini_entry *e = zend_hash_str_find_ptr(EG(ini_directives), "max_execution_time", sizeof("max_execution_time") - 1);
	if (e && e->on_modify != on_update_timeout) {
		orig_on_timeout = e->on_modify;
		e->on_modify = on_update_timeout;
	}
	get_headers_fn = zend_hash_str_find_ptr(&phpa_ce_response->function_table, "getheaders", sizeof("getheaders") - 1);
}
