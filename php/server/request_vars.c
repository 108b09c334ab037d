/*
 * $_SERVER's per-request CGI variables, built from the request envelope over the worker's own
 * $_SERVER (environment, SCRIPT_FILENAME): REQUEST_METHOD, REQUEST_URI, QUERY_STRING,
 * SERVER_PROTOCOL, REMOTE_ADDR/PORT, REQUEST_SCHEME, HTTPS, SERVER_NAME/PORT (from Host),
 * REQUEST_TIME(_FLOAT), and HTTP_* (CONTENT_TYPE, CONTENT_LENGTH) for the headers.
 */
#include "server/request_state.h"

static void add_str(HashTable *ht, const char *key, size_t klen, const char *v, size_t vlen)
{
	zval zv;
	if (vlen) ZVAL_STRINGL(&zv, v, vlen);
	else ZVAL_EMPTY_STRING(&zv);
	zend_hash_str_update(ht, key, klen, &zv);
}
#define ADD_LIT(ht, k, v, vlen) add_str(ht, k, sizeof(k) - 1, v, vlen)

/* A request header as a CGI variable: HTTP_ + upper case, '-' as '_'; Content-Type and
 * Content-Length without the prefix. Names with '_' are skipped (Apache and nginx drop them
 * too): X_Forwarded_For must not pass for X-Forwarded-For. A repeated header is joined with
 * ", " ("; " for Cookie); a first one replaces an environment variable of the same name.
 * seen/nseen: hashes of the keys this request set so far. */
static void add_header_var(HashTable *ht, phpa_bytes name, phpa_bytes value, zend_ulong *seen, uint32_t *nseen,
	uint32_t cap)
{
	char key[256];
	/* HTTP/2 pseudo-headers (":authority") are not headers. */
	if (name.len == 0 || name.len > sizeof key - 6 || name.ptr[0] == ':' || memchr(name.ptr, '_', name.len)) return;
	size_t at = 0;
	bool plain = (name.len == 12 && zend_binary_strncasecmp(name.ptr, 12, "content-type", 12, 12) == 0) ||
		(name.len == 14 && zend_binary_strncasecmp(name.ptr, 14, "content-length", 14, 14) == 0);
	if (!plain) {
		memcpy(key, "HTTP_", 5);
		at = 5;
	}
	for (uint32_t i = 0; i < name.len; i++) {
		char c = name.ptr[i];
		key[at++] = c == '-' ? '_' : (char)zend_toupper_ascii(c);
	}
	const zend_ulong h = zend_inline_hash_func(key, at);
	bool repeat = false;
	for (uint32_t i = 0; i < *nseen && !repeat; i++) repeat = seen[i] == h;
	zval *prev = repeat ? zend_hash_str_find(ht, key, at) : NULL;
	if (prev && Z_TYPE_P(prev) == IS_STRING) {
		bool cookie = at == 11 && memcmp(key, "HTTP_COOKIE", 11) == 0;
		zend_string *j = zend_string_concat3(Z_STRVAL_P(prev), Z_STRLEN_P(prev), cookie ? "; " : ", ", 2,
			value.ptr ? value.ptr : "", value.len);
		zval zv;
		ZVAL_STR(&zv, j);
		zend_hash_str_update(ht, key, at, &zv);
		return;
	}
	if (*nseen < cap) seen[(*nseen)++] = h;
	add_str(ht, key, at, value.ptr ? value.ptr : "", value.len);
}

/* The request's CGI variables, over what ht has (the worker's $_SERVER): headers first, so no
 * header can pass for the variables set after them. */
void phpa_request_vars_add(HashTable *ht, const phpa_envelope *env, double now)
{
	zend_ulong seen[64];
	uint32_t nseen = 0;
	const uint8_t *cur = NULL;
	uint32_t idx = 0;
	phpa_bytes name, value;
	const char *host = NULL;
	size_t host_len = 0;
	bool host_is_header = false;
	while (phpa_envelope_next_header(env, &cur, &idx, &name, &value)) {
		/* The first Host, else :authority (HTTP/2), as Request::getHost(). */
		const bool is_host = name.len == 4 && zend_binary_strncasecmp(name.ptr, 4, "host", 4, 4) == 0;
		if ((is_host && !host_is_header) || (!host && name.len == 10 && memcmp(name.ptr, ":authority", 10) == 0)) {
			host = value.ptr ? value.ptr : "";
			host_len = value.len;
			host_is_header = is_host;
		}
		add_header_var(ht, name, value, seen, &nseen, 64);
	}
	ADD_LIT(ht, "REQUEST_METHOD", env->method.ptr, env->method.len);
	ADD_LIT(ht, "REQUEST_URI", env->uri.ptr, env->uri.len);
	const char *q = env->uri.len ? memchr(env->uri.ptr, '?', env->uri.len) : NULL;
	if (q) {
		q++;
		size_t qlen = env->uri.ptr + env->uri.len - q;
		const char *hash = memchr(q, '#', qlen);
		ADD_LIT(ht, "QUERY_STRING", q, hash ? (size_t)(hash - q) : qlen);
	} else {
		ADD_LIT(ht, "QUERY_STRING", "", 0);
	}
	/* Not snprintf("%.*s"): PHP's takes the strlen() of the whole (unterminated) argument. */
	char proto[32] = "HTTP/";
	const size_t plen = env->protocol.len < 16 ? env->protocol.len : 16;
	if (plen) memcpy(proto + 5, env->protocol.ptr, plen);
	ADD_LIT(ht, "SERVER_PROTOCOL", proto, 5 + plen);
	ADD_LIT(ht, "REMOTE_ADDR", env->remote_addr.ptr, env->remote_addr.len);
	zval zv;
	ZVAL_LONG(&zv, (zend_long)env->remote_port);
	zend_hash_str_update(ht, "REMOTE_PORT", sizeof("REMOTE_PORT") - 1, &zv);
	const bool https = env->scheme.len == 5 && memcmp(env->scheme.ptr, "https", 5) == 0;
	ADD_LIT(ht, "REQUEST_SCHEME", https ? "https" : "http", https ? 5 : 4);
	if (https) ADD_LIT(ht, "HTTPS", "on", 2);
	else zend_hash_str_del(ht, "HTTPS", sizeof("HTTPS") - 1);
	if (host) {
		/* SERVER_NAME/SERVER_PORT from Host, as CGI servers with no configured name do. */
		size_t nlen = host_len;
		const char *port = NULL;
		if (host_len && host[0] == '[') {
			const char *rb = memchr(host, ']', host_len);
			if (rb) {
				nlen = (size_t)(rb - host) + 1;
				if (nlen < host_len && host[nlen] == ':') port = host + nlen + 1;
			}
		} else {
			const char *colon = memchr(host, ':', host_len);
			if (colon) {
				nlen = (size_t)(colon - host);
				port = colon + 1;
			}
		}
		ADD_LIT(ht, "SERVER_NAME", host, nlen);
		if (port) ADD_LIT(ht, "SERVER_PORT", port, (size_t)(host + host_len - port));
		else ADD_LIT(ht, "SERVER_PORT", https ? "443" : "80", https ? 3 : 2);
	}
	ZVAL_LONG(&zv, (zend_long)now);
	zend_hash_str_update(ht, "REQUEST_TIME", sizeof("REQUEST_TIME") - 1, &zv);
	ZVAL_DOUBLE(&zv, now);
	zend_hash_str_update(ht, "REQUEST_TIME_FLOAT", sizeof("REQUEST_TIME_FLOAT") - 1, &zv);
}
