/*
 * Blocking calls that yield inside coroutines (unchanged outside them):
 *
 * - sleep, usleep, time_nanosleep, time_sleep_until: their handlers in the function table are
 *   replaced at MINIT; inside a coroutine they become reactor timers, elsewhere (and for
 *   invalid arguments, so PHP's own errors are kept) the original handler runs.
 * - stream_select: inside a coroutine, polled with a zero timeout, then the coroutine waits in
 *   the reactor for any of the fds and polls again.
 * - socket streams (tcp://, unix://, udp://, udg://): see sockets.c.
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
#include "async/hooks.h"

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

/* A server PHP thread has its index set for its whole life (worker file included); a php-cli
 * thread never has one. */
static bool on_server_thread(void) { return phpa_on_php_thread(); }

/* Sessions are refused where the requests of a thread run concurrently (the async worker); a
 * classic worker serves one at a time and resets the session module after each
 * (server/classic_worker.c), and a classic script is a PHP request of its own. */
static bool sessions_refused(void)
{
	return on_server_thread() && phpa_runtime_config()->mode == PHPA_MODE_ASYNC_WORKER;
}

#define SESSIONS_WHY                                                                                        \
	"PHP sessions are per thread and the requests of a thread run concurrently, so one user's session "  \
	"would be shared with the others' (the per-request state does not cover sessions yet)"

static void hook_session_start(INTERNAL_FUNCTION_PARAMETERS)
{
	if (!sessions_refused()) {
		orig_session_start(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	zend_throw_error(NULL, "not supported yet: session_start() in an async worker: " SESSIONS_WHY);
	RETURN_THROWS();
}

static void hook_session_id(INTERNAL_FUNCTION_PARAMETERS)
{
	zval *id = ZEND_NUM_ARGS() >= 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
	if (!sessions_refused() || !id || Z_TYPE_P(id) == IS_NULL) { /* the getter shares nothing */
		orig_session_id(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	zend_throw_error(NULL, "not supported yet: session_id($id) in an async worker: " SESSIONS_WHY);
	RETURN_THROWS();
}

static void hook_session_regenerate_id(INTERNAL_FUNCTION_PARAMETERS)
{
	if (!sessions_refused()) {
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
	/* A classic worker opens one for each request instead (server/classic_worker.c). */
	if (phpa_runtime_config()->mode == PHPA_MODE_CLASSIC_WORKER) return;
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

void phpa_hooks_thread_init(void)
{
	close_auto_started_session();
	if (!phpa_async_enabled()) return;
	phpa_pdo_persistent_thread_init();
	phpa_sockets_thread_init();
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
