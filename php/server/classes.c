/*
 * The FrankenPHP\* classes (frankenphp.stub.php): registered at module startup, and
 * HttpServer::onRequest(), which gives the async worker its handler.
 */
#include "server/worker.h"

#include "server/form.h"
#include "server/frankenphp_arginfo.h"

zend_class_entry *phpa_ce_http_server;

ZEND_METHOD(FrankenPHP_HttpServer, onRequest)
{
	zend_fcall_info fci;
	zend_fcall_info_cache fcc;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_FUNC(fci, fcc)
	ZEND_PARSE_PARAMETERS_END();
	if (!phpa_worker_set_handler(&fci, &fcc)) {
		zend_throw_error(NULL, "FrankenPHP\\HttpServer::onRequest() is only available in a phpasync async worker");
		RETURN_THROWS();
	}
	RETURN_TRUE;
}

void phpa_server_minit(void)
{
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
}
