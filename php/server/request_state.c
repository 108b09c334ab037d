/*
 * Per-request PHP state, saved and restored when a request coroutine is left and entered.
 *
 * Why: PHP keeps "the request" in thread globals (SG, OG, PG, EG, the ini table, the global
 * symbol table) because it serves one request per thread at a time. Here one PHP request lasts
 * as long as the worker and its coroutines serve many HTTP requests at once, so without this,
 * whatever one handler set leaked into every later (and every interleaved) request: header()
 * refused after the thread's first echo ever, a status set by http_response_code() seen by the
 * next request, error_get_last() returning another request's error, ini_set() outliving its
 * request, $_SERVER frozen at worker start.
 *
 * How: each request coroutine owns a phpa_request_state. _enter() moves the thread's own
 * ("neutral") values out of the globals into a thread-local slot and the request's values in;
 * _leave() does the reverse. Values are moved, not copied, so a switch costs a few dozen
 * pointer moves and no allocation. Spawned coroutines (Async\spawn) have no state: they run
 * in the thread's neutral state.
 *
 * What is swapped:
 * - SAPI: SG(sapi_headers) (status code, status line, mimetype), SG(headers_sent),
 *   request_method and proto_num (header('Location: ...') picks 302/303 from them, as CGI/FPM
 *   do), SG(global_request_time) (REQUEST_TIME), and php://input (request_body, read_post_bytes,
 *   post_read; read_post reads the request's own body).
 *   SG(request_info).no_headers is 1 inside a request: the status and headers are the
 *   Response's and go out with it at flush()/end(), like an output buffer as large as the
 *   body, so echo neither "sends" headers (header() after echo works until flush()/end(),
 *   headers_sent() says false until then) nor adds PHP's default Content-type. The header
 *   functions (header, header_remove, setcookie, setrawcookie, http_response_code) run with
 *   no_headers 0, so after flush()/end() PHP refuses them with its own warning.
 *   Status: header()'s status line, its response_code argument, Location (302/303),
 *   WWW-Authenticate (401) and http_response_code() set the Response's status, and
 *   Response::setStatus()/redirect() set what http_response_code() returns: the last call wins.
 *   headers_list() lists the Response's headers.
 * - Output: OG(output_start_filename/lineno) (headers_sent($file, $line)) and the output
 *   buffers the request opened (ob_start() in one request no longer swallows another's echo).
 * - Errors: PG(last_error_*) (error_get_last(), error_clear_last()). EG(error_reporting) is
 *   kept per fiber by PHP itself (so an @-silenced call that suspends silences nobody else),
 *   but a pooled fiber would hand the last request's value to the next: _begin() sets it.
 * - ini: every entry the request changed (ini_set(), set_time_limit(), error_reporting(), ...)
 *   is put back to the thread's value when it is left and re-applied when it is entered; the
 *   changes end with the request. memory_limit is one heap's limit for the whole thread: a
 *   request that raised it and allocated keeps it raised until its memory is freed.
 * - max_execution_time / set_time_limit(): PHP's SIGPROF timer cannot run inside Node, so the
 *   value becomes the request's deadline: now + N seconds, never later than request_timeout
 *   (0 gives request_timeout back). Enforced by the request-timeout machinery (limits.c), so it
 *   needs request_timeout on to interrupt a running handler (a waiting one always is).
 * - Superglobals (global symbol table): $_SERVER is the worker's $_SERVER plus this request's
 *   CGI variables; $_GET and $_COOKIE are Request::getQueryParams()/getCookies() (shared,
 *   parsed once); $_REQUEST is $_GET; $_POST and $_FILES are empty (parsing every body before
 *   the handler runs would cost each request and leave a malformed body nowhere to throw: use
 *   getParsedBody()/getUploadedFiles()). $_SERVER and $_REQUEST are PHP's "jit" globals: they
 *   are built per request only once code naming them has been compiled (or loaded from
 *   OPcache) on this interpreter, so an app that never reads them does not pay for them; made
 *   for the first time inside a request, they get that request's values (register_variables).
 * Not swapped: sessions (refused by name in hooks.c), $_ENV, globals of user code, and
 * anything a spawned coroutine changes (it changes the thread's neutral state).
 *
 * Cost, hello-world (src/bench/php/app.php /hello, one slice per request), 2026-11-24 on the
 * shared 2-core machine (load average 11-13): init 0.18 + enter 0.10 + leave 0.08 + destroy
 * 0.05 = ~0.4 us per request, timed in-process with clock_gettime over 3 x 20k requests. CPU per
 * request from /proc (all threads of the server, autocannon -c50, 6 alternating 5 s rounds,
 * main's build in the same run): median 23.3 us with this file vs 23.4 us without, i.e. below
 * the noise (pairs differ by -0.4..+1.7 us); req/s medians 20.5k vs 24.5k, rounds ranging
 * 12.8k-27.3k (req/s on this machine moves 30 % or more from run to run). Building $_SERVER
 * (dup of the worker's ~40 entries plus the request's) adds ~1 us to apps that read it.
 */
