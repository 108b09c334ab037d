/*
 * The reactor a PHP thread parks in: epoll (poll() where there is no epoll) over the ring's
 * notifier fd and the fds coroutines wait on, with a min-heap of timers (CLOCK_MONOTONIC)
 * whose earliest deadline is the park timeout.
 *
 * Each scheduler tick calls phpa_reactor_tick(): expired timers fire (they wake coroutines),
 * then fds are polled, blocking only when nothing is runnable. While requests keep coming
 * (the heartbeat fast path) the park handshake says "work is waiting" and we do not block, but
 * fds that coroutines wait on are still polled (timeout 0), so they are never starved.
 *
 * State is per thread (__thread): timers and waiters live on the fiber stacks of the
 * coroutines that wait; phpa_reactor_reset() forgets them all after a fatal error, when those
 * stacks are gone (timers armed before carry an older generation and are ignored).
 */
#include "async_backend.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/epoll.h>
#define PHPA_HAVE_EPOLL 1
#endif

/* ---- clock and timer heap ----------------------------------------------------------------- */

static __thread phpa_timer **heap;
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
	t->heap_index = -1;
	t->generation = 0;
	t->cb = cb;
	t->data = data;
}

bool phpa_timer_armed(const phpa_timer *t) { return t->heap_index >= 0 && t->generation == generation; }

static void heap_set(uint32_t i, phpa_timer *t)
{
	heap[i] = t;
	t->heap_index = (int32_t)i;
}

static void sift_up(uint32_t i)
{
	phpa_timer *t = heap[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (heap[parent]->deadline_ns <= t->deadline_ns) break;
		heap_set(i, heap[parent]);
		i = parent;
	}
	heap_set(i, t);
}

static void sift_down(uint32_t i)
{
	phpa_timer *t = heap[i];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t best = t->deadline_ns;
		if (l < heap_len && heap[l]->deadline_ns < best) { m = l; best = heap[l]->deadline_ns; }
		if (r < heap_len && heap[r]->deadline_ns < best) m = r;
		if (m == i) break;
		heap_set(i, heap[m]);
		i = m;
	}
	heap_set(i, t);
}

void phpa_timer_start(phpa_timer *t, uint64_t deadline_ns)
{
	if (phpa_timer_armed(t)) phpa_timer_stop(t);
	if (heap_len == heap_cap) {
		heap_cap = heap_cap ? heap_cap * 2 : 64;
		heap = realloc(heap, heap_cap * sizeof *heap);
		if (!heap) zend_error_noreturn(E_ERROR, "phpasync: out of memory for timers");
	}
	t->deadline_ns = deadline_ns;
	t->generation = generation;
	heap_set(heap_len++, t);
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
	if (i > 0 && heap[i]->deadline_ns < heap[(i - 1) / 2]->deadline_ns) sift_up(i);
	else sift_down(i);
}

/* Fire every timer whose deadline passed. Returns how many fired. */
static uint32_t run_timers(uint64_t now)
{
	uint32_t n = 0;
	while (heap_len > 0 && heap[0]->deadline_ns <= now) {
		phpa_timer *t = heap[0];
		phpa_timer_stop(t);
		t->cb(t);
		n++;
	}
	return n;
}

/* ---- fd waits ------------------------------------------------------------------------------
 * One slot per fd with the waits registered on it; the epoll interest is the union of their
 * events (level-triggered). A wait is removed by the coroutine that registered it, after it
 * resumes, so a slot never points at a dead wait. */
typedef struct fd_wait {
	struct fd_wait *next;
	phpa_coroutine *co;
	short events, revents;
} fd_wait;

typedef struct {
	fd_wait *head;
	uint32_t registered; /* events in the epoll set (0: not in it) */
	int32_t active_index; /* position in active_fds, -1 when no waits */
} fd_slot;

static __thread fd_slot *slots;
static __thread uint32_t slots_cap;
static __thread int *active_fds;
static __thread uint32_t active_len, active_cap;

