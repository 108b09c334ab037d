/*
 * The FrankenPHP\* classes (frankenphp.stub.php): registered at module startup, and
 * HttpServer::onRequest(), which gives the async worker its handler.
 */
#include "server/worker.h"

#include "server/form.h"
#include "server/request_state.h"
#include "server/frankenphp_arginfo.h"

zend_class_entry *phpa_ce_http_server;

ZEND_METHOD(FrankenPHP_HttpServer, onRequest)
{
	zend_fcall_info fci;
	zend_fcall_info_cache fcc;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_FUNC(fci, fcc)
	ZEND_PARSE_PARAMETERS_END();
	if (phpa_on_php_thread() && phpa_runtime_config()->mode == PHPA_MODE_CLASSIC_WORKER) {
		zend_throw_error(NULL, "FrankenPHP\\HttpServer::onRequest() called in a classic worker: loop on "
			"frankenphp_handle_request() instead, or add `async` to the Caddyfile's worker block to run this file "
			"as an async worker");
		RETURN_THROWS();
	}
	if (!phpa_worker_set_handler(&fci, &fcc)) {
		zend_throw_error(NULL, "FrankenPHP\\HttpServer::onRequest() is only available in a phpasync async worker");
		RETURN_THROWS();
	}
	RETURN_TRUE;
}

void phpa_server_minit(void)
{
	/* Classes, flags and functions as the stub declares them (frankenphp_arginfo.h is generated). */
	zend_register_functions(NULL, ext_functions, NULL, MODULE_PERSISTENT);
	phpa_classic_minit(); /* flush() in a classic callback streams */
	phpa_ce_http_server = register_class_FrankenPHP_HttpServer();
	phpa_request_init_class(register_class_FrankenPHP_Request());
	phpa_uploaded_file_init_class(register_class_FrankenPHP_UploadedFile());
	phpa_response_init_class(register_class_FrankenPHP_Response());
	phpa_request_state_minit(); /* header functions and max_execution_time, per request */
}
