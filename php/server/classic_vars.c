/*
 * A classic worker's $_SERVER script variables, as FrankenPHP fills them for a worker: the
 * worker file is the script of every request (SCRIPT_FILENAME, already the worker's), and
 * SCRIPT_NAME is its path under the site's root (DOCUMENT_ROOT). A request path that names a
 * .php file is split after it, as split_path does: DOCUMENT_URI is the part up to `.php`,
 * PATH_INFO the rest (decoded), PATH_TRANSLATED the rest under the root, and PHP_SELF is
 * SCRIPT_NAME + PATH_INFO. A worker file outside the root has no SCRIPT_NAME and no PATH_INFO
 * (FrankenPHP's rule). `.php` must end a path element (classic scripts split the same way:
 * src/server/scripts.ts), so `/a.phpx/b` has no PATH_INFO.
 */
#include "server/worker.h"

#include <ext/standard/url.h>
#include <pthread.h>
#include <stdlib.h>

#include "server/envelope.h"

/* Process-wide (both come from the config): the root without a trailing slash, and the worker
 * file under it ("/index.php"), "" when it is not under it. Never freed: the process' config. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *root;
static size_t root_len;
static char *script_name;
static size_t script_name_len;

/* path under dir ("/x.php"), or NULL when path is not under dir. */
static const char *under(const char *path, const char *dir, size_t dir_len)
{
	return strncmp(path, dir, dir_len) == 0 && path[dir_len] == '/' ? path + dir_len : NULL;
}

static void find_script_name(void)
{
	const phpa_config *c = phpa_runtime_config();
	const char *file = c->worker_file ? c->worker_file : "";
	if (c->document_root && c->document_root[0]) {
		root = strdup(c->document_root);
	} else {
		/* No site root given (the engine used without a Caddyfile): the worker's directory. */
		root = strdup(file);
		char *slash = root ? strrchr(root, '/') : NULL;
		if (slash) *slash = '\0';
	}
	if (!root) phpa_out_of_memory("the document root");
	root_len = strlen(root);
	while (root_len > 1 && root[root_len - 1] == '/') root[--root_len] = '\0';
	const size_t dir_len = strcmp(root, "/") == 0 ? 0 : root_len;
	const char *name = under(file, root, dir_len);
	char *real = name ? NULL : realpath(file, NULL); /* a root given by its real path */
	if (!name && real) name = under(real, root, dir_len);
	script_name = strdup(name ? name : "");
	free(real);
	if (!script_name) phpa_out_of_memory("the script name");
	script_name_len = strlen(script_name);
}

/* Where the first `.php` that ends a path element ends (0: none). */
static size_t split_at(const char *p, size_t len)
{
	for (size_t i = 1; i + 4 <= len; i++) {
		if (p[i] != '.' || p[i - 1] == '/' || zend_binary_strncasecmp(p + i, 4, ".php", 4, 4) != 0) continue;
		if (i + 4 == len || p[i + 4] == '/') return i + 4;
	}
	return 0;
}

static void put(HashTable *ht, const char *key, size_t klen, const char *v, size_t vlen)
{
	zval z;
	ZVAL_STRINGL_FAST(&z, v, vlen);
	zend_hash_str_update(ht, key, klen, &z);
}

#define PUT(ht, key, v, vlen) put(ht, key, sizeof(key) - 1, v, vlen)

void phpa_classic_script_vars(phpa_worker_req *r, zval *server)
{
	pthread_once(&once, find_script_name);
	SEPARATE_ARRAY(server);
	HashTable *ht = Z_ARRVAL_P(server);
	const phpa_envelope *env = phpa_request_envelope(r->request);
	size_t n = 0;
	while (n < env->uri.len && env->uri.ptr[n] != '?' && env->uri.ptr[n] != '#') n++;
	zend_string *path = zend_string_init(env->uri.ptr ? env->uri.ptr : "", n, 0);
	ZSTR_LEN(path) = php_raw_url_decode(ZSTR_VAL(path), ZSTR_LEN(path));
	const size_t at = script_name_len ? split_at(ZSTR_VAL(path), ZSTR_LEN(path)) : 0;
	const char *info = at ? ZSTR_VAL(path) + at : "";
	const size_t info_len = at ? ZSTR_LEN(path) - at : 0;

	PUT(ht, "DOCUMENT_ROOT", root, root_len);
	PUT(ht, "SCRIPT_NAME", script_name, script_name_len);
	PUT(ht, "DOCUMENT_URI", ZSTR_VAL(path), at);
	PUT(ht, "PATH_INFO", info, info_len);
	zval z;
	ZVAL_STR(&z, zend_string_concat2(script_name, script_name_len, info, info_len));
	zend_hash_str_update(ht, "PHP_SELF", sizeof("PHP_SELF") - 1, &z);
	if (info_len) {
		ZVAL_STR(&z, zend_string_concat2(root, root_len, info, info_len));
		zend_hash_str_update(ht, "PATH_TRANSLATED", sizeof("PATH_TRANSLATED") - 1, &z);
	} else {
		zend_hash_str_del(ht, "PATH_TRANSLATED", sizeof("PATH_TRANSLATED") - 1);
	}
	zend_string_release(path);
}
