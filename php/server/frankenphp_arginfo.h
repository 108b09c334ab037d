/* This is a generated file, edit the .stub.php file instead.
 * Stub hash: 2bf2509844ea01cc0efb300e73c3bcfba20efc2d */

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_frankenphp_handle_request, 0, 1, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, callback, IS_CALLABLE, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_frankenphp_finish_request, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

#define arginfo_fastcgi_finish_request arginfo_frankenphp_finish_request

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_frankenphp_request_headers, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

#define arginfo_apache_request_headers arginfo_frankenphp_request_headers

#define arginfo_getallheaders arginfo_frankenphp_request_headers

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_MASK_EX(arginfo_frankenphp_response_headers, 0, 0, MAY_BE_ARRAY|MAY_BE_FALSE)
ZEND_END_ARG_INFO()

#define arginfo_apache_response_headers arginfo_frankenphp_response_headers

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_headers_send, 0, 0, IS_LONG, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, status, IS_LONG, 0, "200")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_HttpServer_onRequest, 0, 1, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, handler, IS_CALLABLE, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Request_getMethod, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Request_getUri arginfo_class_FrankenPHP_Request_getMethod

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Request_getHeader, 0, 1, IS_STRING, 1)
	ZEND_ARG_TYPE_INFO(0, name, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Request_getHeaders arginfo_frankenphp_request_headers

#define arginfo_class_FrankenPHP_Request_getBody arginfo_class_FrankenPHP_Request_getMethod

#define arginfo_class_FrankenPHP_Request_getQueryParams arginfo_frankenphp_request_headers

#define arginfo_class_FrankenPHP_Request_getCookies arginfo_frankenphp_request_headers

#define arginfo_class_FrankenPHP_Request_getHost arginfo_class_FrankenPHP_Request_getMethod

#define arginfo_class_FrankenPHP_Request_getRemoteAddr arginfo_class_FrankenPHP_Request_getMethod

#define arginfo_class_FrankenPHP_Request_getScheme arginfo_class_FrankenPHP_Request_getMethod

#define arginfo_class_FrankenPHP_Request_getProtocolVersion arginfo_class_FrankenPHP_Request_getMethod

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Request_getParsedBody, 0, 0, IS_ARRAY, 1)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Request_getUploadedFiles arginfo_frankenphp_request_headers

#define arginfo_class_FrankenPHP_UploadedFile_getName arginfo_class_FrankenPHP_Request_getMethod

#define arginfo_class_FrankenPHP_UploadedFile_getType arginfo_class_FrankenPHP_Request_getMethod

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_UploadedFile_getSize, 0, 0, IS_LONG, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_UploadedFile_getTmpName arginfo_class_FrankenPHP_Request_getMethod

#define arginfo_class_FrankenPHP_UploadedFile_getError arginfo_class_FrankenPHP_UploadedFile_getSize

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_UploadedFile_moveTo, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, path, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_setStatus, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, status, IS_LONG, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Response_getStatus arginfo_class_FrankenPHP_UploadedFile_getSize

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_setHeader, 0, 2, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, name, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, value, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Response_addHeader arginfo_class_FrankenPHP_Response_setHeader

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_removeHeader, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, name, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Response_getHeader arginfo_class_FrankenPHP_Request_getHeader

#define arginfo_class_FrankenPHP_Response_getHeaders arginfo_frankenphp_request_headers

#define arginfo_class_FrankenPHP_Response_isHeadersSent arginfo_frankenphp_finish_request

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_redirect, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, url, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, code, IS_LONG, 0, "302")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_write, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, data, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_FrankenPHP_Response_flush, 0, 0, IS_VOID, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_FrankenPHP_Response_end arginfo_class_FrankenPHP_Response_flush


ZEND_FUNCTION(frankenphp_handle_request);
ZEND_FUNCTION(frankenphp_finish_request);
ZEND_FUNCTION(frankenphp_request_headers);
ZEND_FUNCTION(frankenphp_response_headers);
ZEND_FUNCTION(headers_send);
ZEND_METHOD(FrankenPHP_HttpServer, onRequest);
ZEND_METHOD(FrankenPHP_Request, getMethod);
ZEND_METHOD(FrankenPHP_Request, getUri);
ZEND_METHOD(FrankenPHP_Request, getHeader);
ZEND_METHOD(FrankenPHP_Request, getHeaders);
ZEND_METHOD(FrankenPHP_Request, getBody);
ZEND_METHOD(FrankenPHP_Request, getQueryParams);
ZEND_METHOD(FrankenPHP_Request, getCookies);
ZEND_METHOD(FrankenPHP_Request, getHost);
ZEND_METHOD(FrankenPHP_Request, getRemoteAddr);
ZEND_METHOD(FrankenPHP_Request, getScheme);
ZEND_METHOD(FrankenPHP_Request, getProtocolVersion);
ZEND_METHOD(FrankenPHP_Request, getParsedBody);
ZEND_METHOD(FrankenPHP_Request, getUploadedFiles);
ZEND_METHOD(FrankenPHP_UploadedFile, getName);
ZEND_METHOD(FrankenPHP_UploadedFile, getType);
ZEND_METHOD(FrankenPHP_UploadedFile, getSize);
ZEND_METHOD(FrankenPHP_UploadedFile, getTmpName);
ZEND_METHOD(FrankenPHP_UploadedFile, getError);
ZEND_METHOD(FrankenPHP_UploadedFile, moveTo);
ZEND_METHOD(FrankenPHP_Response, setStatus);
ZEND_METHOD(FrankenPHP_Response, getStatus);
ZEND_METHOD(FrankenPHP_Response, setHeader);
ZEND_METHOD(FrankenPHP_Response, addHeader);
ZEND_METHOD(FrankenPHP_Response, removeHeader);
ZEND_METHOD(FrankenPHP_Response, getHeader);
ZEND_METHOD(FrankenPHP_Response, getHeaders);
ZEND_METHOD(FrankenPHP_Response, isHeadersSent);
ZEND_METHOD(FrankenPHP_Response, redirect);
ZEND_METHOD(FrankenPHP_Response, write);
ZEND_METHOD(FrankenPHP_Response, flush);
ZEND_METHOD(FrankenPHP_Response, end);