#include "request_state.h"

#include "../async_backend.h"
#include "../envelope.h"

#include <main/php_output.h>
#include <main/php_streams.h>
#include <sys/time.h>
#include <zend_exceptions.h>
#include <zend_ini.h>
#include <zend_interfaces.h>

/* Superglobals swapped, in this order. */
enum { SG_SERVER, SG_GET, SG_POST, SG_COOKIE, SG_FILES, SG_REQUEST, SG_COUNT };
static const char *const sg_names[SG_COUNT] = {"_SERVER", "_GET", "_POST", "_COOKIE", "_FILES", "_REQUEST"};
static zend_string *sg_keys[SG_COUNT]; /* interned at minit */

/* Everything moved between the globals and a state (a request's, or the thread's neutral). */
typedef struct {
	sapi_headers_struct sapi_headers;
	unsigned char headers_sent;
	bool no_headers;
	const char *request_method;
	int proto_num;
	struct _php_stream *request_body;
	int64_t read_post_bytes;
	unsigned char post_read;
	double request_time;
	zend_string *output_start_filename;
	int output_start_lineno;
	int last_error_type;
	int last_error_lineno;
	zend_string *last_error_message, *last_error_file;
	zval globals[SG_COUNT];
} swapped;

struct phpa_request_state {
	swapped v;
	phpa_coroutine *co;
	char *method;                 /* NUL-terminated copy for SG(request_info).request_method */
	uint64_t server_deadline_ns;  /* request_timeout's deadline (0: none) */
	HashTable *ini;               /* entry name => value the request set (NULL: none) */
	php_output_handler **obs;     /* output buffers it opened, bottom first, while it is left */
	uint32_t nobs, obs_cap;
	int ob_base;                  /* output level of the thread when the request was entered */
	int error_reporting;          /* the thread's, when the request started */
};

/* The thread's own values while a request is entered, and which request that is. */
static __thread swapped neutral;
static __thread phpa_request_state *entered;

/* ini entries modified in the neutral state, with their values (referenced), taken at enter. */
typedef struct {
	zend_ini_entry *entry;
	zend_string *value;
} ini_item;
static __thread ini_item neutral_ini_inline[32];
static __thread ini_item *neutral_ini_big; /* emalloc'd past 32 entries, until leave */
#define neutral_ini (neutral_ini_big ? neutral_ini_big : neutral_ini_inline)
static __thread uint32_t neutral_ini_n;
/* Set while we re-apply values ourselves: max_execution_time must not move a deadline then. */
static __thread bool applying_ini;

static zend_function *get_query_fn, *get_cookies_fn, *get_headers_fn;

/* ---- moving values between the globals and a state --------------------------------------- */

static zval *global_slot(int i)
{
	zval *zv = zend_hash_find_known_hash(&EG(symbol_table), sg_keys[i]);
	if (zv && Z_TYPE_P(zv) == IS_INDIRECT) zv = Z_INDIRECT_P(zv);
	return zv;
}

