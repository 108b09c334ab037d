/*
 * The classic worker (FrankenPHP's worker mode): the worker file boots once and loops on
 * frankenphp_handle_request($callback), which waits for the next request, runs the callback
 * for it with PHP's request state filled ($_SERVER, $_GET, $_POST, $_COOKIE, $_FILES,
 * php://input, header(), echo), sends the response and returns true; false once the server
 * stops (or the thread restarts for max_requests), so the script can end cleanly.
 *
 * How: the worker file runs outside every coroutine, as the async worker's does, and
 * frankenphp_handle_request() runs the thread's scheduler loop itself until one request is
 * over. The request is served exactly as an async request: a coroutine of its own whose
 * enter/leave hooks put its PHP state in place (request_state.c), with the same 500/504/499
 * policy (worker_limits.c); only its body calls the callback instead of an onRequest handler
 * (phpa_worker_req.call). At most one request is in flight: the ring is read only while none
 * is. Why a coroutine rather than calling the callback on the worker's own stack: request
 * timeouts, client aborts, contained fatal errors, blocking calls that yield and Async\spawn()
 * inside the callback then behave as in an async worker, for one pooled fiber switch (well
 * under 1 us) per request.
 *
 * A fatal error that is not contained bails out of the request's fiber into the loop here:
 * the request is answered 500 and the bailout goes on to end the worker file; the thread then
 * restarts the interpreter and runs the file again (thread.c).
 */
#include "server/request_state.h"
#include "server/scripts.h"

#include <ext/spl/spl_exceptions.h>
#ifdef HAVE_PHP_SESSION
#include <ext/session/php_session.h>
#endif
#include <main/php_output.h>
#include <zend_exceptions.h>
#include <zend_interfaces.h>

static __thread bool ready_sent;     /* READY was reported for this thread */
static __thread bool looped;         /* this interpreter's worker file called frankenphp_handle_request() */
static __thread bool in_loop;        /* inside frankenphp_handle_request() */
static __thread bool stopping;       /* the sentinel was taken */
static __thread bool said_false;     /* frankenphp_handle_request() returned false */
static __thread bool fatal;          /* a fatal error bailed out of a request */
static __thread bool tasks_cancelled; /* stopping: the remaining spawned coroutines were cancelled */
static __thread zend_fcall_info cb_fci;        /* the callback of the call in progress */
static __thread zend_fcall_info_cache cb_fcc;
static __thread phpa_worker_req *current_req; /* its request while the callback runs */
static __thread int cb_ob_level;              /* output level when the callback was called */
static __thread bool cb_ignore_abort;         /* the callback's ignore_user_abort, as it last set it */

/* ---- the request's superglobals -------------------------------------------------------------- */

static void set_global(const char *name, size_t len, zval *value)
{
	zval *slot = zend_hash_str_find(&EG(symbol_table), name, len);
	if (slot && Z_TYPE_P(slot) == IS_INDIRECT) slot = Z_INDIRECT_P(slot);
	if (slot) {
		zval_ptr_dtor(slot);
		ZVAL_COPY_VALUE(slot, value);
	} else {
		zend_hash_str_update(&EG(symbol_table), name, len, value);
	}
}

static zval *get_global(const char *name, size_t len)
{
	zval *slot = zend_hash_str_find(&EG(symbol_table), name, len);
	if (slot && Z_TYPE_P(slot) == IS_INDIRECT) slot = Z_INDIRECT_P(slot);
	if (slot) ZVAL_DEREF(slot);
	return slot && Z_TYPE_P(slot) == IS_ARRAY ? slot : NULL;
}

static void call_method(zend_object *obj, const char *name, size_t len, zval *rv)
{
	zend_function *fn = zend_hash_str_find_ptr(&obj->ce->function_table, name, len);
	ZVAL_UNDEF(rv);
	if (fn) zend_call_known_instance_method_with_0_params(fn, obj, rv);
}

/* One key of PHP's $_FILES layout ("name", "tmp_name", ...) over a tree of UploadedFile. */
static void files_key(zval *tree, const char *method, size_t mlen, zval *out)
{
	if (Z_TYPE_P(tree) == IS_OBJECT) {
		call_method(Z_OBJ_P(tree), method, mlen, out);
		if (Z_ISUNDEF_P(out)) ZVAL_NULL(out);
		return;
	}
	array_init(out);
	if (Z_TYPE_P(tree) != IS_ARRAY) return;
	zend_string *k;
	zend_ulong i;
	zval *v;
	ZEND_HASH_FOREACH_KEY_VAL(Z_ARRVAL_P(tree), i, k, v) {
		zval sub;
		files_key(v, method, mlen, &sub);
		if (k) zend_symtable_update(Z_ARRVAL_P(out), k, &sub);
		else zend_hash_index_update(Z_ARRVAL_P(out), i, &sub);
	} ZEND_HASH_FOREACH_END();
}

