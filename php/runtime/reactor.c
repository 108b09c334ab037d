/*
 * The reactor a PHP thread parks in: epoll (poll() where there is no epoll) over the ring's
 * notifier fd and the fds coroutines wait on, with a min-heap of timers (CLOCK_MONOTONIC)
 * whose earliest deadline is the park timeout.
 *
 * The reactor knows no coroutine: timers and fd waits carry a callback (wait.c's wake the
 * coroutine that waits). Each tick of the thread's loop calls phpa_reactor_tick(): expired
 * timers fire, then fds are polled, blocking only when nothing is runnable. While requests keep coming
 * (the heartbeat fast path) the park handshake says "work is waiting" and we do not block, but
 * fds that coroutines wait on are still polled (timeout 0), so they are never starved.
 *
 * State is per thread (__thread): timers and waits live where their owners keep them (on the
 * fiber stacks of the coroutines that wait); phpa_reactor_reset() forgets them all after a fatal error, when those
 * stacks are gone (timers armed before carry an older generation and are ignored).
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/epoll.h>
#define PHPA_HAVE_EPOLL 1
#endif

/* ---- clock and timer heap ----------------------------------------------------------------- */

/* The heap holds each timer's deadline next to its pointer: the timers live on the fiber
 * stacks of the coroutines that wait, one page apart, so comparing through the pointers missed
 * the cache on every step (phpa_timer_stop() was 8 % of the PHP thread with 200 coroutines in
 * Async\delay). Only the timers that move are written to (their heap_index). */
typedef struct {
	uint64_t deadline_ns;
	phpa_timer *t;
} heap_entry;

static __thread heap_entry *heap;
static __thread uint32_t heap_len, heap_cap;
static __thread uint32_t generation = 1;

uint64_t phpa_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void phpa_timer_init(phpa_timer *t, phpa_timer_cb cb, void *data)
{
	t->deadline_ns = 0;
	t->slack_ns = 0;
	t->heap_index = -1;
	t->generation = 0;
	t->cb = cb;
	t->data = data;
}

bool phpa_timer_armed(const phpa_timer *t) { return t->heap_index >= 0 && t->generation == generation; }

static void heap_set(uint32_t i, heap_entry e)
{
	heap[i] = e;
	e.t->heap_index = (int32_t)i;
}

static void sift_up(uint32_t i)
{
	heap_entry e = heap[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (heap[parent].deadline_ns <= e.deadline_ns) break;
		heap_set(i, heap[parent]);
		i = parent;
	}
	heap_set(i, e);
}

static void sift_down(uint32_t i)
{
	heap_entry e = heap[i];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t best = e.deadline_ns;
		if (l < heap_len && heap[l].deadline_ns < best) { m = l; best = heap[l].deadline_ns; }
		if (r < heap_len && heap[r].deadline_ns < best) m = r;
		if (m == i) break;
		heap_set(i, heap[m]);
		i = m;
	}
	heap_set(i, e);
}

/* How late a timer may fire: 1/20 of its duration, at most TIMER_SLACK_MAX_NS (a 10 ms
 * delay: 0.5 ms). A thread parked for the earliest timer sleeps until its deadline plus
 * its slack, so timers that fall due close together fire in one wake-up and their responses
 * reach Node as one batch: with many coroutines waiting on timers (a delay per request at
 * c=200), one park and one wake per timer were a third of the PHP thread's time (measured:
 * 21 -> 15 us of PHP thread per request). Linux gives every timeout 50 us of slack for the
 * same reason. Nothing fires before its deadline. */
#define TIMER_SLACK_MAX_NS 1000000ull

static uint64_t timer_slack(uint64_t deadline_ns)
{
	uint64_t now = phpa_now_ns();
	uint64_t slack = deadline_ns > now ? (deadline_ns - now) / 20 : 0;
	return slack < TIMER_SLACK_MAX_NS ? slack : TIMER_SLACK_MAX_NS;
}

void phpa_timer_start(phpa_timer *t, uint64_t deadline_ns)
{
	if (phpa_timer_armed(t)) phpa_timer_stop(t);
	if (heap_len == heap_cap) {
		uint32_t cap = heap_cap ? heap_cap * 2 : 64;
		heap = phpa_realloc_array(heap, cap, sizeof *heap, "timers");
		heap_cap = cap;
	}
	t->deadline_ns = deadline_ns;
	t->slack_ns = timer_slack(deadline_ns);
	t->generation = generation;
	heap_set(heap_len++, (heap_entry){deadline_ns, t});
	sift_up(heap_len - 1);
}

void phpa_timer_stop(phpa_timer *t)
{
	if (!phpa_timer_armed(t)) {
		t->heap_index = -1;
		return;
	}
	uint32_t i = (uint32_t)t->heap_index;
	t->heap_index = -1;
	heap_len--;
	if (i == heap_len) return;
	heap_set(i, heap[heap_len]);
	if (i > 0 && heap[i].deadline_ns < heap[(i - 1) / 2].deadline_ns) sift_up(i);
	else sift_down(i);
}