static void save_globals(swapped *d)
{
	d->sapi_headers = SG(sapi_headers);
	d->headers_sent = SG(headers_sent);
	d->no_headers = SG(request_info).no_headers;
	d->request_method = SG(request_info).request_method;
	d->proto_num = SG(request_info).proto_num;
	d->request_body = SG(request_info).request_body;
	d->read_post_bytes = SG(read_post_bytes);
	d->post_read = SG(post_read);
	d->request_time = SG(global_request_time);
	d->output_start_filename = OG(output_start_filename);
	d->output_start_lineno = OG(output_start_lineno);
	d->last_error_type = PG(last_error_type);
	d->last_error_lineno = PG(last_error_lineno);
	d->last_error_message = PG(last_error_message);
	d->last_error_file = PG(last_error_file);
	for (int i = 0; i < SG_COUNT; i++) {
		zval *zv = global_slot(i);
		if (zv) {
			ZVAL_COPY_VALUE(&d->globals[i], zv);
			ZVAL_NULL(zv); /* moved out; replaced by load_globals() right after */
		} else {
			ZVAL_UNDEF(&d->globals[i]);
		}
	}
}

static void load_globals(swapped *s)
{
	SG(sapi_headers) = s->sapi_headers;
	SG(headers_sent) = s->headers_sent;
	SG(request_info).no_headers = s->no_headers;
	SG(request_info).request_method = s->request_method;
	SG(request_info).proto_num = s->proto_num;
	SG(request_info).request_body = s->request_body;
	SG(read_post_bytes) = s->read_post_bytes;
	SG(post_read) = s->post_read;
	SG(global_request_time) = s->request_time;
	OG(output_start_filename) = s->output_start_filename;
	OG(output_start_lineno) = s->output_start_lineno;
	PG(last_error_type) = s->last_error_type;
	PG(last_error_lineno) = s->last_error_lineno;
	PG(last_error_message) = s->last_error_message;
	PG(last_error_file) = s->last_error_file;
	for (int i = 0; i < SG_COUNT; i++) {
		if (Z_ISUNDEF(s->globals[i])) continue;
		zval *zv = global_slot(i);
		if (zv) {
			zval_ptr_dtor(zv); /* NULL after save_globals(); a value user code put there meanwhile */
			ZVAL_COPY_VALUE(zv, &s->globals[i]);
		} else {
			zend_hash_add_new(&EG(symbol_table), sg_keys[i], &s->globals[i]);
		}
		ZVAL_UNDEF(&s->globals[i]);
	}
}

/* ---- ini --------------------------------------------------------------------------------- */

static void snapshot_neutral_ini(void)
{
	neutral_ini_n = 0;
	HashTable *mod = EG(modified_ini_directives);
	if (!mod || zend_hash_num_elements(mod) == 0) return;
	/* Thread-local storage of its own: nothing to free when the thread ends. */
	if (zend_hash_num_elements(mod) > 32) neutral_ini_big = emalloc(zend_hash_num_elements(mod) * sizeof(ini_item));
	zend_ini_entry *e;
	ZEND_HASH_FOREACH_PTR(mod, e) {
		neutral_ini[neutral_ini_n].entry = e;
		neutral_ini[neutral_ini_n].value = e->value ? zend_string_copy(e->value) : NULL;
		neutral_ini_n++;
	} ZEND_HASH_FOREACH_END();
}

static void release_neutral_ini(void)
{
	for (uint32_t i = 0; i < neutral_ini_n; i++) {
		if (neutral_ini[i].value) zend_string_release(neutral_ini[i].value);
	}
	neutral_ini_n = 0;
	if (neutral_ini_big) efree(neutral_ini_big);
	neutral_ini_big = NULL;
}

static ini_item *neutral_ini_find(zend_ini_entry *e)
{
	for (uint32_t i = 0; i < neutral_ini_n; i++) {
		if (neutral_ini[i].entry == e) return &neutral_ini[i];
	}
	return NULL;
}