/* getUploadedFiles() (field => UploadedFile, arrays for bracket names) in $_FILES' layout:
 * $_FILES[field][key] for a plain field, $_FILES[field][key][sub]... for bracket names. */
static void files_global(zval *files, zval *out)
{
	static const struct { const char *key, *method; } keys[] = {
		{"name", "getname"}, {"full_path", "getname"}, {"type", "gettype"},
		{"tmp_name", "gettmpname"}, {"error", "geterror"}, {"size", "getsize"},
	};
	array_init(out);
	if (Z_TYPE_P(files) != IS_ARRAY) return;
	zend_string *field;
	zval *tree;
	ZEND_HASH_FOREACH_STR_KEY_VAL(Z_ARRVAL_P(files), field, tree) {
		if (!field) continue;
		zval entry;
		array_init(&entry);
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			zval v;
			files_key(tree, keys[i].method, strlen(keys[i].method), &v);
			add_assoc_zval(&entry, keys[i].key, &v);
		}
		zend_symtable_update(Z_ARRVAL_P(out), field, &entry);
	} ZEND_HASH_FOREACH_END();
}

/* $_POST and $_FILES from a POST body (urlencoded or multipart), as PHP fills them before a
 * script runs; $_REQUEST becomes $_GET + $_POST (request_order "GP"). A malformed body leaves
 * them empty with a warning, as PHP does. False when the request was answered already (413:
 * more parts than max_multipart_body_parts). */
static bool fill_form_globals(phpa_worker_req *r)
{
	const phpa_envelope *env = phpa_request_envelope(r->request);
	if (env->method.len != 4 || memcmp(env->method.ptr, "POST", 4) != 0 || env->body.len == 0) return true;
	zval post, files;
	call_method(r->request, "getparsedbody", sizeof("getparsedbody") - 1, &post);
	if (!EG(exception)) call_method(r->request, "getuploadedfiles", sizeof("getuploadedfiles") - 1, &files);
	else ZVAL_UNDEF(&files);
	if (EG(exception)) {
		zend_object *ex = EG(exception);
		GC_ADDREF(ex);
		zend_clear_exception();
		zval rv;
		zval *msg = zend_read_property_ex(zend_get_exception_base(ex), ex, ZSTR_KNOWN(ZEND_STR_MESSAGE), 1, &rv);
		zend_string *m = zval_get_string(msg);
		phpa_log(PHPA_LOG_WARN, r->id, "request body not parsed into $_POST/$_FILES: %s", ZSTR_VAL(m));
		zend_string_release(m);
		OBJ_RELEASE(ex);
		zval_ptr_dtor(&post);
		zval_ptr_dtor(&files);
		return !phpa_response_is_ended(r->response);
	}
	if (Z_TYPE(post) == IS_ARRAY) {
		zval *req = get_global("_REQUEST", sizeof("_REQUEST") - 1);
		if (req && zend_hash_num_elements(Z_ARRVAL(post))) {
			zval merged;
			ZVAL_ARR(&merged, zend_array_dup(Z_ARRVAL_P(req)));
			zend_hash_merge(Z_ARRVAL(merged), Z_ARRVAL(post), zval_add_ref, 1); /* POST wins, as in $_REQUEST */
			set_global("_REQUEST", sizeof("_REQUEST") - 1, &merged);
		}
		set_global("_POST", sizeof("_POST") - 1, &post);
	} else {
		zval_ptr_dtor(&post);
	}
	if (Z_TYPE(files) == IS_ARRAY && zend_hash_num_elements(Z_ARRVAL(files))) {
		zval g;
		files_global(&files, &g);
		set_global("_FILES", sizeof("_FILES") - 1, &g);
	}
	zval_ptr_dtor(&files);
	return true;
}

/* ---- sessions -------------------------------------------------------------------------------- */

/* A classic thread serves one request at a time, so PHP sessions work as under php-fpm: the
 * session module reads the session cookie from PG(http_globals) (not from $_COOKIE), which
 * gets the request's cookies for the callback; after it, the session is written and closed and
 * the module's per-request state reset (its request shutdown and startup, as FrankenPHP does),
 * so no session id or data reaches the next request. */
static void session_enter(zval *saved)
{
	ZVAL_COPY_VALUE(saved, &PG(http_globals)[TRACK_VARS_COOKIE]);
	zval *cookie = get_global("_COOKIE", sizeof("_COOKIE") - 1);
	if (cookie) ZVAL_COPY(&PG(http_globals)[TRACK_VARS_COOKIE], cookie);
	else array_init(&PG(http_globals)[TRACK_VARS_COOKIE]);
#ifdef HAVE_PHP_SESSION
	/* session.auto_start: each request's own session, opened before the callback runs as PHP
	 * opens it at a request's startup (the one opened at the interpreter's start is closed). */
	if (PS(auto_start) && PS(session_status) == php_session_none) php_session_start();
#endif
}

