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
 *   request that raised it and allocated keeps it raised until its memory is freed
 *   (request_ini.c).
 * - max_execution_time / set_time_limit(): PHP's SIGPROF timer cannot run inside Node, so the
 *   value becomes the request's deadline: now + N seconds, never later than request_timeout
 *   (0 gives request_timeout back; request_functions.c). Enforced by the request-timeout
 *   machinery (worker_limits.c), so it needs request_timeout on to interrupt a running handler
 *   (a waiting one always is).
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
 * Instructions under callgrind (scripts/bench-instructions.sh, 2026-11-25): enter + leave were
 * ~1,640 of the PHP thread's 8,067 per hello request, half of it looking the six superglobals
 * up by name twice per switch; with the slot cache, one exchange pass per switch and one
 * thread-local lookup per function they are ~800 (the thread's total 6,205 with the other
 * changes of that day).
 */
#include "server/request_state.h"

#include <SAPI.h>
#include <main/php_output.h>
#include <main/php_streams.h>
#include <sys/time.h>
#include <zend_exceptions.h>
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
	phpa_worker_req *r;
	char *method;                 /* NUL-terminated copy for SG(request_info).request_method */
	char method_inline[16];       /* where that copy is when it fits (every standard method) */
	HashTable *ini;               /* entry name => value the request set (NULL: none) */
	php_output_handler **obs;     /* output buffers it opened, bottom first, while it is left */
	uint32_t nobs, obs_cap;
	int ob_base;                  /* output level of the thread when the request was entered */
	int error_reporting;          /* the thread's, when the request started */
};

static zend_function *get_query_fn, *get_cookies_fn;

/* ---- moving values between the globals and a state --------------------------------------- */

/* Where each superglobal was last found in EG(symbol_table): its bucket's index and key. Every
 * switch in and out reads and writes the six slots, and a lookup by name costs a hash probe
 * plus a string compare (the table's keys are not our interned pointers once OPcache has
 * moved the interned strings). The cached bucket is used only while it still holds that same
 * key: a rehash, compaction or deletion moves or empties it and the name is looked up again.
 * Only interned keys are cached: they live until the PHP request (the interpreter) ends, so
 * the pointer cannot be reused by another key meanwhile; sg_cache_reset() forgets them when
 * the interpreter starts over. */
typedef struct {
	const zend_string *key;
	uint32_t idx;
} slot_cache;

/* The thread's own state. One thread-local struct, its address taken once per function: each
 * separate thread-local costs a __tls_get_addr() call in a shared object. */
typedef struct {
	swapped neutral;             /* the thread's own values while a request is entered */
	phpa_request_state *entered; /* and which request that is */
	slot_cache sg_cache[SG_COUNT];
	const HashTable *ag_table;   /* CG(auto_globals) that ag_cache was read from */
	zend_auto_global *ag_cache[SG_COUNT];
} thread_state;
static __thread thread_state ts;

/* &ts, taken once: GCC would otherwise recompute a thread-local's address (another
 * __tls_get_addr() call) after every call in the function; the empty asm makes it opaque. */
static inline thread_state *tstate(void)
{
	thread_state *t = &ts;
	__asm__("" : "+r"(t));
	return t;
}

static void sg_cache_reset(void) { memset(ts.sg_cache, 0, sizeof ts.sg_cache); }

static inline __attribute__((always_inline)) zval *global_slot(slot_cache *sg_cache, int i)
{
	const HashTable *ht = &EG(symbol_table);
	zval *zv;
	const uint32_t idx = sg_cache[i].idx;
	if (sg_cache[i].key && idx < ht->nNumUsed && ht->arData[idx].key == sg_cache[i].key &&
		!Z_ISUNDEF(ht->arData[idx].val)) {
		zv = &ht->arData[idx].val;
	} else {
		zv = zend_hash_find_known_hash(ht, sg_keys[i]);
		if (!zv) return NULL;
		const Bucket *b = (const Bucket *)zv; /* val is a Bucket's first member */
		sg_cache[i].key = ZSTR_IS_INTERNED(b->key) ? b->key : NULL;
		sg_cache[i].idx = (uint32_t)(b - ht->arData);
	}
	if (Z_TYPE_P(zv) == IS_INDIRECT) zv = Z_INDIRECT_P(zv);
	return zv;
}

/* One switch: the values in the globals go to *out, *in's come in (values are moved, so *in is
 * left empty). Entering a request: out = the thread's, in = the request's; leaving: the reverse.
 * One pass, so each superglobal slot is found once per switch. */