/* DEACTIVATE: what request shutdown uses to put values back; handlers then neither warn nor
 * arm timers (memory_limit that cannot be lowered yet stays where it is). */
static void ini_set_value(zend_string *name, zend_string *value)
{
	applying_ini = true;
	zend_alter_ini_entry_ex(name, value, ZEND_INI_ALL, ZEND_INI_STAGE_DEACTIVATE, 1);
	applying_ini = false;
}

static void remember_ini(phpa_request_state *s, zend_ini_entry *e, zend_string *value)
{
	if (!s->ini) {
		ALLOC_HASHTABLE(s->ini);
		zend_hash_init(s->ini, 4, NULL, ZVAL_PTR_DTOR, 0);
	}
	zval v;
	if (value) ZVAL_STR_COPY(&v, value);
	else ZVAL_NULL(&v);
	zend_hash_update(s->ini, e->name, &v);
}

/* Leaving s: what the request changed is kept in s->ini and the neutral values come back. */
static void leave_ini(phpa_request_state *s)
{
	/* Entries the thread had changed: the request set another value or ini_restore()d them
	 * (put back first, so that afterwards every one of them is in `mod` again). */
	for (uint32_t i = 0; i < neutral_ini_n; i++) {
		zend_ini_entry *e = neutral_ini[i].entry;
		if (e->modified && e->value == neutral_ini[i].value) continue;
		remember_ini(s, e, e->value);
		ini_set_value(e->name, neutral_ini[i].value);
	}
	HashTable *mod = EG(modified_ini_directives);
	if (mod && zend_hash_num_elements(mod) != neutral_ini_n) {
		/* Entries first changed by this request: restored after the walk (restoring removes
		 * them from `mod`). */
		zend_string *stack[8], **fresh = stack;
		uint32_t nfresh = 0, cap = 8;
		zend_ini_entry *e;
		ZEND_HASH_FOREACH_PTR(mod, e) {
			if (neutral_ini_find(e)) continue;
			remember_ini(s, e, e->value);
			if (nfresh == cap) {
				cap *= 2;
				zend_string **p = emalloc(cap * sizeof *p);
				memcpy(p, fresh, nfresh * sizeof *p);
				if (fresh != stack) efree(fresh);
				fresh = p;
			}
			fresh[nfresh++] = e->name;
		} ZEND_HASH_FOREACH_END();
		applying_ini = true;
		for (uint32_t i = 0; i < nfresh; i++) zend_restore_ini_entry(fresh[i], ZEND_INI_STAGE_DEACTIVATE);
		applying_ini = false;
		if (fresh != stack) efree(fresh);
	}
	release_neutral_ini();
}

static void enter_ini(phpa_request_state *s)
{
	snapshot_neutral_ini();
	if (!s->ini) return;
	zend_string *name;
	zval *v;
	ZEND_HASH_FOREACH_STR_KEY_VAL(s->ini, name, v) {
		if (Z_TYPE_P(v) == IS_STRING) {
			ini_set_value(name, Z_STR_P(v));
		} else {
			applying_ini = true;
			zend_restore_ini_entry(name, ZEND_INI_STAGE_DEACTIVATE);
			applying_ini = false;
		}
	} ZEND_HASH_FOREACH_END();
}

/* ---- output buffers ---------------------------------------------------------------------- */

static void leave_output(phpa_request_state *s)
{
	int level = zend_stack_count(&OG(handlers));
	if (level <= s->ob_base) return;
	uint32_t n = (uint32_t)(level - s->ob_base);
	if (s->obs_cap < n) {
		s->obs = erealloc(s->obs, n * sizeof *s->obs);
		s->obs_cap = n;
	}
	for (uint32_t i = n; i-- > 0;) {
		s->obs[i] = *(php_output_handler **)zend_stack_top(&OG(handlers));
		zend_stack_del_top(&OG(handlers));
	}
	s->nobs = n;
	OG(active) = zend_stack_count(&OG(handlers)) ? *(php_output_handler **)zend_stack_top(&OG(handlers)) : NULL;
}

