/*
 * FrankenPHP's request functions (frankenphp.stub.php, global namespace) other than
 * frankenphp_handle_request() (classic_worker.c): frankenphp_finish_request(),
 * frankenphp_request_headers(), frankenphp_response_headers() and headers_send(), with the
 * aliases FrankenPHP gives them (fastcgi_finish_request, apache_request_headers,
 * getallheaders, apache_response_headers). They act on the request whose state is entered:
 * a classic worker's callback or an async worker's handler; headers_send() a classic script
 * too. And flush() in a classic callback, which streams the response as under php-fpm.
 */
#include "server/response.h"
#include "server/request_state.h"
#include "server/scripts.h"

#include <SAPI.h>
#include <main/php_output.h>
#include <zend_exceptions.h>
#include <zend_interfaces.h>

void phpa_classic_default_type(phpa_worker_req *r)
{
	phpa_response *resp = phpa_response_from(r->response);
	if (resp->ended || resp->head_sent || zend_hash_str_exists(&resp->headers, "content-type", sizeof("content-type") - 1)) return;
	if (resp->status == 204 || resp->status == 304) return; /* no body, no type */
	char *type = sapi_get_default_content_type(); /* default_mimetype; default_charset */
	char line[256];
	int n = snprintf(line, sizeof line, "Content-Type: %s", type);
	efree(type);
	if (n > 0 && (size_t)n < sizeof line) phpa_response_sapi_header(r->response, line, (size_t)n, SAPI_HEADER_REPLACE);
}

static void call_method(zend_object *obj, const char *name, size_t len, zval *rv)
{
	zend_function *fn = zend_hash_str_find_ptr(&obj->ce->function_table, name, len);
	ZVAL_UNDEF(rv);
	if (fn) zend_call_known_instance_method_with_0_params(fn, obj, rv);
}

ZEND_FUNCTION(frankenphp_finish_request)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_worker_req *r = phpa_request_state_entered();
	if (!r || phpa_response_is_ended(r->response)) RETURN_FALSE;
	/* What the callback's own output buffers hold is part of the response (php-fpm flushes
	 * them too); an async handler's buffers stay open (it writes through the Response). */
	if (phpa_classic_request() == r) {
		const int base = phpa_classic_callback_ob_level();
		while (php_output_get_level() > base && !EG(exception)) php_output_end();
		if (EG(exception)) RETURN_THROWS();
		phpa_classic_default_type(r);
	}
	phpa_response_finish(r->response);
	RETURN_TRUE;
}

ZEND_FUNCTION(frankenphp_request_headers)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_worker_req *r = phpa_request_state_entered();
	if (!r) {
		array_init(return_value); /* no request: no headers */
		return;
	}
	/* Name as first sent => value, repeats joined with ", " (Request::getHeaders()). */
	call_method(r->request, "getheaders", sizeof("getheaders") - 1, return_value);
	if (Z_TYPE_P(return_value) != IS_ARRAY) {
		zval_ptr_dtor(return_value);
		array_init(return_value);
	}
}

ZEND_FUNCTION(frankenphp_response_headers)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_worker_req *r = phpa_request_state_entered();
	if (!r) RETURN_FALSE;
	zval headers;
	call_method(r->response, "getheaders", sizeof("getheaders") - 1, &headers);
	array_init(return_value);
	if (Z_TYPE(headers) == IS_ARRAY) {
		/* name => value; of a header set several times the last value (as PHP's CLI server). */
		zend_string *name;
		zval *list;
		ZEND_HASH_FOREACH_STR_KEY_VAL(Z_ARRVAL(headers), name, list) {
			if (!name || Z_TYPE_P(list) != IS_ARRAY) continue;
			zval *last = zend_hash_index_find(Z_ARRVAL_P(list), zend_hash_num_elements(Z_ARRVAL_P(list)) - 1);
			if (last && Z_TYPE_P(last) == IS_STRING) add_assoc_str_ex(return_value, ZSTR_VAL(name), ZSTR_LEN(name), zend_string_copy(Z_STR_P(last)));
		} ZEND_HASH_FOREACH_END();
	}
	zval_ptr_dtor(&headers);
}

/* headers_send($status): a final status sends the head now (SUCCESS/FAILURE, as
 * sapi_send_headers()); a 1xx one sends an informational head with the headers set so far and
 * changes nothing else (FrankenPHP returns its send_headers() result then: SENT_SUCCESSFULLY,
 * or SEND_FAILED once the final head is out or outside a request). */
