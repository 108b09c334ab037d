/*
 * Classic scripts (PHPA_MODE_SCRIPTS): php-fpm's model, FrankenPHP's default mode. A thread
 * takes one job at a time from its ring and runs a whole PHP request for it:
 * php_request_startup() -> php_execute_script(SCRIPT_FILENAME) -> php_request_shutdown(), so
 * everything PHP keeps per request (superglobals, headers, output buffers, sessions, ini
 * changes, error state, uploaded files) is PHP's own and ends with the request. JS resolved
 * the script (try_files, split_path: src/server/scripts.ts) and sends it in the envelope.
 *
 * Faults: a fatal error ends its request only (PHP answers 500 when no output went out, as
 * php-fpm does); the next request starts a fresh one. Limits go through the guard (signals
 * belong to Node): the watchdog sets EG(vm_interrupt) at the earlier of request_timeout and
 * max_execution_time (set_time_limit() moves it), and the interrupt raises PHP's own "Maximum
 * execution time" fatal error (500) or, for request_timeout, ends the script like exit() and
 * answers 504. A client that goes away (JS cancels) makes connection_aborted() true and ends
 * the script unless ignore_user_abort. Not supported yet: a script blocked inside one call
 * (sleep(), a slow query) is interrupted only when that call returns.
 *
 * The working directory: PHP moves it to the script's directory, as php-fpm does (relative
 * paths, getcwd()). A ZTS PHP keeps a virtual one per thread. On an NTS PHP the directory is
 * the process's, shared with Node's threads, so the thread first takes one of its own
 * (unshare(CLONE_FS): cwd and umask become this thread's) and goes back to where it started
 * after each request; where that is refused, scripts keep the server's (SAPI_OPTION_NO_CHDIR).
 */
#include "server/scripts.h"

#include <SAPI.h>
#include <errno.h>
#include <fcntl.h>
#include <main/php_main.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zend_exceptions.h>

static __thread phpa_script_req *cur;
static __thread zend_result (*request_startup)(void);
static __thread int home_fd = -1; /* NTS: the thread's own working directory between requests */

phpa_script_req *phpa_scripts_current(void) { return cur; }

/* ---- limits: the guard's policy on this thread --------------------------------------------- */

static uint64_t earliest_deadline(const phpa_script_req *r)
{
	uint64_t d = r->timeout_deadline_ns;
	if (r->limit_deadline_ns && (!d || r->limit_deadline_ns < d)) d = r->limit_deadline_ns;
	return d;
}

static void interrupt(void)
{
	phpa_script_req *r = cur;
	if (!r || !r->running) return;
	phpa_guard_take_cancels();
	if (!r->aborted && phpa_guard_any_cancelled() && phpa_guard_take_cancelled(r->id)) {
		r->aborted = true;
		phpa_log(PHPA_LOG_DEBUG, r->id, "client went away: connection aborted%s",
			PG(ignore_user_abort) ? " (ignore_user_abort: the script goes on)" : ", script stopped");
		php_handle_aborted_connection(); /* bails out unless ignore_user_abort */
	}
	const uint64_t now = phpa_now_ns();
	if (r->limit_deadline_ns && now >= r->limit_deadline_ns && r->limit_deadline_ns <= earliest_deadline(r)) {
		/* PHP's own timeout error (its SIGPROF timer cannot run inside Node): 500, shutdown
		 * functions run. Not zend_timeout(): it would arm PHP's hard-timeout timer. */
		r->limit_deadline_ns = 0;
		phpa_guard_publish_deadline(earliest_deadline(r));
		zend_error_noreturn(E_ERROR, "Maximum execution time of " ZEND_LONG_FMT " second%s exceeded", r->limit_secs,
			r->limit_secs == 1 ? "" : "s");
	}
	if (r->timeout_deadline_ns && now >= r->timeout_deadline_ns) {
		if (r->timed_out) {
			/* Still running a second after it was told to stop (shutdown functions, destructors). */
			zend_bailout();
		}
		r->timed_out = true;
		r->timeout_deadline_ns = now + 1000000000u;
		phpa_guard_publish_deadline(earliest_deadline(r));
		phpa_log(PHPA_LOG_ERROR, r->id, "request timeout: the script ran for more than %u ms; stopped, answered 504",
			phpa_runtime_config()->request_timeout_ms);
		if (!EG(exception)) zend_throw_unwind_exit(); /* ends the script as exit() does */
	}
}

void phpa_scripts_set_time_limit(zend_long secs)
{
	phpa_script_req *r = cur;
	if (!r || !r->running) return;
	/* As set_time_limit(): counted again from now; 0 is no limit (request_timeout stays). */
	r->limit_secs = secs;
	r->limit_deadline_ns = secs > 0 ? phpa_now_ns() + (uint64_t)secs * 1000000000u : 0;
	phpa_guard_publish_deadline(earliest_deadline(r));
}