static void exchange(thread_state *t, swapped *out, swapped *in)
{
#define MOVE(field, global) do { out->field = (global); (global) = in->field; } while (0)
	MOVE(sapi_headers, SG(sapi_headers));
	MOVE(headers_sent, SG(headers_sent));
	MOVE(no_headers, SG(request_info).no_headers);
	MOVE(request_method, SG(request_info).request_method);
	MOVE(proto_num, SG(request_info).proto_num);
	MOVE(request_body, SG(request_info).request_body);
	MOVE(read_post_bytes, SG(read_post_bytes));
	MOVE(post_read, SG(post_read));
	MOVE(request_time, SG(global_request_time));
	MOVE(output_start_filename, OG(output_start_filename));
	MOVE(output_start_lineno, OG(output_start_lineno));
	MOVE(last_error_type, PG(last_error_type));
	MOVE(last_error_lineno, PG(last_error_lineno));
	MOVE(last_error_message, PG(last_error_message));
	MOVE(last_error_file, PG(last_error_file));
#undef MOVE
	for (int i = 0; i < SG_COUNT; i++) {
		zval *zv = global_slot(t->sg_cache, i);
		if (zv) {
			ZVAL_COPY_VALUE(&out->globals[i], zv);
			if (Z_ISUNDEF(in->globals[i])) ZVAL_NULL(zv); /* a jit global not made for this side */
			else ZVAL_COPY_VALUE(zv, &in->globals[i]);
		} else {
			ZVAL_UNDEF(&out->globals[i]);
			if (!Z_ISUNDEF(in->globals[i])) zend_hash_add_new(&EG(symbol_table), sg_keys[i], &in->globals[i]);
		}
		ZVAL_UNDEF(&in->globals[i]);
	}
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

/* A jit superglobal ($_SERVER, $_REQUEST) is made only once code that names it was compiled (or
 * loaded from OPcache) on this interpreter: until then no code can read it, so no request pays
 * for it. Returns the thread's array, made now if the slot lost it. */
static zval *jit_global(int i)
{
	/* CG(auto_globals) is built once per thread (per interpreter thread under ZTS): its
	 * entries are looked up once, and again only if the table is another one. */
	thread_state *t = tstate();
	if (t->ag_table != CG(auto_globals)) {
		for (int k = 0; k < SG_COUNT; k++) t->ag_cache[k] = zend_hash_find_ptr(CG(auto_globals), sg_keys[k]);
		t->ag_table = CG(auto_globals);
	}
	zend_auto_global *ag = t->ag_cache[i];
	if (ag && ag->armed) return NULL;
	zval *zv = global_slot(t->sg_cache, i);
	if (zv) ZVAL_DEREF(zv);
	if ((!zv || Z_TYPE_P(zv) != IS_ARRAY) && ag && ag->auto_global_callback) {
		ag->auto_global_callback(ag->name); /* puts it into the symbol table */
		zv = global_slot(t->sg_cache, i);
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

void phpa_request_state_init(phpa_worker_req *r)
{
	phpa_request_state *s = ecalloc(1, sizeof *s);
	r->state = s;
	s->r = r;
	const phpa_envelope *env = phpa_request_envelope(r->request);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	const double now = (double)tv.tv_sec + (double)tv.tv_usec / 1000000.0;

	swapped *v = &s->v;
	zend_llist_init(&v->sapi_headers.headers, sizeof(sapi_header_struct), (void (*)(void *))sapi_free_header, 0);
	v->sapi_headers.http_response_code = 200;
	v->no_headers = true;
	if (env->method.len < sizeof s->method_inline) {
		s->method = s->method_inline;
		if (env->method.len) memcpy(s->method, env->method.ptr, env->method.len);
		s->method[env->method.len] = '\0';
	} else {
		s->method = estrndup(env->method.ptr, env->method.len);
	}
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
		phpa_request_vars_add(Z_ARRVAL(v->globals[SG_SERVER]), env, now);
	} else {
		ZVAL_UNDEF(&v->globals[SG_SERVER]); /* made by phpa_request_state_register_variables() if needed */
	}
	if (env->uri.len && memchr(env->uri.ptr, '?', env->uri.len)) call_request_method(r->request, get_query_fn, &v->globals[SG_GET]);
	else ZVAL_EMPTY_ARRAY(&v->globals[SG_GET]);
	if (env->has_cookie) call_request_method(r->request, get_cookies_fn, &v->globals[SG_COOKIE]);
	else ZVAL_EMPTY_ARRAY(&v->globals[SG_COOKIE]);
	ZVAL_EMPTY_ARRAY(&v->globals[SG_POST]);
	ZVAL_EMPTY_ARRAY(&v->globals[SG_FILES]);
	if (jit_global(SG_REQUEST)) ZVAL_COPY(&v->globals[SG_REQUEST], &v->globals[SG_GET]);
	else ZVAL_UNDEF(&v->globals[SG_REQUEST]);
}

void phpa_request_state_register_variables(zval *track_vars)
{
	/* $_SERVER made for the first time while a request runs (code naming it was just compiled). */
	if (ts.entered && Z_TYPE_P(track_vars) == IS_ARRAY) {
		phpa_request_vars_add(Z_ARRVAL_P(track_vars), phpa_request_envelope(ts.entered->r->request), SG(global_request_time));
	}
}

void phpa_request_state_enter(phpa_worker_req *r)
{
	phpa_request_state *s = r->state;
	if (!s) return;
	thread_state *t = tstate();
	exchange(t, &t->neutral, &s->v);
	phpa_request_ini_enter(s->ini);
	enter_output(s);
	t->entered = s;
}

void phpa_request_state_begin(phpa_worker_req *r)
{
	if (r->state) EG(error_reporting) = r->state->error_reporting;
}

void phpa_request_state_leave(phpa_worker_req *r)
{
	phpa_request_state *s = r->state;
	thread_state *t = tstate();
	if (!s || t->entered != s) return;
	t->entered = NULL;
	leave_output(s);
	exchange(t, &s->v, &t->neutral);
	phpa_request_ini_leave(&s->ini);
}

void phpa_request_state_destroy(phpa_worker_req *r)
{
	phpa_request_state *s = r->state;
	if (!s) return;
	if (ts.entered == s) phpa_request_state_leave(r);
	r->state = NULL;
	swapped *v = &s->v;
	zend_llist_destroy(&v->sapi_headers.headers);
	if (v->sapi_headers.mimetype) efree(v->sapi_headers.mimetype);
	if (v->sapi_headers.http_status_line) efree(v->sapi_headers.http_status_line);
	if (v->request_body) php_stream_close(v->request_body);
	if (v->output_start_filename) zend_string_release(v->output_start_filename);
	if (v->last_error_message) zend_string_release(v->last_error_message);
	if (v->last_error_file) zend_string_release(v->last_error_file);
	for (int i = 0; i < SG_COUNT; i++) zval_ptr_dtor(&v->globals[i]);
	/* Buffers of a request cut short while suspended (request_body() in async_worker.c ends the others). */
	for (uint32_t i = 0; i < s->nobs; i++) php_output_handler_free(&s->obs[i]);
	if (s->obs) efree(s->obs);
	phpa_request_ini_free(s->ini);
	if (s->method != s->method_inline) efree(s->method);
	efree(s);
}

void phpa_request_state_bailout(void)
{
	if (ts.entered) {
		/* The request's values stay where the fatal error left them: request shutdown frees them
		 * with the rest of the heap. Only pointers into our own memory must not survive. */
		ts.entered = NULL;
		SG(request_info).request_method = ts.neutral.request_method;
		SG(request_info).no_headers = ts.neutral.no_headers;
		SG(request_info).proto_num = ts.neutral.proto_num;
		for (int i = 0; i < SG_COUNT; i++) ZVAL_UNDEF(&ts.neutral.globals[i]);
	}
	phpa_request_ini_bailout();
}

/* ---- hooks from response.c and embed/sapi.c ---------------------------------------------- */

static bool is_entered_response(zend_object *response)
{
	return ts.entered && ts.entered->r->response == response;
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
	if (!ts.entered) return 0;
	const phpa_envelope *env = phpa_request_envelope(ts.entered->r->request);
	if (SG(read_post_bytes) < 0 || (uint64_t)SG(read_post_bytes) >= env->body.len) return 0;
	size_t left = env->body.len - (size_t)SG(read_post_bytes);
	size_t n = left < len ? left : len;
	memcpy(buf, env->body.ptr + SG(read_post_bytes), n);
	return n;
}

phpa_worker_req *phpa_request_state_entered(void) { return ts.entered ? ts.entered->r : NULL; }

void phpa_request_state_interpreter_start(void) { sg_cache_reset(); }

void phpa_request_state_minit(void)
{
	for (int i = 0; i < SG_COUNT; i++) sg_keys[i] = zend_string_init_interned(sg_names[i], strlen(sg_names[i]), 1);
	get_query_fn = zend_hash_str_find_ptr(&phpa_ce_request->function_table, "getqueryparams", sizeof("getqueryparams") - 1);
	get_cookies_fn = zend_hash_str_find_ptr(&phpa_ce_request->function_table, "getcookies", sizeof("getcookies") - 1);
	phpa_request_functions_minit();
}