static fd_slot *slot_for(int fd)
{
	if ((uint32_t)fd >= slots_cap) {
		uint32_t cap = slots_cap ? slots_cap : 64;
		while (cap <= (uint32_t)fd) cap *= 2;
		slots = realloc(slots, cap * sizeof *slots);
		if (!slots) zend_error_noreturn(E_ERROR, "phpasync: out of memory for fd waits");
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

static void update_interest(phpa_thread_state *ts, int fd, fd_slot *s)
{
	short want = 0;
	for (fd_wait *w = s->head; w; w = w->next) want |= w->events;
	if (want && s->active_index < 0) {
		if (active_len == active_cap) {
			active_cap = active_cap ? active_cap * 2 : 32;
			active_fds = realloc(active_fds, active_cap * sizeof *active_fds);
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
	if (ts->epfd >= 0) {
		uint32_t bits = epoll_bits(want);
		if (bits == s->registered) return;
		struct epoll_event ev = {.events = bits, .data = {.fd = fd}};
		if (!bits) {
			epoll_ctl(ts->epfd, EPOLL_CTL_DEL, fd, &ev);
		} else if (s->registered) {
			epoll_ctl(ts->epfd, EPOLL_CTL_MOD, fd, &ev);
		} else if (epoll_ctl(ts->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
			epoll_ctl(ts->epfd, EPOLL_CTL_MOD, fd, &ev);
		}
		s->registered = bits;
	}
#else
	s->registered = (uint32_t)want;
#endif
}

static void add_wait(phpa_thread_state *ts, int fd, fd_wait *w)
{
	fd_slot *s = slot_for(fd);
	w->next = s->head;
	s->head = w;
	update_interest(ts, fd, s);
}

static void remove_wait(phpa_thread_state *ts, int fd, fd_wait *w)
{
	if ((uint32_t)fd >= slots_cap) return;
	fd_slot *s = &slots[fd];
	for (fd_wait **p = &s->head; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	update_interest(ts, fd, s);
}

static void fd_ready(int fd, short revents)
{
	if ((uint32_t)fd >= slots_cap) return;
	for (fd_wait *w = slots[fd].head; w; w = w->next) {
		short hit = revents & (w->events | POLLERR | POLLHUP | POLLNVAL);
		if (hit) {
			w->revents |= hit;
			phpa_sched_wake(w->co);
		}
	}
}

static void wake_timer_cb(phpa_timer *t) { phpa_sched_wake((phpa_coroutine *)t->data); }

int phpa_wait_fds(const int *fds, const short *events, short *revents, int n, uint64_t deadline_ns)
{
	phpa_thread_state *ts = phpa_ts;
	phpa_coroutine *co = phpa_sched_running();
	if (!co) {
		errno = EWOULDBLOCK;
		return -1;
	}
	fd_wait stack_waits[8];
	fd_wait *waits = n <= 8 ? stack_waits : emalloc(sizeof(fd_wait) * (size_t)n);
	for (int i = 0; i < n; i++) {
		waits[i] = (fd_wait){NULL, co, events[i], 0};
		revents[i] = 0;
		add_wait(ts, fds[i], &waits[i]);
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
	for (int i = 0; i < n; i++) remove_wait(ts, fds[i], &waits[i]);
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

/* ---- open, park, reset ------------------------------------------------------------------- */

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
	phpa_reactor_reset(ts);
	if (ts->epfd >= 0) close(ts->epfd);
	ts->epfd = -1;
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

void phpa_reactor_reset(phpa_thread_state *ts)
{
	for (uint32_t i = 0; i < active_len; i++) {
		int fd = active_fds[i];
#ifdef PHPA_HAVE_EPOLL
		if (ts->epfd >= 0 && slots[fd].registered) {
			struct epoll_event ev = {0};
			epoll_ctl(ts->epfd, EPOLL_CTL_DEL, fd, &ev);
		}
#endif
		slots[fd] = (fd_slot){NULL, 0, -1};
	}
	active_len = 0;
	heap_len = 0;
	generation++;
}

/* Wait for the notifier and the fds for up to timeout_ms (0: just poll). Returns after
 * dispatching what fired. */
static void wait_events(phpa_thread_state *ts, int timeout_ms)
{
	const int notifier = phpa_host_notifier_fd(ts->index);
	int rc;
#ifdef PHPA_HAVE_EPOLL
	if (ts->epfd >= 0) {
		struct epoll_event evs[64];
		do {
			rc = epoll_wait(ts->epfd, evs, 64, timeout_ms);
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
	struct pollfd *pfds = n <= 32 ? stack_pfds : malloc(n * sizeof *pfds);
	if (!pfds) return;
	pfds[0] = (struct pollfd){.fd = notifier, .events = POLLIN};
	for (uint32_t i = 0; i < active_len; i++) {
		pfds[i + 1] = (struct pollfd){.fd = active_fds[i], .events = (short)slots[active_fds[i]].registered};
	}
	do {
		rc = poll(pfds, n, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	for (uint32_t i = 1; rc > 0 && i < n; i++) {
		if (pfds[i].revents) fd_ready(pfds[i].fd, pfds[i].revents);
	}
	if (pfds != stack_pfds) free(pfds);
}

void phpa_reactor_tick(phpa_thread_state *ts, bool may_block, bool watch_ring)
{
	uint64_t now = phpa_now_ns();
	if (run_timers(now) > 0) may_block = false; /* someone woke: run them first */
	if (!may_block) {
		if (active_len > 0) wait_events(ts, 0);
		return;
	}
	int timeout_ms = -1;
	if (heap_len > 0) {
		uint64_t d = heap[0]->deadline_ns;
		/* Round up: waking a little late is fine, waking early costs a useless tick. */
		uint64_t ms = d > now ? (d - now + 999999) / 1000000 : 0;
		timeout_ms = ms > INT32_MAX ? INT32_MAX : (int)ms;
	}
	if (phpa_host_park_begin(ts->index, watch_ring)) {
		/* Work already waiting (a job or released buffers): do not block. */
		if (active_len > 0) wait_events(ts, 0);
	} else {
		wait_events(ts, timeout_ms);
		phpa_host_park_end(ts->index);
	}
	run_timers(phpa_now_ns());
}

void phpa_reactor_park(phpa_thread_state *ts, bool watch_ring, int timeout_ms)
{
	/* The handshake re-checks for work after announcing we park; see ThreadSlot. */
	if (phpa_host_park_begin(ts->index, watch_ring)) return;
	wait_events(ts, timeout_ms);
	phpa_host_park_end(ts->index);
}