static void session_leave(zval *saved)
{
#ifdef HAVE_PHP_SESSION
	zend_module_entry *session = zend_hash_str_find_ptr(&module_registry, "session", sizeof("session") - 1);
	if (session && session->request_shutdown_func && session->request_startup_func) {
		/* Its save handler may run PHP code: not with the callback's exception (or exit) pending. */
		zend_object *pending = EG(exception);
		EG(exception) = NULL;
		const bool auto_start = PS(auto_start); /* not now: no request is here (session_enter() does it) */
		PS(auto_start) = 0;
		session->request_shutdown_func(session->type, session->module_number);
		session->request_startup_func(session->type, session->module_number);
		PS(auto_start) = auto_start;
		if (EG(exception)) zend_clear_exception(); /* a save handler's: logged by PHP as a warning */
		EG(exception) = pending;
		/* The module lets go of $_SESSION, the symbol table does not: the next request must not see it. */
		zend_hash_str_del(&EG(symbol_table), "_SESSION", sizeof("_SESSION") - 1);
	}
#endif
	zval_ptr_dtor(&PG(http_globals)[TRACK_VARS_COOKIE]);
	ZVAL_COPY_VALUE(&PG(http_globals)[TRACK_VARS_COOKIE], saved);
}

/* ---- the request's body: the callback --------------------------------------------------------- */

/* Runs in the request's coroutine (phpa_worker_req.call); async_worker.c's body does the rest
 * (uncaught exception: 500; output buffers left open are ended; the response ends). */
static void classic_call(phpa_worker_req *r)
{
	if (!fill_form_globals(r)) return;
	zval *server = get_global("_SERVER", sizeof("_SERVER") - 1);
	if (server) phpa_classic_script_vars(r, server);
	zval retval;
	ZVAL_UNDEF(&retval);
	zend_fcall_info fci = cb_fci;
	fci.retval = &retval;
	fci.params = NULL;
	fci.param_count = 0;
	fci.named_params = NULL;
	current_req = r;
	cb_ob_level = php_output_get_level();
	cb_ignore_abort = PG(ignore_user_abort);
	PG(connection_status) = PHP_CONNECTION_NORMAL;
	zval cookies;
	session_enter(&cookies);
	zend_call_function(&fci, &cb_fcc);
	current_req = NULL;
	PG(connection_status) = PHP_CONNECTION_NORMAL; /* not swapped with the request state: ours to reset */
	zval_ptr_dtor(&retval);
	session_leave(&cookies);
	if (!EG(exception) || zend_is_unwind_exit(EG(exception))) phpa_classic_default_type(r);
}

phpa_worker_req *phpa_classic_request(void)
{
	phpa_worker_req *r = current_req;
	return r && phpa_worker_req_of(phpa_sched_current()) == r ? r : NULL;
}

int phpa_classic_callback_ob_level(void) { return cb_ob_level; }

/* ---- client aborts: ignore_user_abort() ------------------------------------------------------ */

bool phpa_classic_abort(phpa_worker_req *r)
{
	if (!r || r != current_req) return false;
	/* Running, the request's own ini values are in PG(); suspended, the thread's are. */
	const bool ignore = phpa_request_state_entered() == r ? PG(ignore_user_abort) : cb_ignore_abort;
	if (!ignore) return false;
	PG(connection_status) |= PHP_CONNECTION_ABORTED; /* connection_aborted(), as PHP sets it */
	phpa_log(PHPA_LOG_DEBUG, r->id, "client went away: connection aborted (ignore_user_abort: the callback goes on)");
	return true;
}

/* ignore_user_abort() and ini_set() change it while the callback runs; an abort that arrives
 * while the callback is suspended must know that value, and by then request_ini.c has put the
 * thread's back into PG(). So the callback's own changes (not our swaps) are noted here. */