/* Fire every timer whose deadline passed. Returns how many fired. */
static uint32_t run_timers(uint64_t now)
{
	uint32_t n = 0;
	while (heap_len > 0 && heap[0].deadline_ns <= now) {
		phpa_timer *t = heap[0].t;
		phpa_timer_stop(t);
		t->cb(t);
		n++;
	}
	return n;
}

/* ---- fd waits ------------------------------------------------------------------------------
 * One slot per fd with the waits registered on it; the epoll interest is the union of their
 * events (level-triggered). A wait is removed by its owner, so a slot never points at a dead
 * wait; phpa_reactor_reset() forgets them all when their owners' stacks are gone. */
typedef struct {
	phpa_fd_wait *head;
	uint32_t registered; /* events in the epoll set (0: not in it) */
	int32_t active_index; /* position in active_fds, -1 when no waits */
} fd_slot;

static __thread int epfd = -1; /* the thread's epoll instance (-1: poll() is used) */
static __thread fd_slot *slots;
static __thread uint32_t slots_cap;
static __thread int *active_fds;
static __thread uint32_t active_len, active_cap;

static fd_slot *slot_for(int fd)
{
	if ((uint32_t)fd >= slots_cap) {
		uint32_t cap = slots_cap ? slots_cap : 64;
		while (cap <= (uint32_t)fd) cap *= 2;
		slots = phpa_realloc_array(slots, cap, sizeof *slots, "fd waits");
		for (uint32_t i = slots_cap; i < cap; i++) slots[i] = (fd_slot){NULL, 0, -1};
		slots_cap = cap;
	}
	return &slots[fd];
}

static uint32_t epoll_bits(short events)
{
#ifdef PHPA_HAVE_EPOLL
	uint32_t e = 0;
	if (events & POLLIN) e |= EPOLLIN;
	if (events & POLLOUT) e |= EPOLLOUT;
	if (events & POLLPRI) e |= EPOLLPRI;
	return e;
#else
	return (uint32_t)events;
#endif
}

static void update_interest(int fd, fd_slot *s)
{
	short want = 0;
	for (phpa_fd_wait *w = s->head; w; w = w->next) want |= w->events;
	if (want && s->active_index < 0) {
		if (active_len == active_cap) {
			uint32_t cap = active_cap ? active_cap * 2 : 32;
			active_fds = phpa_realloc_array(active_fds, cap, sizeof *active_fds, "fd waits");
			active_cap = cap;
		}
		s->active_index = (int32_t)active_len;
		active_fds[active_len++] = fd;
	} else if (!want && s->active_index >= 0) {
		uint32_t i = (uint32_t)s->active_index;
		active_fds[i] = active_fds[--active_len];
		if (i < active_len) slots[active_fds[i]].active_index = (int32_t)i;
		s->active_index = -1;
	}
#ifdef PHPA_HAVE_EPOLL
	if (epfd >= 0) {
		uint32_t bits = epoll_bits(want);
		if (bits == s->registered) return;
		struct epoll_event ev = {.events = bits, .data = {.fd = fd}};
		if (!bits) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
		} else if (s->registered) {
			epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
		} else if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
			epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
		}
		s->registered = bits;
	}
#else
	s->registered = (uint32_t)want;
#endif
}

void phpa_reactor_add(phpa_fd_wait *w)
{
	fd_slot *s = slot_for(w->fd);
	w->revents = 0;
	w->next = s->head;
	s->head = w;
	update_interest(w->fd, s);
}

void phpa_reactor_remove(phpa_fd_wait *w)
{
	if ((uint32_t)w->fd >= slots_cap) return;
	fd_slot *s = &slots[w->fd];
	for (phpa_fd_wait **p = &s->head; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	update_interest(w->fd, s);
}

static void fd_ready(int fd, short revents)
{
	if ((uint32_t)fd >= slots_cap) return;
	for (phpa_fd_wait *w = slots[fd].head; w; w = w->next) {
		short hit = revents & (w->events | POLLERR | POLLHUP | POLLNVAL);
		if (hit) {
			w->revents |= hit;
			w->cb(w);
		}
	}
}

/* ---- open, park, reset ------------------------------------------------------------------- */

int phpa_reactor_open(void)
{
	epfd = -1;
#ifdef PHPA_HAVE_EPOLL
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) return -1;
	struct epoll_event ev = {.events = EPOLLIN, .data = {.fd = phpa_host_notifier_fd(phpa_thread_index())}};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) != 0) {
		close(epfd);
		epfd = -1;
		return -1;
	}
#endif
	return 0;
}

void phpa_reactor_close(void)
{
	phpa_reactor_reset();
	if (epfd >= 0) close(epfd);
	epfd = -1;
	free(heap);
	heap = NULL;
	heap_cap = 0;
	free(slots);
	slots = NULL;
	slots_cap = 0;
	free(active_fds);
	active_fds = NULL;
	active_cap = 0;
}