static const zend_function_entry ext_functions[] = {
	ZEND_FE(frankenphp_handle_request, arginfo_frankenphp_handle_request)
	ZEND_FE(frankenphp_finish_request, arginfo_frankenphp_finish_request)
	ZEND_FALIAS(fastcgi_finish_request, frankenphp_finish_request, arginfo_fastcgi_finish_request)
	ZEND_FE(frankenphp_request_headers, arginfo_frankenphp_request_headers)
	ZEND_FALIAS(apache_request_headers, frankenphp_request_headers, arginfo_apache_request_headers)
	ZEND_FALIAS(getallheaders, frankenphp_request_headers, arginfo_getallheaders)
	ZEND_FE(frankenphp_response_headers, arginfo_frankenphp_response_headers)
	ZEND_FALIAS(apache_response_headers, frankenphp_response_headers, arginfo_apache_response_headers)
	ZEND_FE(headers_send, arginfo_headers_send)
	ZEND_FE_END
};


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
	ZEND_ME(FrankenPHP_Request, getQueryParams, arginfo_class_FrankenPHP_Request_getQueryParams, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getCookies, arginfo_class_FrankenPHP_Request_getCookies, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getHost, arginfo_class_FrankenPHP_Request_getHost, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getRemoteAddr, arginfo_class_FrankenPHP_Request_getRemoteAddr, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getScheme, arginfo_class_FrankenPHP_Request_getScheme, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getProtocolVersion, arginfo_class_FrankenPHP_Request_getProtocolVersion, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getParsedBody, arginfo_class_FrankenPHP_Request_getParsedBody, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Request, getUploadedFiles, arginfo_class_FrankenPHP_Request_getUploadedFiles, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};


static const zend_function_entry class_FrankenPHP_UploadedFile_methods[] = {
	ZEND_ME(FrankenPHP_UploadedFile, getName, arginfo_class_FrankenPHP_UploadedFile_getName, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_UploadedFile, getType, arginfo_class_FrankenPHP_UploadedFile_getType, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_UploadedFile, getSize, arginfo_class_FrankenPHP_UploadedFile_getSize, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_UploadedFile, getTmpName, arginfo_class_FrankenPHP_UploadedFile_getTmpName, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_UploadedFile, getError, arginfo_class_FrankenPHP_UploadedFile_getError, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_UploadedFile, moveTo, arginfo_class_FrankenPHP_UploadedFile_moveTo, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};


static const zend_function_entry class_FrankenPHP_Response_methods[] = {
	ZEND_ME(FrankenPHP_Response, setStatus, arginfo_class_FrankenPHP_Response_setStatus, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, getStatus, arginfo_class_FrankenPHP_Response_getStatus, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, setHeader, arginfo_class_FrankenPHP_Response_setHeader, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, addHeader, arginfo_class_FrankenPHP_Response_addHeader, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, removeHeader, arginfo_class_FrankenPHP_Response_removeHeader, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, getHeader, arginfo_class_FrankenPHP_Response_getHeader, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, getHeaders, arginfo_class_FrankenPHP_Response_getHeaders, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, isHeadersSent, arginfo_class_FrankenPHP_Response_isHeadersSent, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, redirect, arginfo_class_FrankenPHP_Response_redirect, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, write, arginfo_class_FrankenPHP_Response_write, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, flush, arginfo_class_FrankenPHP_Response_flush, ZEND_ACC_PUBLIC)
	ZEND_ME(FrankenPHP_Response, end, arginfo_class_FrankenPHP_Response_end, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};

static zend_class_entry *register_class_FrankenPHP_HttpServer(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "FrankenPHP", "HttpServer", class_FrankenPHP_HttpServer_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL;

	return class_entry;
}

static zend_class_entry *register_class_FrankenPHP_Request(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "FrankenPHP", "Request", class_FrankenPHP_Request_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE;

	return class_entry;
}

static zend_class_entry *register_class_FrankenPHP_UploadedFile(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "FrankenPHP", "UploadedFile", class_FrankenPHP_UploadedFile_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE;

	return class_entry;
}

static zend_class_entry *register_class_FrankenPHP_Response(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "FrankenPHP", "Response", class_FrankenPHP_Response_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE;

	return class_entry;
}