static void enter_output(phpa_request_state *s)
{
	s->ob_base = zend_stack_count(&OG(handlers));
	for (uint32_t i = 0; i < s->nobs; i++) zend_stack_push(&OG(handlers), &s->obs[i]);
	if (s->nobs) OG(active) = s->obs[s->nobs - 1];
	s->nobs = 0;
}

/* ---- $_SERVER ---------------------------------------------------------------------------- */

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
static void add_request_vars(HashTable *ht, const phpa_envelope *env, double now)
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

static bool has_header(const phpa_envelope *env, const char *want, uint32_t len)
{
	const uint8_t *cur = NULL;
	uint32_t idx = 0;
	phpa_bytes name, value;
	while (phpa_envelope_next_header(env, &cur, &idx, &name, &value)) {
		if (name.len == len && zend_binary_strncasecmp(name.ptr, len, want, len, len) == 0) return true;
	}
	return false;
}

/* A jit superglobal ($_SERVER, $_REQUEST) is made only once code that names it was compiled (or
 * loaded from OPcache) on this interpreter: until then no code can read it, so no request pays
 * for it. Returns the thread's array, made now if the slot lost it. */
static zval *jit_global(int i)
{
	zend_auto_global *ag = zend_hash_find_ptr(CG(auto_globals), sg_keys[i]);
	if (ag && ag->armed) return NULL;
	zval *zv = global_slot(i);
	if (zv) ZVAL_DEREF(zv);
	if ((!zv || Z_TYPE_P(zv) != IS_ARRAY) && ag && ag->auto_global_callback) {
		ag->auto_global_callback(ag->name); /* puts it into the symbol table */
		zv = global_slot(i);
		if (zv) ZVAL_DEREF(zv);
	}
	return zv && Z_TYPE_P(zv) == IS_ARRAY ? zv : NULL;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void call_request_method(zend_object *request, zend_function *fn, zval *out)
{
	ZVAL_UNDEF(out);
	zend_call_known_instance_method_with_0_params(fn, request, out);
	if (Z_TYPE_P(out) != IS_ARRAY) {
		zval_ptr_dtor(out);
		ZVAL_EMPTY_ARRAY(out);
	}
}

void phpa_request_state_init(phpa_coroutine *co)
{
	phpa_request_state *s = ecalloc(1, sizeof *s);
	co->reqstate = s;
	s->co = co;
	s->server_deadline_ns = co->deadline_ns;
	co->time_limit_ms = 0;
	const phpa_envelope *env = phpa_request_envelope(co->request);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	const double now = (double)tv.tv_sec + (double)tv.tv_usec / 1000000.0;

	swapped *v = &s->v;
	zend_llist_init(&v->sapi_headers.headers, sizeof(sapi_header_struct), (void (*)(void *))sapi_free_header, 0);
	v->sapi_headers.http_response_code = 200;
	v->no_headers = true;
	s->method = estrndup(env->method.ptr ? env->method.ptr : "", env->method.len);
	v->request_method = s->method;
	v->proto_num = env->protocol.len == 3 && env->protocol.ptr[0] >= '0' && env->protocol.ptr[0] <= '9'
		? (env->protocol.ptr[0] - '0') * 1000 + (env->protocol.ptr[2] - '0')
		: 1000;
	v->request_time = now;
	s->error_reporting = EG(error_reporting);

	/* Superglobals. $_GET and $_COOKIE share the Request's parsed arrays. */
	zval *base = jit_global(SG_SERVER);
	if (base) {
		ZVAL_ARR(&v->globals[SG_SERVER], zend_array_dup(Z_ARRVAL_P(base)));
		add_request_vars(Z_ARRVAL(v->globals[SG_SERVER]), env, now);
	} else {
		ZVAL_UNDEF(&v->globals[SG_SERVER]); /* made by phpa_request_state_register_variables() if needed */
	}
	if (env->uri.len && memchr(env->uri.ptr, '?', env->uri.len)) call_request_method(co->request, get_query_fn, &v->globals[SG_GET]);
	else ZVAL_EMPTY_ARRAY(&v->globals[SG_GET]);
	if (has_header(env, "cookie", 6)) call_request_method(co->request, get_cookies_fn, &v->globals[SG_COOKIE]);
	else ZVAL_EMPTY_ARRAY(&v->globals[SG_COOKIE]);
	ZVAL_EMPTY_ARRAY(&v->globals[SG_POST]);
	ZVAL_EMPTY_ARRAY(&v->globals[SG_FILES]);
	if (jit_global(SG_REQUEST)) ZVAL_COPY(&v->globals[SG_REQUEST], &v->globals[SG_GET]);
	else ZVAL_UNDEF(&v->globals[SG_REQUEST]);
}

void phpa_request_state_register_variables(zval *track_vars)
{
	/* $_SERVER made for the first time while a request runs (code naming it was just compiled). */
	if (entered && Z_TYPE_P(track_vars) == IS_ARRAY) {
		add_request_vars(Z_ARRVAL_P(track_vars), phpa_request_envelope(entered->co->request), SG(global_request_time));
	}
}

void phpa_request_state_enter(phpa_coroutine *co)
{
	phpa_request_state *s = co->reqstate;
	if (!s) return;
	save_globals(&neutral);
	enter_ini(s);
	load_globals(&s->v);
	enter_output(s);
	entered = s;
}

void phpa_request_state_begin(phpa_coroutine *co)
{
	if (co->reqstate) EG(error_reporting) = co->reqstate->error_reporting;
}

void phpa_request_state_leave(phpa_coroutine *co)
{
	phpa_request_state *s = co->reqstate;
	if (!s || entered != s) return;
	entered = NULL;
	leave_output(s);
	save_globals(&s->v);
	leave_ini(s);
	load_globals(&neutral);
}

void phpa_request_state_destroy(phpa_coroutine *co)
{
	phpa_request_state *s = co->reqstate;
	if (!s) return;
	co->reqstate = NULL;
	if (entered == s) phpa_request_state_leave(co);
	swapped *v = &s->v;
	zend_llist_destroy(&v->sapi_headers.headers);
	if (v->sapi_headers.mimetype) efree(v->sapi_headers.mimetype);
	if (v->sapi_headers.http_status_line) efree(v->sapi_headers.http_status_line);
	if (v->request_body) php_stream_close(v->request_body);
	if (v->output_start_filename) zend_string_release(v->output_start_filename);
	if (v->last_error_message) zend_string_release(v->last_error_message);
	if (v->last_error_file) zend_string_release(v->last_error_file);
	for (int i = 0; i < SG_COUNT; i++) zval_ptr_dtor(&v->globals[i]);
	/* Buffers of a request cut short while suspended (serve() ends the others). */
	for (uint32_t i = 0; i < s->nobs; i++) php_output_handler_free(&s->obs[i]);
	if (s->obs) efree(s->obs);
	if (s->ini) {
		zend_hash_destroy(s->ini);
		FREE_HASHTABLE(s->ini);
	}
	efree(s->method);
	efree(s);
}

void phpa_request_state_bailout(void)
{
	if (entered) {
		/* The request's values stay where the fatal error left them: request shutdown frees them
		 * with the rest of the heap. Only pointers into our own memory must not survive. */
		entered = NULL;
		SG(request_info).request_method = neutral.request_method;
		SG(request_info).no_headers = neutral.no_headers;
		SG(request_info).proto_num = neutral.proto_num;
		for (int i = 0; i < SG_COUNT; i++) ZVAL_UNDEF(&neutral.globals[i]);
	}
	neutral_ini_n = 0; /* its references (and an emalloc'd array) went with the heap */
	neutral_ini_big = NULL;
}

/* ---- hooks from response.c and sapi.c ---------------------------------------------------- */

static bool is_entered_response(zend_object *response)
{
	return entered && entered->co->response == response;
}

void phpa_request_state_head_sent(zend_object *response)
{
	if (is_entered_response(response)) SG(headers_sent) = 1;
}

void phpa_request_state_status_set(zend_object *response, int status)
{
	if (is_entered_response(response)) SG(sapi_headers).http_response_code = status;
}

size_t phpa_request_state_read_post(char *buf, size_t len)
{
	if (!entered) return 0;
	const phpa_envelope *env = phpa_request_envelope(entered->co->request);
	if (SG(read_post_bytes) < 0 || (uint64_t)SG(read_post_bytes) >= env->body.len) return 0;
	size_t left = env->body.len - (size_t)SG(read_post_bytes);
	size_t n = left < len ? left : len;
	memcpy(buf, env->body.ptr + SG(read_post_bytes), n);
	return n;
}

/* ---- PHP functions wrapped --------------------------------------------------------------- */

/* Header functions inside a request: PHP's own "headers already sent" check applies (so
 * no_headers is 0 during the call), and a status they set becomes the Response's. */
static void header_call(zif_handler orig, INTERNAL_FUNCTION_PARAMETERS)
{
	phpa_request_state *s = entered;
	if (!s) {
		orig(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	const int before = SG(sapi_headers).http_response_code;
	SG(request_info).no_headers = 0;
	orig(INTERNAL_FUNCTION_PARAM_PASSTHRU);
	SG(request_info).no_headers = 1;
	const int after = SG(sapi_headers).http_response_code;
	if (after == before || entered != s) return;
	if (after < 200 || after > 599) {
		SG(sapi_headers).http_response_code = before;
		if (!EG(exception)) {
			zend_value_error("%s(): The response status must be between 200 and 599 (1xx informational statuses "
				"cannot be sent as the response status), %d given", get_active_function_name(), after);
		}
		return;
	}
	phpa_response_sapi_status(s->co->response, after);
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
	phpa_request_state *s = entered;
	if (!s) {
		orig_headers_list(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	ZEND_PARSE_PARAMETERS_NONE();
	zval headers;
	ZVAL_UNDEF(&headers);
	zend_call_known_instance_method_with_0_params(get_headers_fn, s->co->response, &headers);
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
	if (!entered) {
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
	if (!phpa_ts) return orig_on_timeout(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage); /* php-cli */
	zend_long secs = ZEND_STRTOL(ZSTR_VAL(new_value), NULL, 10);
	EG(timeout_seconds) = secs;
	phpa_request_state *s = entered;
	if (!s || applying_ini || stage != ZEND_INI_STAGE_RUNTIME) return SUCCESS;
	phpa_coroutine *co = s->co;
	uint64_t d = s->server_deadline_ns;
	co->time_limit_ms = 0;
	if (secs > 0) {
		uint64_t mine = phpa_now_ns() + (uint64_t)secs * 1000000000u;
		if (!d || mine < d) {
			d = mine;
			co->time_limit_ms = secs < 4000000 ? (uint32_t)secs * 1000u : UINT32_MAX;
		}
	}
	co->deadline_ns = d;
	phpa_timer_stop(&co->deadline_timer);
	if (d) phpa_timer_start(&co->deadline_timer, d);
	/* The watchdog reads the running coroutine's deadline from its slot. */
	phpa_limits_leave(phpa_ts);
	phpa_limits_enter(phpa_ts, co);
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

void phpa_request_state_minit(void)
{
	for (int i = 0; i < SG_COUNT; i++) sg_keys[i] = zend_string_init_interned(sg_names[i], strlen(sg_names[i]), 1);
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
	get_query_fn = zend_hash_str_find_ptr(&phpa_ce_request->function_table, "getqueryparams", sizeof("getqueryparams") - 1);
	get_cookies_fn = zend_hash_str_find_ptr(&phpa_ce_request->function_table, "getcookies", sizeof("getcookies") - 1);
	get_headers_fn = zend_hash_str_find_ptr(&phpa_ce_response->function_table, "getheaders", sizeof("getheaders") - 1);
}
