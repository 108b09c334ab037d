/*
 * Socket streams that yield inside coroutines (tcp://, unix://, udp://, udg://: fsockopen,
 * stream_socket_client, file_get_contents('http://...'), mysqlnd/Redis clients over streams):
 * three function pointers of PHP's own socket stream ops tables are replaced, once per
 * process: read and write first wait in the reactor until the fd is ready (honouring the
 * stream's timeout), then call PHP's code, which no longer blocks; connect is made
 * non-blocking (STREAM_XPORT_OP_CONNECT_ASYNC) and the coroutine waits for it; accept waits
 * for the listening socket. The tables are patched in place (not swapped per stream) so that
 * PHP's identity checks on stream->ops stay true. TLS streams are not covered: logged once per
 * thread as "not supported yet".
 */
#include "async/hooks.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <main/php_network.h>
#include <main/php_streams.h>
#include <ext/standard/file.h>

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

void phpa_sockets_thread_init(void)
{
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