/* ---- one request ---------------------------------------------------------------------------- */

static char *dup_bytes(phpa_bytes b)
{
	char *s = malloc((size_t)b.len + 1);
	if (!s) phpa_out_of_memory("a request");
	if (b.len) memcpy(s, b.ptr, b.len);
	s[b.len] = '\0';
	return s;
}

/* The request's Cookie headers joined with "; " (NULL when there is none). */
static char *cookies_of(const phpa_envelope *env)
{
	char *out = NULL;
	size_t len = 0;
	const uint8_t *c = NULL;
	uint32_t i = 0;
	phpa_bytes name, value;
	while (phpa_envelope_next_header(env, &c, &i, &name, &value)) {
		if (name.len != 6 || zend_binary_strncasecmp(name.ptr, 6, "cookie", 6, 6) != 0) continue;
		out = phpa_realloc_array(out, len + value.len + 3, 1, "cookies");
		if (len) {
			memcpy(out + len, "; ", 2);
			len += 2;
		}
		if (value.len) memcpy(out + len, value.ptr, value.len);
		len += value.len;
		out[len] = '\0';
	}
	return out;
}

static const char *header_value(const phpa_envelope *env, const char *want, uint32_t wlen, uint32_t *len)
{
	const uint8_t *c = NULL;
	uint32_t i = 0;
	phpa_bytes name, value;
	while (phpa_envelope_next_header(env, &c, &i, &name, &value)) {
		if (name.len == wlen && zend_binary_strncasecmp(name.ptr, wlen, want, wlen, wlen) == 0) {
			*len = value.len;
			return value.ptr ? value.ptr : "";
		}
	}
	return NULL;
}

static void fill_request_info(phpa_script_req *r)
{
	const phpa_envelope *env = &r->env;
	r->method = dup_bytes(env->method);
	r->uri = dup_bytes(env->uri);
	char *q = strchr(r->uri, '?');
	r->query = q ? strdup(q + 1) : NULL;
	if (q && !r->query) phpa_out_of_memory("a request");
	if (r->query) {
		char *hash = strchr(r->query, '#');
		if (hash) *hash = '\0';
	}
	r->filename = dup_bytes(env->script_filename);
	r->cookies = cookies_of(env);
	uint32_t len = 0;
	const char *ct = header_value(env, "content-type", 12, &len);
	r->content_type = ct ? dup_bytes((phpa_bytes){ct, len}) : NULL;

	sapi_request_info *ri = &SG(request_info);
	ri->request_method = r->method;
	ri->request_uri = r->uri;
	ri->query_string = r->query;
	ri->path_translated = r->filename;
	ri->content_type = r->content_type;
	ri->content_length = (zend_long)env->body.len;
	ri->cookie_data = NULL; /* read_cookies() at sapi_activate() */
	ri->no_headers = 0;
	SG(sapi_headers).http_response_code = 200; /* sapi_activate() leaves the last request's */
	ri->proto_num = env->protocol.len == 3 && env->protocol.ptr[0] >= '0' && env->protocol.ptr[0] <= '9'
		? (env->protocol.ptr[0] - '0') * 1000 + (env->protocol.ptr[2] - '0')
		: 1000;
	ri->auth_user = ri->auth_password = ri->auth_digest = NULL;
	/* PHP_AUTH_USER/PW (Basic) or PHP_AUTH_DIGEST, as php-fpm sets them; sapi_deactivate() frees them. */
	const char *auth = header_value(env, "authorization", 13, &len);
	if (auth) {
		char *a = dup_bytes((phpa_bytes){auth, len});
		php_handle_auth_data(a);
		free(a);
	}
	SG(server_context) = r; /* non-NULL: sapi_activate() reads the body and the cookies */
}

static void clear_request_info(void)
{
	sapi_request_info *ri = &SG(request_info);
	ri->request_method = NULL;
	ri->request_uri = NULL;
	ri->query_string = NULL;
	ri->path_translated = NULL;
	ri->content_type = NULL;
	ri->content_length = 0;
	ri->cookie_data = NULL;
	SG(server_context) = NULL;
}

static void free_req(phpa_script_req *r)
{
	phpa_scripts_output_free(r);
	free(r->method);
	free(r->uri);
	free(r->query);
	free(r->content_type);
	free(r->filename);
	free(r->cookies);
	free(r->job);
	free(r);
}

