/*
 * Coroutine waits on time and fds: the running coroutine registers a timer and/or fd waits
 * with the reactor, whose callbacks wake it, and suspends until one fired (or it was
 * cancelled). Everything a wait registers lives on the waiting coroutine's fiber stack and is
 * removed before the wait returns.
 */
#include "runtime/runtime.h"

#include <errno.h>

static void wake_timer_cb(phpa_timer *t) { phpa_sched_wake((phpa_coroutine *)t->data); }

static void wake_fd_cb(phpa_fd_wait *w) { phpa_sched_wake((phpa_coroutine *)w->data); }

int phpa_wait_fds(const int *fds, const short *events, short *revents, int n, uint64_t deadline_ns)
{
	phpa_coroutine *co = phpa_sched_running();
	if (!co) {
		errno = EWOULDBLOCK;
		return -1;
	}
	phpa_fd_wait stack_waits[8];
	phpa_fd_wait *waits = n <= 8 ? stack_waits : safe_emalloc((size_t)n, sizeof(phpa_fd_wait), 0);
	for (int i = 0; i < n; i++) {
		waits[i] = (phpa_fd_wait){.fd = fds[i], .events = events[i], .cb = wake_fd_cb, .data = co};
		revents[i] = 0;
		phpa_reactor_add(&waits[i]);
	}
	phpa_timer timer;
	phpa_timer_init(&timer, wake_timer_cb, co);
	if (deadline_ns) phpa_timer_start(&timer, deadline_ns);
	int result = 0;
	for (;;) {
		bool ok = phpa_sched_suspend();
		int ready = 0;
		for (int i = 0; i < n; i++) {
			revents[i] = waits[i].revents;
			if (revents[i]) ready++;
		}
		if (!ok) { result = -1; break; }
		if (ready) { result = ready; break; }
		if (deadline_ns && phpa_now_ns() >= deadline_ns) { result = 0; break; }
		/* woken for another reason (e.g. flush back-pressure): wait on */
	}
	phpa_timer_stop(&timer);
	for (int i = 0; i < n; i++) phpa_reactor_remove(&waits[i]);
	if (waits != stack_waits) efree(waits);
	return result;
}

bool phpa_sched_sleep_until(uint64_t deadline_ns)
{
	phpa_coroutine *co = phpa_sched_running();
	if (!co) {
		zend_throw_error(NULL, "phpasync: cannot sleep outside a coroutine");
		return false;
	}
	phpa_timer timer;
	phpa_timer_init(&timer, wake_timer_cb, co);
	phpa_timer_start(&timer, deadline_ns);
	bool ok = true;
	while (phpa_timer_armed(&timer)) {
		if (!phpa_sched_suspend()) {
			ok = false;
			break;
		}
	}
	phpa_timer_stop(&timer);
	return ok;
}
