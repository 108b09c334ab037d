/*
 * The internal module phpasync registers at startup: the FrankenPHP\* classes and the
 * process-wide fixes that must happen inside PHP's module startup.
 */
#include "phpa_internal.h"
#include "async_backend.h"

#include <zend_exceptions.h>
#ifdef ZEND_SIGNALS
#include <zend_signal.h>
#endif

#include "form.h"
#include "server/request_state.h"
#include "frankenphp_arginfo.h"

zend_class_entry *phpa_ce_http_server;

ZEND_METHOD(FrankenPHP_HttpServer, onRequest)
{
	zend_fcall_info fci;
	zend_fcall_info_cache fcc;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_FUNC(fci, fcc)
	ZEND_PARSE_PARAMETERS_END();
	phpa_thread_state *ts = phpa_ts;
	if (!ts) {
		zend_throw_error(NULL, "FrankenPHP\\HttpServer::onRequest() is only available in a phpasync async worker");
		RETURN_THROWS();
	}
	zval_ptr_dtor(&ts->handler);
	ZVAL_COPY(&ts->handler, &fci.function_name);
	ts->handler_fcc = fcc;
	RETURN_TRUE;
}

static PHP_MINIT_FUNCTION(phpasync)
{
#ifdef ZEND_SIGNALS
	/* Keep PHP from installing its SIGINT/SIGTERM/SIGHUP/SIGUSR handlers at every request
	 * startup: they belong to Node (DESIGN.md: otherwise Ctrl-C spins at 100% CPU). */
	SIGG(reset) = 0;
#endif
	/* OPcache's startup, which runs right after every module's MINIT, enables itself only for
	 * SAPI names on its list; FrankenPHP, whose API we implement, is on it. PHP_SAPI was
	 * registered before and php_sapi_name() reads the name back after startup, when
	 * phpa_php_module_startup() restores ours. */
	sapi_module.name = "frankenphp";
	zend_class_entry ce;
	INIT_CLASS_ENTRY(ce, "FrankenPHP\\HttpServer", class_FrankenPHP_HttpServer_methods);
	phpa_ce_http_server = zend_register_internal_class(&ce);
	phpa_ce_http_server->ce_flags |= ZEND_ACC_FINAL;

	INIT_CLASS_ENTRY(ce, "FrankenPHP\\Request", class_FrankenPHP_Request_methods);
	phpa_request_init_class(zend_register_internal_class(&ce));

	INIT_CLASS_ENTRY(ce, "FrankenPHP\\UploadedFile", class_FrankenPHP_UploadedFile_methods);
	phpa_uploaded_file_init_class(zend_register_internal_class(&ce));

	INIT_CLASS_ENTRY(ce, "FrankenPHP\\Response", class_FrankenPHP_Response_methods);
	phpa_response_init_class(zend_register_internal_class(&ce));

	phpa_async_minit(module_number); /* Async\ API + blocking calls that yield (issue 5) */
	phpa_request_state_minit();      /* header functions and max_execution_time, per request */
	return SUCCESS;
}

zend_module_entry phpa_module_entry = {
	STANDARD_MODULE_HEADER,
	"phpasync",
	NULL, /* functions: everything is a class method */
	PHP_MINIT(phpasync),
	NULL,
	NULL,
	NULL,
	NULL,
	"0.1.0",
	STANDARD_MODULE_PROPERTIES,
};