static ZEND_INI_MH((*orig_on_ignore_abort));
static ZEND_INI_MH(on_update_ignore_abort)
{
	int rc = orig_on_ignore_abort(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
	if (rc == SUCCESS && !phpa_request_ini_applying() && phpa_classic_request()) cb_ignore_abort = PG(ignore_user_abort);
	return rc;
}

void phpa_classic_worker_minit(void)
{
	zend_ini_entry *e = zend_hash_str_find_ptr(EG(ini_directives), "ignore_user_abort", sizeof("ignore_user_abort") - 1);
	if (e && e->on_modify && e->on_modify != on_update_ignore_abort) {
		orig_on_ignore_abort = e->on_modify;
		e->on_modify = on_update_ignore_abort;
	}
}

/* ---- the loop --------------------------------------------------------------------------------- */

/* Runs the thread's scheduler until one request was served (true), or until the server stops
 * or the thread recycles and no coroutine is left (false). */
static bool serve_one(void)
{
	const int thread = phpa_thread_index();
	bool started = false;
	phpa_worker_outcome progress;
	for (;;) {
		phpa_response_drain_released();
		phpa_limits_tick(); /* aborts of a suspended callback */
		phpa_worker_progress(&progress);
		while (!started && !stopping && !progress.recycling) {
			phpa_job *job = phpa_host_ring_pop(thread);
			if (!job) break;
			if (job->kind == PHPA_JOB_STOP) {
				stopping = true;
				free(job);
				break;
			}
			const uint64_t before = progress.served;
			phpa_worker_start_job(job, classic_call);
			phpa_worker_progress(&progress);
			started = progress.served != before; /* else dropped (client gone) or answered 400 */
		}
		phpa_sched_run_ready();
		if (started && phpa_worker_in_flight() == 0) return true;
		if (!started && (stopping || progress.recycling)) {
			if (phpa_sched_live() == 0) return false;
			/* Only coroutines spawned by earlier callbacks are left: cancelled once. */
			if (!tasks_cancelled) {
				tasks_cancelled = true;
				phpa_async_cancel_all();
			}
		}
		/* Timers and fds; parks only when nothing is runnable. The ring is watched only while
		 * no request is in flight (a classic thread serves one at a time). */
		phpa_reactor_tick(!phpa_sched_has_ready(), !started && !stopping && !progress.recycling);
	}
}

ZEND_FUNCTION(frankenphp_handle_request)
{
	zend_fcall_info fci;
	zend_fcall_info_cache fcc;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_FUNC(fci, fcc)
	ZEND_PARSE_PARAMETERS_END();
	const int mode = phpa_on_php_thread() ? phpa_runtime_config()->mode : 0;
	if (mode == PHPA_MODE_ASYNC_WORKER) {
		zend_throw_exception(spl_ce_RuntimeException,
			"frankenphp_handle_request() called in an async worker: register the handler with "
			"FrankenPHP\\HttpServer::onRequest() instead, or remove `async` from the Caddyfile's worker block "
			"to run this file as a classic worker",
			0);
		RETURN_THROWS();
	}
	if (mode != PHPA_MODE_CLASSIC_WORKER) {
		zend_throw_exception(spl_ce_RuntimeException, "frankenphp_handle_request() called while not in worker mode", 0);
		RETURN_THROWS();
	}
	if (in_loop || phpa_sched_current()) {
		zend_throw_error(NULL, "frankenphp_handle_request() must be called by the worker file itself, not from inside "
			"a request's callback or a coroutine");
		RETURN_THROWS();
	}
	if (said_false) {
		/* A script that ignores false would spin here and hold the stop or restart forever. */
		zend_throw_error(NULL, "frankenphp_handle_request() returned false already: the server is stopping (or this "
			"thread restarts after max_requests); the worker file must end");
		RETURN_THROWS();
	}
	if (!looped) {
		looped = true;
		if (!ready_sent) {
			ready_sent = true;
			phpa_host_event(phpa_thread_index(), PHPA_EVENT_READY, PHPA_LOG_INFO, 0, "", 0);
		}
	}
	cb_fci = fci;
	cb_fcc = fcc;
	in_loop = true;
	volatile bool served = false;
	zend_try {
		served = serve_one();
	} zend_catch {
		in_loop = false;
		current_req = NULL;
		fatal = true;
		phpa_request_state_bailout(); /* first: the thread's own values back into the globals */
		phpa_guard_after_bailout();
		phpa_worker_fail_inflight();
		zend_bailout(); /* the worker file ends; the thread restarts the interpreter */
	} zend_end_try();
	in_loop = false;
	if (!served) said_false = true;
	RETURN_BOOL(served);
}

/* ---- the thread's side (thread.c) ------------------------------------------------------------ */

void phpa_classic_begin(bool first)
{
	/* PHP runs the worker file in its directory (FrankenPHP's workers too): not Node's. */
	if (first) phpa_own_working_directory("classic workers");
	if (first) ready_sent = false;
	looped = in_loop = stopping = said_false = fatal = tasks_cancelled = false;
	current_req = NULL;
	phpa_sched_init();
	phpa_async_thread_init();
}

bool phpa_classic_looped(void) { return looped; }

void phpa_classic_outcome(phpa_worker_outcome *out)
{
	phpa_worker_progress(out);
	/* A fatal error in the worker file's own code (outside a callback) restarts it as well. */
	out->clean = !fatal && !phpa_guard_fatal();
	out->stopping = stopping;
}