void phpa_reactor_reset(void)
{
	for (uint32_t i = 0; i < active_len; i++) {
		int fd = active_fds[i];
#ifdef PHPA_HAVE_EPOLL
		if (epfd >= 0 && slots[fd].registered) {
			struct epoll_event ev = {0};
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
		}
#endif
		slots[fd] = (fd_slot){NULL, 0, -1};
	}
	active_len = 0;
	heap_len = 0;
	generation++;
}

/* Milliseconds for a wait that takes them, rounded up: waking a little late is fine, waking
 * early costs a useless tick. */
static int wait_ms(int64_t timeout_ns)
{
	if (timeout_ns < 0) return -1;
	int64_t ms = (timeout_ns + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

#ifdef PHPA_HAVE_EPOLL
/* epoll_pwait2() (Linux 5.11) takes a timespec: a timer wakes at its deadline instead of up to
 * a millisecond after it. Off for the thread once the kernel lacks it (ENOSYS) or a seccomp
 * filter refuses it (EPERM: older container runtimes' default profiles). */
static int epoll_wait_ns(struct epoll_event *evs, int max, int64_t timeout_ns)
{
	static __thread bool no_pwait2; /* per thread, like the rest of the reactor's state */
	if (!no_pwait2) {
		struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
		int rc = epoll_pwait2(epfd, evs, max, timeout_ns < 0 ? NULL : &ts, NULL);
		if (rc >= 0 || (errno != ENOSYS && errno != EPERM)) return rc;
		no_pwait2 = true;
	}
	return epoll_wait(epfd, evs, max, wait_ms(timeout_ns));
}
#endif

/* Wait for the notifier and the fds for up to timeout_ns (0: just poll; -1: until one fires).
 * Returns after dispatching what fired. */
static void wait_events(int64_t timeout_ns)
{
	const int notifier = phpa_host_notifier_fd(phpa_thread_index());
	int rc;
#ifdef PHPA_HAVE_EPOLL
	if (epfd >= 0) {
		struct epoll_event evs[64];
		do {
			rc = epoll_wait_ns(evs, 64, timeout_ns);
		} while (rc < 0 && errno == EINTR);
		for (int i = 0; i < rc; i++) {
			int fd = evs[i].data.fd;
			if (fd == notifier) continue;
			short re = 0;
			if (evs[i].events & EPOLLIN) re |= POLLIN;
			if (evs[i].events & EPOLLOUT) re |= POLLOUT;
			if (evs[i].events & EPOLLPRI) re |= POLLPRI;
			if (evs[i].events & EPOLLERR) re |= POLLERR;
			if (evs[i].events & EPOLLHUP) re |= POLLHUP;
			fd_ready(fd, re);
		}
		return;
	}
#endif
	struct pollfd stack_pfds[32];
	uint32_t n = active_len + 1;
	struct pollfd *pfds = n <= 32 ? stack_pfds : phpa_realloc_array(NULL, n, sizeof *pfds, "fd waits");
	pfds[0] = (struct pollfd){.fd = notifier, .events = POLLIN};
	for (uint32_t i = 0; i < active_len; i++) {
		pfds[i + 1] = (struct pollfd){.fd = active_fds[i], .events = (short)slots[active_fds[i]].registered};
	}
	do {
		rc = poll(pfds, n, wait_ms(timeout_ns));
	} while (rc < 0 && errno == EINTR);
	for (uint32_t i = 1; rc > 0 && i < n; i++) {
		if (pfds[i].revents) fd_ready(pfds[i].fd, pfds[i].revents);
	}
	if (pfds != stack_pfds) free(pfds);
}

void phpa_reactor_tick(bool may_block, bool watch_ring)
{
	uint64_t now = phpa_now_ns();
	if (run_timers(now) > 0) may_block = false; /* someone woke: run them first */
	if (!may_block) {
		if (active_len > 0) wait_events(0);
		return;
	}
	int64_t timeout_ns = -1;
	if (heap_len > 0) {
		/* The earliest deadline's slack: the heap is ordered by deadline, so a later timer
		 * with less slack may fire up to that much past its own (at most TIMER_SLACK_MAX_NS). */
		uint64_t d = heap[0].deadline_ns + heap[0].t->slack_ns;
		uint64_t left = d > now ? d - now : 0;
		timeout_ns = left > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)left;
	}
	if (phpa_host_park_begin(phpa_thread_index(), watch_ring)) {
		/* Work already waiting (a job or released buffers): do not block. */
		if (active_len > 0) wait_events(0);
	} else {
		wait_events(timeout_ns);
		phpa_host_park_end(phpa_thread_index());
	}
	run_timers(phpa_now_ns());
}

void phpa_reactor_park(bool watch_ring, int timeout_ms)
{
	/* The handshake re-checks for work after announcing we park; see ThreadSlot. */
	if (phpa_host_park_begin(phpa_thread_index(), watch_ring)) return;
	wait_events(timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000);
	phpa_host_park_end(phpa_thread_index());
}
