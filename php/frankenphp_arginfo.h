/* Hand-kept from frankenphp.stub.php (gen_stub.php needs a parser download); the stub is the
 * source of truth and test/stubs.test.ts fails when the two disagree. */

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_HttpServer_onRequest, 0, 1, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, handler, IS_CALLABLE, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Request_getMethod, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Request_getUri arginfo_class_FrankenPHP_Request_getMethod

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Request_getHeader, 0, 1, IS_STRING, 1)
	ZEND_ARG_TYPE_INFO(0, name, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Request_getHeaders, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Request_getBody arginfo_class_FrankenPHP_Request_getMethod

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_setStatus, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, status, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_getStatus, 0, 0, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_setHeader, 0, 2, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, name, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, value, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_write, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, data, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_end, 0, 0, IS_VOID, 0)
ZEND_END_ARG_INFO()

ZEND_METHOD(FrankenPHP_HttpServer, onRequest);
ZEND_METHOD(FrankenPHP_Request, getMethod);
ZEND_METHOD(FrankenPHP_Request, getUri);
ZEND_METHOD(FrankenPHP_Request, getHeader);
ZEND_METHOD(FrankenPHP_Request, getHeaders);
ZEND_METHOD(FrankenPHP_Request, getBody);
ZEND_METHOD(FrankenPHP_Response, setStatus);
ZEND_METHOD(FrankenPHP_Response, getStatus);
ZEND_METHOD(FrankenPHP_Response, setHeader);
ZEND_METHOD(FrankenPHP_Response, write);
ZEND_METHOD(FrankenPHP_Response, end);

static const zend_function_entry class_FrankenPHP_HttpServer_methods[] = {
	ZEND_ME(FrankenPHP_HttpServer, onRequest, arginfo_class_FrankenPHP_HttpServer_onRequest, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_FE_END
};

static const zend_function_entry class_FrankenPHP_Request_methods[] = {
	ZEND_ME(FrankenPHP_Request, getMethod, arginfo_class_FrankenPHP_Request_getMethod, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getUri, arginfo_class_FrankenPHP_Request_getUri, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getHeader, arginfo_class_FrankenPHP_Request_getHeader, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getHeaders, arginfo_class_FrankenPHP_Request_getHeaders, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getBody, arginfo_class_FrankenPHP_Request_getBody, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};

static const zend_function_entry class_FrankenPHP_Response_methods[] = {
	ZEND_ME(FrankenPHP_Response, setStatus, arginfo_class_FrankenPHP_Response_setStatus, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, getStatus, arginfo_class_FrankenPHP_Response_getStatus, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, setHeader, arginfo_class_FrankenPHP_Response_setHeader, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, write, arginfo_class_FrankenPHP_Response_write, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, end, arginfo_class_FrankenPHP_Response_end, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};