ZEND_FUNCTION(headers_send)
{
	zend_long status = 200;
	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(status)
	ZEND_PARSE_PARAMETERS_END();
	if (status < 100 || status > 599) {
		zend_argument_value_error(1, "must be a status between 100 and 599, " ZEND_LONG_FMT " given", status);
		RETURN_THROWS();
	}
	if (status == 101) {
		zend_value_error("not supported yet: headers_send(101): a protocol switch cannot be sent from PHP");
		RETURN_THROWS();
	}
	const bool informational = status < 200;
	phpa_script_req *script = phpa_scripts_current();
	if (script) {
		if (informational) {
			if (SG(headers_sent) || script->head_captured) RETURN_LONG(SAPI_HEADER_SEND_FAILED);
			phpa_scripts_send_informational(script, (int)status);
			RETURN_LONG(SAPI_HEADER_SENT_SUCCESSFULLY);
		}
		if (SG(headers_sent)) RETURN_LONG(SUCCESS);
		SG(sapi_headers).http_response_code = (int)status;
		if (sapi_send_headers() == FAILURE) RETURN_LONG(FAILURE);
		phpa_scripts_flush(); /* the head and what reached the SAPI so far go out now */
		RETURN_LONG(SUCCESS);
	}
	phpa_worker_req *r = phpa_request_state_entered();
	if (!r) RETURN_LONG(informational ? SAPI_HEADER_SEND_FAILED : FAILURE); /* no request to send headers for */
	phpa_response *resp = phpa_response_from(r->response);
	if (informational) {
		if (resp->ended || resp->head_sent) RETURN_LONG(SAPI_HEADER_SEND_FAILED); /* a 1xx must come first */
		phpa_frame_send_informational(resp, (int)status);
		RETURN_LONG(SAPI_HEADER_SENT_SUCCESSFULLY);
	}
	/* Sent already: nothing to do, as sapi_send_headers() says SUCCESS then. */
	if (resp->ended || resp->head_sent) RETURN_LONG(SUCCESS);
	resp->status = (int)status;
	SG(sapi_headers).http_response_code = (int)status; /* http_response_code() reads it back */
	if (phpa_classic_request() == r) phpa_classic_default_type(r);
	/* Status, headers and what was echoed so far go out now; the rest of the body follows. */
	phpa_frame_send(resp, 0);
	RETURN_LONG(SUCCESS);
}

/* flush() in a classic callback: status, headers and what was echoed so far go out now, the
 * rest follows at the next flush() or the end (a streamed response, as php-fpm sends it).
 * Only the explicit call: PHP's implicit flush after every echo (implicit_flush=1, which
 * phpasync sets) goes through the SAPI and keeps buffering until the end. Waits while more
 * than 1 MiB sent earlier is not written to the client yet, as Response::flush() does. */
static zif_handler orig_flush;
static ZEND_NAMED_FUNCTION(classic_flush)
{
	orig_flush(INTERNAL_FUNCTION_PARAM_PASSTHRU);
	phpa_worker_req *r = phpa_classic_request();
	if (!r || EG(exception)) return;
	phpa_response *resp = phpa_response_from(r->response);
	/* A client gone under ignore_user_abort(true): nothing to send to, nothing to throw (the
	 * stream may learn it before the cancel reaches the loop). */
	if (PG(ignore_user_abort) && resp->stream && resp->stream->gone) PG(connection_status) |= PHP_CONNECTION_ABORTED;
	if (PG(connection_status) & PHP_CONNECTION_ABORTED) return;
	if (resp->ended || !phpa_stream_check_client(resp)) return;
	if (!resp->head_sent) phpa_classic_default_type(r);
	if (!resp->head_sent || resp->nchunks || resp->run_len) phpa_frame_send(resp, 0);
	if (phpa_stream_wait_drain(resp) || !PG(ignore_user_abort) || !resp->stream || !resp->stream->gone) return;
	/* Gone while flush() waited: its "client closed" Error, not an interrupt (UnwindExit). */
	if (EG(exception) && !zend_is_unwind_exit(EG(exception))) {
		zend_clear_exception();
		PG(connection_status) |= PHP_CONNECTION_ABORTED;
	}
}

void phpa_classic_minit(void)
{
	phpa_classic_worker_minit();
	zend_function *f = zend_hash_str_find_ptr(CG(function_table), "flush", sizeof("flush") - 1);
	if (!f || f->type != ZEND_INTERNAL_FUNCTION) return;
	orig_flush = f->internal_function.handler;
	f->internal_function.handler = classic_flush;
}
