/*
 * Blocking calls that yield inside coroutines (unchanged outside them):
 *
 * - sleep, usleep, time_nanosleep, time_sleep_until: their handlers in the function table are
 *   replaced at MINIT; inside a coroutine they become reactor timers, elsewhere (and for
 *   invalid arguments, so PHP's own errors are kept) the original handler runs.
 * - stream_select: inside a coroutine, polled with a zero timeout, then the coroutine waits in
 *   the reactor for any of the fds and polls again.
 * - socket streams (tcp://, unix://, udp://, udg://: fsockopen, stream_socket_client,
 *   file_get_contents('http://...'), mysqlnd/Redis clients over streams): three function
 *   pointers of PHP's own socket stream ops tables are replaced, once per process: read and
 *   write first wait in the reactor until the fd is ready (honouring the stream's timeout),
 *   then call PHP's code, which no longer blocks; connect is made non-blocking
 *   (STREAM_XPORT_OP_CONNECT_ASYNC) and the coroutine waits for it; accept waits for the
 *   listening socket. The tables are patched in place (not swapped per stream) so that
 *   PHP's identity checks on stream->ops stay true.
 *
 * - pcntl_waitpid, pcntl_wait: inside a coroutine, the coroutine waits (on a pidfd, else by
 *   polling with back-off) until the call would not block, then PHP's own code reaps.
 *
 * Not covered (they still block the thread inside coroutines): DNS resolution (getaddrinfo)
 * of host names, TLS streams (ssl://, tls://, https:// — logged once per thread as "not
 * supported yet"), plain files and pipes (so exec(), shell_exec(), proc_close() too), curl.
 *
 * Refused on the server's PHP threads (worker file and handlers), with an Error that says
 * "not supported yet", because their state is per thread or per process and would be shared
 * by every request: session_start(), session_id($id), session_regenerate_id() (one session per
 * thread: a concurrent request would get another user's session); pcntl_fork() (the child is a
 * copy of the whole server, with its listening socket, epoll and wake-up fds), pcntl_exec()
 * (it replaces the server), pcntl_signal(), pcntl_alarm() and the pcntl_sig* calls (signals
 * are the server's). php-cli threads keep PHP's behaviour.
 *
 * Children started by PHP get the signal state libuv gives its own children: PHP threads block
 * every asynchronous signal, and a child inheriting that could not be stopped by SIGTERM or
 * proc_terminate(). Forked ones (proc_open()) reset dispositions and mask in a fork handler.
 * Not covered yet: exec(), shell_exec(), system(), passthru(), popen() and mail() (glibc's
 * popen() is posix_spawn, which runs no fork handler): their children start with the PHP
 * thread's signals blocked. Emptying the thread's mask for the call was tried; under load the
 * child still started with every signal blocked, for a reason not found.
 */
#include "async_backend.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <main/php_network.h>
#include <main/php_streams.h>
#include <ext/standard/file.h>
#ifdef HAVE_PHP_SESSION
#include <ext/session/php_session.h>
#endif

/* ---- function-table hooks ------------------------------------------------------------------ */

typedef void (*handler_t)(INTERNAL_FUNCTION_PARAMETERS);
static handler_t orig_sleep, orig_usleep, orig_nanosleep, orig_sleep_until, orig_stream_select;

static handler_t replace(const char *name, handler_t h)
{
	zend_function *f = zend_hash_str_find_ptr(CG(function_table), name, strlen(name));
	if (!f || f->type != ZEND_INTERNAL_FUNCTION) return NULL;
	handler_t old = f->internal_function.handler;
	f->internal_function.handler = h;
	return old;
}

static bool sleep_ns(uint64_t ns)
{
	return phpa_sched_sleep_until(phpa_now_ns() + ns);
}