/* Runs the script of one job and answers it. */
static void serve(phpa_job *job)
{
	phpa_script_req *r = phpa_calloc(sizeof *r, "a request");
	r->id = job->id;
	r->job = job;
	if (!phpa_envelope_parse(job->data, job->len, &r->env) || !r->env.has_script) {
		/* JS builds every envelope and names the script: anything else is a bug, answered. */
		phpa_log(PHPA_LOG_ERROR, r->id, "malformed request envelope for a classic script (%u bytes): answered 400", job->len);
		phpa_scripts_fail(r, 400);
		free_req(r);
		return;
	}
	fill_request_info(r);
	const uint32_t timeout_ms = phpa_runtime_config()->request_timeout_ms;
	r->timeout_deadline_ns = timeout_ms ? phpa_now_ns() + (uint64_t)timeout_ms * 1000000u : 0;
	/* max_execution_time is ours to enforce: PHP's startup must not arm its SIGPROF timer. */
	const zend_long limit = EG(timeout_seconds);
	EG(timeout_seconds) = 0;
	cur = r;
	r->running = true;
	phpa_log_set_request_id(r->id);
	if (request_startup() == FAILURE) {
		EG(timeout_seconds) = limit;
		r->running = false;
		phpa_log(PHPA_LOG_ERROR, r->id, "php_request_startup() failed: answered 500");
		phpa_scripts_fail(r, 500);
		goto done;
	}
	EG(timeout_seconds) = limit;
	r->limit_secs = limit;
	r->limit_deadline_ns = limit > 0 ? phpa_now_ns() + (uint64_t)limit * 1000000000u : 0;
	phpa_guard_publish_deadline(earliest_deadline(r));

	zend_file_handle fh;
	zend_stream_init_filename(&fh, r->filename);
	fh.primary_script = 1;
	/* Bailouts (fatal errors, exit in a shutdown function, a client abort) stop here. */
	zend_try {
		php_execute_script(&fh);
	} zend_end_try();
	zend_destroy_file_handle(&fh);
	php_request_shutdown(NULL); /* output flushed, headers captured (send_headers) */
	/* PHP put back the directory it left, but a shutdown function may have moved it again. */
	if (home_fd >= 0 && fchdir(home_fd) != 0) {
		phpa_log(PHPA_LOG_WARN, r->id, "could not go back to the PHP thread's working directory: %s", strerror(errno));
	}
	r->running = false;
	phpa_guard_publish_deadline(0);
	if (r->aborted) {
		/* JS dropped the response when its client left: nothing to send. A streamed one still
		 * gets its END so that the host can settle it. */
		if (r->head_sent) phpa_scripts_fail(r, 499);
	} else if (r->timed_out) {
		phpa_scripts_fail(r, 504);
	} else {
		phpa_scripts_send(r, true);
	}
done:
	phpa_log_set_request_id(0);
	cur = NULL;
	clear_request_info();
	free_req(r);
}

/* ---- the thread ----------------------------------------------------------------------------- */

bool phpa_own_working_directory(const char *who)
{
#ifdef ZTS
	(void)who;
	return true; /* PHP keeps a virtual one per thread */
#else
	if (unshare(CLONE_FS) == 0) return true;
	SG(options) |= SAPI_OPTION_NO_CHDIR;
	phpa_log(PHPA_LOG_WARN, 0,
		"not supported here: %s run in the server's working directory, not their own (the PHP thread could not "
		"get a working directory of its own: unshare(CLONE_FS): %s)", who, strerror(errno));
	return false;
#endif
}

static __thread uint64_t prune_below;
static bool keep_newer(uint64_t id) { return id > prune_below; }

void phpa_scripts_thread_main(int thread, zend_result (*startup)(void))
{
	request_startup = startup;
	const char *root = phpa_runtime_config()->document_root;
	struct stat st;
	if (!root || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		char m[1200];
		int n = snprintf(m, sizeof m, "document root %s is not a readable directory: %s", root ? root : "(none)",
			root && stat(root, &st) != 0 ? strerror(errno) : "not a directory");
		phpa_host_event(thread, PHPA_EVENT_FAILED, PHPA_LOG_ERROR, 0, m, n < 0 ? 0 : strnlen(m, sizeof m));
		return;
	}
#ifndef ZTS
	if (phpa_own_working_directory("classic scripts")) home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
#endif
	phpa_guard_thread_start();
	phpa_guard_set_policy(interrupt, NULL);
	phpa_host_event(thread, PHPA_EVENT_READY, PHPA_LOG_INFO, 0, "", 0);
	for (;;) {
		phpa_response_drain_released();
		phpa_job *job = phpa_host_ring_pop(thread);
		if (!job) {
			phpa_reactor_park(true, -1);
			continue;
		}
		if (job->kind == PHPA_JOB_STOP) {
			free(job);
			break;
		}
		/* Cancelled before it started: JS forgot it already. Older ids were served (a ring is
		 * FIFO), so a cancel that names one came too late to matter. */
		phpa_guard_take_cancels();
		bool skip = phpa_guard_any_cancelled() && phpa_guard_take_cancelled(job->id);
		prune_below = job->id;
		if (phpa_guard_any_cancelled()) phpa_guard_filter_cancelled(keep_newer);
		if (skip) {
			free(job);
			continue;
		}
		serve(job);
	}
	phpa_response_drain_released();
	phpa_guard_thread_stop();
	if (home_fd >= 0) close(home_fd);
	home_fd = -1;
}
