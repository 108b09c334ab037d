/*
 * The reactor a PHP thread parks in: epoll over the ring's notifier fd (poll() where there
 * is no epoll). Timers and the fds coroutines wait on join here as the scheduler grows.
 */
#include "phpa_internal.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/epoll.h>
#define PHPA_HAVE_EPOLL 1
#endif

int phpa_reactor_open(phpa_thread_state *ts)
{
	ts->epfd = -1;
#ifdef PHPA_HAVE_EPOLL
	ts->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ts->epfd < 0) return -1;
	struct epoll_event ev = {.events = EPOLLIN, .data = {.fd = phpa_host_notifier_fd(ts->index)}};
	if (epoll_ctl(ts->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) != 0) {
		close(ts->epfd);
		ts->epfd = -1;
		return -1;
	}
#endif
	return 0;
}

void phpa_reactor_close(phpa_thread_state *ts)
{
	if (ts->epfd >= 0) close(ts->epfd);
	ts->epfd = -1;
}

void phpa_reactor_park(phpa_thread_state *ts, bool watch_ring, int timeout_ms)
{
	/* The handshake re-checks for work after announcing we park; see ThreadSlot. */
	if (phpa_host_park_begin(ts->index, watch_ring)) return;
	int rc;
	if (ts->epfd >= 0) {
#ifdef PHPA_HAVE_EPOLL
		struct epoll_event evs[16];
		do {
			rc = epoll_wait(ts->epfd, evs, 16, timeout_ms);
		} while (rc < 0 && errno == EINTR);
#endif
	} else {
		struct pollfd p = {.fd = phpa_host_notifier_fd(ts->index), .events = POLLIN};
		do {
			rc = poll(&p, 1, timeout_ms);
		} while (rc < 0 && errno == EINTR);
	}
	(void)rc;
	phpa_host_park_end(ts->index);
}