static void hook_sleep(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *a = ZEND_NUM_ARGS() == 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
	if (!phpa_sched_running() || !a || Z_TYPE_P(a) != IS_LONG || Z_LVAL_P(a) <= 0) {
		orig_sleep(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	sleep_ns((uint64_t)Z_LVAL_P(a) * 1000000000ull);
	if (EG(exception)) RETURN_THROWS();
	RETURN_LONG(0);
}

static void hook_usleep(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *a = ZEND_NUM_ARGS() == 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
	if (!phpa_sched_running() || !a || Z_TYPE_P(a) != IS_LONG || Z_LVAL_P(a) <= 0) {
		orig_usleep(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	sleep_ns((uint64_t)Z_LVAL_P(a) * 1000ull);
	if (EG(exception)) RETURN_THROWS();
}

static void hook_nanosleep(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *s = ZEND_NUM_ARGS() == 2 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
	zval *n = ZEND_NUM_ARGS() == 2 ? ZEND_CALL_ARG(execute_data, 2) : NULL;
	if (!phpa_sched_running() || !s || !n || Z_TYPE_P(s) != IS_LONG || Z_TYPE_P(n) != IS_LONG || Z_LVAL_P(s) < 0 ||
		Z_LVAL_P(n) < 0 || Z_LVAL_P(n) > 999999999 || (Z_LVAL_P(s) == 0 && Z_LVAL_P(n) == 0)) {
		orig_nanosleep(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	sleep_ns((uint64_t)Z_LVAL_P(s) * 1000000000ull + (uint64_t)Z_LVAL_P(n));
	if (EG(exception)) RETURN_THROWS();
	RETURN_TRUE;
}

static void hook_sleep_until(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *a = ZEND_NUM_ARGS() == 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
	if (!phpa_sched_running() || !a || (Z_TYPE_P(a) != IS_DOUBLE && Z_TYPE_P(a) != IS_LONG)) {
		orig_sleep_until(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	double target = zval_get_double(a);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	double now = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
	if (!(target > now) || !isfinite(target)) {
		orig_sleep_until(INTERNAL_FUNCTION_PARAM_PASSTHRU); /* PHP's own warning, returns false */
		return;
	}
	sleep_ns((uint64_t)((target - now) * 1e9));
	if (EG(exception)) RETURN_THROWS();
	RETURN_TRUE;
}

/* stream_select(?array &$read, ?array &$write, ?array &$except, ?int $seconds, ?int $microseconds = null) */
static int add_select_fds(zval *arg, short events, int **fds, short **evs, int *n, int *cap)
{
	zval *arr = Z_ISREF_P(arg) ? Z_REFVAL_P(arg) : arg;
	if (Z_TYPE_P(arr) != IS_ARRAY) return 0;
	zval *v;
	ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(arr), v) {
		ZVAL_DEREF(v);
		if (Z_TYPE_P(v) != IS_RESOURCE) continue;
		php_stream *stream = (php_stream *)zend_fetch_resource2(Z_RES_P(v), NULL, php_file_le_stream(), php_file_le_pstream());
		if (!stream) continue;
		php_socket_t fd = -1;
		if (php_stream_cast(stream, PHP_STREAM_AS_FD_FOR_SELECT | PHP_STREAM_CAST_INTERNAL, (void *)&fd, 1) != SUCCESS || fd < 0) continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 8;
			*fds = erealloc(*fds, sizeof(int) * (size_t)*cap);
			*evs = erealloc(*evs, sizeof(short) * (size_t)*cap);
		}
		(*fds)[*n] = fd;
		(*evs)[*n] = events;
		(*n)++;
	} ZEND_HASH_FOREACH_END();
	return 0;
}

static void hook_stream_select(INTERNAL_FUNCTION_PARAMETERS)
{
	uint32_t argc = ZEND_NUM_ARGS();
	if (!phpa_sched_running() || argc < 4) {
		orig_stream_select(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	zval *sec = ZEND_CALL_ARG(execute_data, 4);
	zval *usec = argc >= 5 ? ZEND_CALL_ARG(execute_data, 5) : NULL;
	if ((Z_TYPE_P(sec) != IS_NULL && Z_TYPE_P(sec) != IS_LONG) || (usec && Z_TYPE_P(usec) != IS_NULL && Z_TYPE_P(usec) != IS_LONG) ||
		(Z_TYPE_P(sec) == IS_LONG && Z_LVAL_P(sec) < 0) || (usec && Z_TYPE_P(usec) == IS_LONG && Z_LVAL_P(usec) < 0)) {
		orig_stream_select(INTERNAL_FUNCTION_PARAM_PASSTHRU); /* PHP's own errors */
		return;
	}
	uint64_t deadline = 0;
	if (Z_TYPE_P(sec) == IS_LONG) {
		uint64_t ns = (uint64_t)Z_LVAL_P(sec) * 1000000000ull + (usec && Z_TYPE_P(usec) == IS_LONG ? (uint64_t)Z_LVAL_P(usec) * 1000ull : 0);
		if (ns == 0) {
			orig_stream_select(INTERNAL_FUNCTION_PARAM_PASSTHRU);
			return;
		}
		deadline = phpa_now_ns() + ns;
	}
	/* Keep the caller's arrays: a zero-timeout select that finds nothing empties them. */
	zval saved[3];
	for (int i = 0; i < 3; i++) {
		zval *a = ZEND_CALL_ARG(execute_data, i + 1);
		zval *arr = Z_ISREF_P(a) ? Z_REFVAL_P(a) : a;
		ZVAL_COPY(&saved[i], arr);
	}
	int *fds = NULL;
	short *evs = NULL, *rev = NULL;
	int n = 0, cap = 0;
	add_select_fds(ZEND_CALL_ARG(execute_data, 1), POLLIN, &fds, &evs, &n, &cap);
	add_select_fds(ZEND_CALL_ARG(execute_data, 2), POLLOUT, &fds, &evs, &n, &cap);
	add_select_fds(ZEND_CALL_ARG(execute_data, 3), POLLPRI, &fds, &evs, &n, &cap);
	if (n) rev = emalloc(sizeof(short) * (size_t)n);
	/* The original reads seconds/microseconds from the frame: make it a poll. */
	zval_ptr_dtor(sec);
	ZVAL_LONG(sec, 0);
	if (usec) {
		zval_ptr_dtor(usec);
		ZVAL_LONG(usec, 0);
	}
	for (;;) {
		orig_stream_select(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		if (EG(exception) || Z_TYPE_P(return_value) != IS_LONG || Z_LVAL_P(return_value) != 0) break;
		if (deadline && phpa_now_ns() >= deadline) break;
		if (n == 0 && !deadline) break; /* nothing to wait for, forever: PHP warns about it itself */
		/* Nothing ready: restore the arrays and wait in the reactor. */
		for (int i = 0; i < 3; i++) {
			zval *a = ZEND_CALL_ARG(execute_data, i + 1);
			zval *arr = Z_ISREF_P(a) ? Z_REFVAL_P(a) : a;
			zval_ptr_dtor(arr);
			ZVAL_COPY(arr, &saved[i]);
		}
		int r = n ? phpa_wait_fds(fds, evs, rev, n, deadline) : (phpa_sched_sleep_until(deadline) ? 0 : -1);
		if (r < 0) {
			if (!EG(exception)) zend_throw_error(NULL, "stream_select(): the coroutine cannot wait here");
			break;
		}
	}
	for (int i = 0; i < 3; i++) zval_ptr_dtor(&saved[i]);
	if (fds) efree(fds);
	if (evs) efree(evs);
	if (rev) efree(rev);
}

/* ---- per-thread and per-process state: refused on server threads -------------------------- */

static handler_t orig_session_start, orig_session_id, orig_session_regenerate_id;

/* phpa_ts is set for the whole life of a server PHP thread (worker file included), and never
 * on a php-cli thread. */
static bool on_server_thread(void) { return phpa_ts != NULL; }

#define SESSIONS_WHY                                                                                        \
	"PHP sessions are per thread and the requests of a thread run concurrently, so one user's session "  \
	"would be shared with the others' (per-request sessions come with the per-coroutine request context)"

static void hook_session_start(INTERNAL_FUNCTION_PARAMETERS)
{
	if (!on_server_thread()) {
		orig_session_start(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	zend_throw_error(NULL, "not supported yet: session_start() in an async worker: " SESSIONS_WHY);
	RETURN_THROWS();
}

static void hook_session_id(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *id = ZEND_NUM_ARGS() >= 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
	if (!on_server_thread() || !id || Z_TYPE_P(id) == IS_NULL) { /* the getter shares nothing */
		orig_session_id(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	zend_throw_error(NULL, "not supported yet: session_id($id) in an async worker: " SESSIONS_WHY);
	RETURN_THROWS();
}

static void hook_session_regenerate_id(INTERNAL_FUNCTION_PARAMETERS)
{
	if (!on_server_thread()) {
		orig_session_regenerate_id(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	zend_throw_error(NULL, "not supported yet: session_regenerate_id() in an async worker: " SESSIONS_WHY);
	RETURN_THROWS();
}

/* Process-wide pcntl calls: refused on server threads, PHP's own behaviour elsewhere. */
typedef struct {
	const char *name;
	const char *why;
	handler_t orig;
} process_refusal;

#define USE_A_PROGRAM "start a program with proc_open() or exec() instead"
#define SIGNALS_ARE_NODES "signals belong to the server (Node handles SIGTERM/SIGINT to drain; PHP threads keep them blocked)"

static process_refusal process_refusals[] = {
	{"pcntl_fork", "the child would be a copy of the whole server (its listening socket, the PHP thread's epoll and "
		"wake-up fds) and would take requests from it; " USE_A_PROGRAM, NULL},
	{"pcntl_exec", "it would replace the server process and drop every request; " USE_A_PROGRAM, NULL},
	{"pcntl_signal", "signal handlers are process-wide: a PHP handler would replace the server's, and SIGTERM "
		"would no longer stop it; " SIGNALS_ARE_NODES, NULL},
	{"pcntl_alarm", "SIGALRM would end the whole server; use Async\\delay() or Async\\timeout()", NULL},
	{"pcntl_sigprocmask", SIGNALS_ARE_NODES, NULL},
	{"pcntl_sigwaitinfo", SIGNALS_ARE_NODES, NULL},
	{"pcntl_sigtimedwait", SIGNALS_ARE_NODES, NULL},
};

static void hook_process_refusal(INTERNAL_FUNCTION_PARAMETERS)
{
	zend_string *fn = execute_data->func->common.function_name;
	for (size_t i = 0; i < sizeof process_refusals / sizeof *process_refusals; i++) {
		process_refusal *r = &process_refusals[i];
		if (!zend_string_equals_cstr(fn, r->name, strlen(r->name))) continue;
		if (!on_server_thread()) {
			r->orig(INTERNAL_FUNCTION_PARAM_PASSTHRU);
			return;
		}
		zend_throw_error(NULL, "not supported yet: %s() in an async worker: %s", r->name, r->why);
		RETURN_THROWS();
	}
	zend_throw_error(NULL, "phpasync: %s() is hooked but unknown", ZSTR_VAL(fn)); /* unreachable */
	RETURN_THROWS();
}

/* session.auto_start opens one session at the thread's request startup, which every request of
 * the thread would then share: close it (without writing) and say so. */
static void close_auto_started_session(void)
{
#ifdef HAVE_PHP_SESSION
	if (PS(session_status) != php_session_active) return;
	php_session_flush(0);
	if (PS(id)) { /* session_id() would keep returning it to every request */
		zend_string_release(PS(id));
		PS(id) = NULL;
	}
	zend_hash_str_del(&EG(symbol_table), "_SESSION", sizeof "_SESSION" - 1);
	phpa_log(PHPA_LOG_ERROR, 0,
		"not supported yet: session.auto_start in an async worker: " SESSIONS_WHY "; the session it opened was closed");
#endif
}

/* ---- child processes ----------------------------------------------------------------------- */

static handler_t orig_pcntl_waitpid, orig_pcntl_wait;

/* In a coroutine and without WNOHANG: suspend until waitpid(pid, options) would return at once
 * (waitid with WNOWAIT looks without reaping; PHP's own code reaps afterwards). A pidfd wakes
 * the coroutine when a given child exits; other waits poll with back-off (1 ms doubling to
 * 100 ms). Returns with an exception pending when the coroutine was cancelled. */
static void wait_child_ready(zend_long pid, zend_long options)
{
	if (!phpa_sched_running() || (options & WNOHANG)) return;
	idtype_t type = P_PID;
	id_t id = (id_t)pid;
	if (pid == -1) {
		type = P_ALL;
		id = 0;
	} else if (pid == 0) {
		type = P_PGID;
		id = (id_t)getpgid(0);
	} else if (pid < -1) {
		type = P_PGID;
		id = (id_t)-pid;
	}
	int wflags = WEXITED | WNOWAIT | WNOHANG | ((options & WUNTRACED) ? WSTOPPED : 0) | ((options & WCONTINUED) ? WCONTINUED : 0);
	int pidfd = -1;
#ifdef SYS_pidfd_open
	if (type == P_PID && !(options & (WUNTRACED | WCONTINUED))) pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#endif
	uint64_t backoff = 1000000;
	for (;;) {
		siginfo_t info;
		memset(&info, 0, sizeof info);
		if (waitid(type, id, &info, wflags) != 0) {
			if (errno == EINTR) continue;
			break; /* ECHILD & co: PHP's call reports it */
		}
		if (info.si_pid != 0) break;
		if (pidfd >= 0) {
			short ev = POLLIN, rev = 0;
			if (phpa_wait_fds(&pidfd, &ev, &rev, 1, 0) < 0) break;
		} else {
			if (!phpa_sched_sleep_until(phpa_now_ns() + backoff)) break;
			if (backoff < 100000000) backoff *= 2;
		}
	}
	if (pidfd >= 0) close(pidfd);
}

/* pcntl_waitpid(int $process_id, &$status, int $flags = 0, &$resource_usage = []) */
static void hook_pcntl_waitpid(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *pid = ZEND_NUM_ARGS() >= 2 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
	zval *flags = ZEND_NUM_ARGS() >= 3 ? ZEND_CALL_ARG(execute_data, 3) : NULL;
	if (pid && Z_TYPE_P(pid) == IS_LONG && (!flags || Z_TYPE_P(flags) == IS_LONG)) {
		wait_child_ready(Z_LVAL_P(pid), flags ? Z_LVAL_P(flags) : 0);
		if (EG(exception)) RETURN_THROWS();
	}
	orig_pcntl_waitpid(INTERNAL_FUNCTION_PARAM_PASSTHRU);
}

/* pcntl_wait(&$status, int $flags = 0, &$resource_usage = []) */
static void hook_pcntl_wait(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *flags = ZEND_NUM_ARGS() >= 2 ? ZEND_CALL_ARG(execute_data, 2) : NULL;
	if (ZEND_NUM_ARGS() >= 1 && (!flags || Z_TYPE_P(flags) == IS_LONG)) {
		wait_child_ready(-1, flags ? Z_LVAL_P(flags) : 0);
		if (EG(exception)) RETURN_THROWS();
	}
	orig_pcntl_wait(INTERNAL_FUNCTION_PARAM_PASSTHRU);
}

/* Runs in the child of every fork() of the process, before it execs. Same reset as libuv's
 * uv_spawn child: signals 1..31 to their default action (RT signals belong to glibc), then an
 * empty mask. Async-signal-safe calls only. */
static void reset_signals_in_child(void)
{
	for (int s = 1; s < 32; s++) {
		if (s == SIGKILL || s == SIGSTOP) continue;
		signal(s, SIG_DFL);
	}
	sigset_t none;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, reset_signals_in_child); }

/* ---- socket stream ops ------------------------------------------------------------------- */

typedef ssize_t (*write_t)(php_stream *, const char *, size_t);
typedef ssize_t (*read_t)(php_stream *, char *, size_t);
typedef int (*set_option_t)(php_stream *, int, int, void *);

typedef struct {
	const php_stream_ops *ops;
	write_t write;
	read_t read;
	set_option_t set_option;
} patched_ops;

static patched_ops patched[4];
static int npatched;
static pthread_mutex_t patch_mu = PTHREAD_MUTEX_INITIALIZER;
static bool patch_done;

static const patched_ops *originals_for(php_stream *stream)
{
	for (int i = 0; i < npatched; i++) {
		if (patched[i].ops == stream->ops) return &patched[i];
	}
	return NULL;
}

/* Deadline from the stream's timeout (tv_sec == -1: none). */
static uint64_t stream_deadline(php_netstream_data_t *sock)
{
	if (sock->timeout.tv_sec == -1) return 0;
	return phpa_now_ns() + (uint64_t)sock->timeout.tv_sec * 1000000000ull + (uint64_t)sock->timeout.tv_usec * 1000ull;
}

/* In a coroutine, wait until the socket is ready for `events`. Returns 1 ready, 0 timed out,
 * -1 cancelled (exception pending). Outside coroutines returns 1 at once. */
static int wait_socket(php_netstream_data_t *sock, short events, uint64_t deadline)
{
	if (!phpa_sched_running() || sock->socket < 0) return 1;
	struct pollfd p = {.fd = sock->socket, .events = events};
	if (poll(&p, 1, 0) > 0) return 1; /* ready now: no suspension */
	int fd = sock->socket;
	short rev;
	int r = phpa_wait_fds(&fd, &events, &rev, 1, deadline);
	return r > 0 ? 1 : r;
}

static ssize_t hooked_read(php_stream *stream, char *buf, size_t count)
{
	const patched_ops *o = originals_for(stream);
	php_netstream_data_t *sock = (php_netstream_data_t *)stream->abstract;
	if (sock && sock->is_blocked && phpa_sched_running()) {
		int r = wait_socket(sock, POLLIN, stream_deadline(sock));
		if (r == 0) {
			sock->timeout_event = 1;
			return 0;
		}
		if (r < 0) return -1;
	}
	return o->read(stream, buf, count);
}

static ssize_t hooked_write(php_stream *stream, const char *buf, size_t count)
{
	const patched_ops *o = originals_for(stream);
	php_netstream_data_t *sock = (php_netstream_data_t *)stream->abstract;
	if (sock && sock->is_blocked && phpa_sched_running()) {
		int r = wait_socket(sock, POLLOUT, stream_deadline(sock));
		if (r == 0) {
			sock->timeout_event = 1;
			return -1;
		}
		if (r < 0) return -1;
	}
	return o->write(stream, buf, count);
}

static uint64_t timeval_deadline(struct timeval *tv)
{
	if (!tv) return 0;
	return phpa_now_ns() + (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000ull;
}

static int hooked_set_option(php_stream *stream, int option, int value, void *ptrparam)
{
	const patched_ops *o = originals_for(stream);
	php_netstream_data_t *sock = (php_netstream_data_t *)stream->abstract;
	if (option != PHP_STREAM_OPTION_XPORT_API || !sock || !phpa_sched_running()) {
		return o->set_option(stream, option, value, ptrparam);
	}
	php_stream_xport_param *xp = (php_stream_xport_param *)ptrparam;
	if (xp->op == STREAM_XPORT_OP_ACCEPT) {
		int r = wait_socket(sock, POLLIN, timeval_deadline(xp->inputs.timeout));
		if (r < 0) {
			xp->outputs.returncode = -1;
			return PHP_STREAM_OPTION_RETURN_OK;
		}
		return o->set_option(stream, option, value, ptrparam);
	}
	if (xp->op != STREAM_XPORT_OP_CONNECT) return o->set_option(stream, option, value, ptrparam);

	/* Connect without blocking: PHP's asynchronous connect, then wait in the reactor. */
	uint64_t deadline = timeval_deadline(xp->inputs.timeout);
	xp->op = STREAM_XPORT_OP_CONNECT_ASYNC;
	int rc = o->set_option(stream, option, value, ptrparam);
	xp->op = STREAM_XPORT_OP_CONNECT;
	if (rc != PHP_STREAM_OPTION_RETURN_OK) return rc;
	if (xp->outputs.returncode == 1 && sock->socket >= 0) {
		int fd = sock->socket;
		short ev = POLLOUT, rev = 0;
		int r = phpa_wait_fds(&fd, &ev, &rev, 1, deadline);
		int err = 0;
		socklen_t len = sizeof err;
		if (r > 0) {
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
		} else if (r == 0) {
			err = ETIMEDOUT;
		} else {
			err = ECANCELED; /* cancelled: the exception is pending */
		}
		if (err == 0) {
			xp->outputs.returncode = 0;
		} else if (err == ETIMEDOUT || err == ECANCELED) {
			xp->outputs.returncode = -1;
			xp->outputs.error_code = err;
			if (xp->want_errortext && err == ETIMEDOUT) xp->outputs.error_text = php_socket_error_str(err);
		} else {
			/* Refused & co: PHP's blocking connect also tries the host's other addresses
			 * (e.g. ::1 then 127.0.0.1 for localhost); do exactly that. Loopback refusals fail
			 * at once, so this does not block in practice. */
			close(fd);
			sock->socket = -1;
			if (xp->outputs.error_text) {
				zend_string_release(xp->outputs.error_text);
				xp->outputs.error_text = NULL;
			}
			return o->set_option(stream, option, value, ptrparam);
		}
	}
	if (sock->socket >= 0) php_set_sock_blocking(sock->socket, 1); /* async connect left it non-blocking */
	return rc;
}

/* The ops tables live in libphp's relocated read-only data: make the page writable for the
 * three stores, then read-only again. */
static bool patch_ops(const php_stream_ops *ops)
{
	for (int i = 0; i < npatched; i++) {
		if (patched[i].ops == ops) return true;
	}
	if (npatched == 4) return false;
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)ops & ~((uintptr_t)page - 1);
	uintptr_t end = ((uintptr_t)ops + sizeof *ops + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	if (mprotect((void *)start, end - start, PROT_READ | PROT_WRITE) != 0) return false;
	patched_ops *p = &patched[npatched];
	p->ops = ops;
	p->write = ops->write;
	p->read = ops->read;
	p->set_option = ops->set_option;
	php_stream_ops *w = (php_stream_ops *)ops;
	__atomic_store_n(&w->write, hooked_write, __ATOMIC_RELEASE);
	__atomic_store_n(&w->read, hooked_read, __ATOMIC_RELEASE);
	__atomic_store_n(&w->set_option, hooked_set_option, __ATOMIC_RELEASE);
	npatched++;
	mprotect((void *)start, end - start, PROT_READ);
	return true;
}

/* The ops of a transport, read off a stream its factory makes without connecting. */
static const php_stream_ops *ops_of(const char *proto)
{
	php_stream_transport_factory factory = zend_hash_str_find_ptr(php_stream_xport_get_hash(), proto, strlen(proto));
	if (!factory) return NULL;
	struct timeval tv = {FG(default_socket_timeout), 0}; /* PHP 8.2's factory copies *timeout */
	php_stream *s = factory(proto, strlen(proto), "", 0, NULL, 0, 0, &tv, NULL STREAMS_CC);
	if (!s) return NULL;
	const php_stream_ops *ops = s->ops;
	php_stream_free(s, PHP_STREAM_FREE_CLOSE);
	return ops;
}

/* TLS transports still block: say so, once per thread, when a coroutine opens one. */
static php_stream_transport_factory orig_ssl, orig_tls;
static __thread bool tls_warned;

static php_stream *warn_tls_factory(const char *proto, size_t protolen, const char *resourcename, size_t resourcenamelen,
	const char *persistent_id, int options, int flags, struct timeval *timeout, php_stream_context *context STREAMS_DC)
{
	if (phpa_sched_running() && !tls_warned) {
		tls_warned = true;
		phpa_log(PHPA_LOG_WARN, 0,
			"not supported yet: TLS streams (%.*s://, https://) block this PHP thread inside coroutines; "
			"other coroutines wait until the TLS call returns", (int)protolen, proto);
	}
	php_stream_transport_factory f = (protolen == 3 && memcmp(proto, "ssl", 3) == 0) ? orig_ssl : orig_tls;
	if (!f) f = orig_tls ? orig_tls : orig_ssl;
	return f(proto, protolen, resourcename, resourcenamelen, persistent_id, options, flags, timeout, context STREAMS_REL_CC);
}

void phpa_hooks_thread_init(void)
{
	close_auto_started_session();
	if (!phpa_async_enabled()) return;
	pthread_mutex_lock(&patch_mu);
	if (!patch_done) {
		patch_done = true;
		static const char *protos[] = {"tcp", "unix", "udp", "udg"};
		for (size_t i = 0; i < sizeof protos / sizeof *protos; i++) {
			const php_stream_ops *ops = ops_of(protos[i]);
			if (!ops) continue;
			if (ops->read == hooked_read || patch_ops(ops)) continue;
			phpa_log(PHPA_LOG_WARN, 0,
				"not supported yet: %s:// sockets cannot be hooked here (%s); they block the PHP thread inside coroutines",
				protos[i], strerror(errno));
		}
		HashTable *xports = php_stream_xport_get_hash();
		orig_ssl = zend_hash_str_find_ptr(xports, "ssl", 3);
		orig_tls = zend_hash_str_find_ptr(xports, "tls", 3);
		if (orig_ssl) php_stream_xport_register("ssl", warn_tls_factory);
		if (orig_tls) php_stream_xport_register("tls", warn_tls_factory);
	}
	pthread_mutex_unlock(&patch_mu);
}

void phpa_hooks_minit(void)
{
	orig_sleep = replace("sleep", hook_sleep);
	orig_usleep = replace("usleep", hook_usleep);
	orig_nanosleep = replace("time_nanosleep", hook_nanosleep);
	orig_sleep_until = replace("time_sleep_until", hook_sleep_until);
	orig_stream_select = replace("stream_select", hook_stream_select);
	/* Absent when PHP is built without session or pcntl: replace() then returns NULL. */
	orig_session_start = replace("session_start", hook_session_start);
	orig_session_id = replace("session_id", hook_session_id);
	orig_session_regenerate_id = replace("session_regenerate_id", hook_session_regenerate_id);
	for (size_t i = 0; i < sizeof process_refusals / sizeof *process_refusals; i++) {
		process_refusals[i].orig = replace(process_refusals[i].name, hook_process_refusal);
	}
	orig_pcntl_waitpid = replace("pcntl_waitpid", hook_pcntl_waitpid);
	orig_pcntl_wait = replace("pcntl_wait", hook_pcntl_wait);
	static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
	pthread_once(&atfork_once, register_atfork);
}
