/*
 * Stack overflow guard of the PHP threads: a C stack overflow fails the request that caused
 * it, never the process.
 *
 * Handlers run on PHP Fiber stacks (mmap'd, with a PROT_NONE guard page below them). PHP 8.2
 * has no zend.max_allowed_stack_size, so deep C recursion (serialize() or var_export() of a
 * deeply nested array, array_map() calling itself through a callback) runs into the guard page
 * and the kernel sends SIGSEGV. Each PHP thread gets an alternate signal stack (the faulting
 * stack has no room left to run a handler on), and one process-wide SIGSEGV/SIGBUS handler
 * recognises a fault in the guard page, or just below it, of the fiber the thread is running
 * (or of the thread's own stack, where the worker file's top level runs), and bails out of it
 * as a fatal error does (zend_bailout(): the fiber's own zend_try catches it, hands it to the
 * code that resumed the fiber, up to the scheduler's zend_catch, which answers 500 and makes
 * thread.c restart the interpreter). The line naming the request is logged after the jump,
 * outside the signal handler: by a fiber-switch observer as the dead fiber leaves, before the
 * request is answered (so the line carries its id), else by thread.c after the bailout.
 *
 * Any other fault goes to the handler that was there before ours (Node's, which V8 uses for
 * WebAssembly traps), or, where that was the default action, the default action comes back and
 * the faulting instruction runs again: a real crash still crashes, with its core.
 *
 * Limits: the interrupted C code does not get to finish, exactly as with any fatal error (PHP
 * restarts the interpreter; memory it held in libc's malloc stays lost). A single C frame
 * larger than the guard page can jump over it into the mapping below (on a pooled fiber, often
 * another fiber's stack) without any fault; PHP would need -fstack-clash-protection for that.
 */
#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <zend_fibers.h>
#include <zend_objects_API.h>
#include <zend_observer.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/* The leading fields of Zend's private struct _zend_fiber_stack (PHP 8.1 to 8.4): pointer is
 * the lowest usable byte, right above ZEND_FIBER_GUARD_PAGES guard pages; size is the usable
 * size (fiber.stack_size rounded up to pages). */
typedef struct {
	void *pointer;
	size_t size;
} fiber_stack_head;

/* Room for the handler itself, zend_bailout() and a chained handler. */
#define ALT_STACK_SIZE (64 * 1024)
/* A frame up to this size below the guard page still counts as an overflow: it can skip the
 * guard page and fault in an unmapped page under it. */
#define FAULT_SLACK (64 * 1024)

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_threads; /* PHP threads with the guard on; the handler is installed while > 0 */
static struct sigaction g_prev_segv, g_prev_bus;
static size_t g_page;

static __thread bool t_armed;
static __thread void *t_alt_map;      /* guard page + ALT_STACK_SIZE (munmap'd at thread stop) */
static __thread stack_t t_prev_alt;   /* the thread's alternate stack before ours (ASan sets one) */
static __thread uintptr_t t_thread_low; /* lowest address of the thread's own stack (0: unknown) */
/* Set by the handler just before it jumps; read after the bailout landed, on the same thread. */
static __thread volatile sig_atomic_t t_overflowed;
static __thread uint64_t t_overflow_job;
static __thread const char *t_overflow_what; /* what the coroutine ran (its ops->what), NULL: unknown */
static __thread bool t_overflow_fiber; /* on a fiber (else on the thread's own stack) */
static __thread zend_fiber_context *t_overflow_ctx; /* that fiber */

static uintptr_t fault_sp(void *uc)
{
#if defined(__x86_64__)
	return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.sp;
#else
	(void)uc;
	return 0; /* unknown: the fault address alone decides */
#endif
}

/* A fault at addr with the stack pointer at sp hit the guard region under a stack whose
 * lowest usable byte is low. */
static bool below(uintptr_t low, size_t guard, uintptr_t addr, uintptr_t sp)
{
	if (low < guard + FAULT_SLACK) return false;
	uintptr_t floor = low - guard - FAULT_SLACK;
	if (addr >= low || addr < floor) return false;
	return sp == 0 || (sp >= floor && sp < low + FAULT_SLACK);
}

/* Runs in the signal handler: reads only this thread's globals, calls nothing. */
static bool is_our_overflow(void *addr, uintptr_t sp, bool *on_fiber)
{
	if (!t_armed || !EG(bailout)) return false; /* nowhere to bail out to */
	zend_fiber_context *ctx = EG(current_fiber_context);
	if (ctx && ctx != EG(main_fiber_context) && ctx->stack) {
		const fiber_stack_head *st = (const fiber_stack_head *)ctx->stack;
		*on_fiber = true;
		return below((uintptr_t)st->pointer, ZEND_FIBER_GUARD_PAGES * g_page, (uintptr_t)addr, sp);
	}
	*on_fiber = false;
	return t_thread_low && below(t_thread_low, g_page, (uintptr_t)addr, sp);
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *prev = sig == SIGBUS ? &g_prev_bus : &g_prev_segv;
	if (prev->sa_flags & SA_SIGINFO) {
		prev->sa_sigaction(sig, si, uc);
		return;
	}
	if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	/* The default action (a fault cannot be ignored): returning runs the faulting instruction
	 * again, which now kills the process with a core that shows where. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0) raise(sig); /* sent by kill(): nothing runs again; delivered on return */
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	bool on_fiber = false;
	if (is_our_overflow(si->si_addr, fault_sp(uc), &on_fiber)) {
		phpa_coroutine *co = phpa_sched_current();
		t_overflow_job = co ? co->scope_id : 0;
		t_overflow_what = co && co->ops ? co->ops->what : NULL;
		t_overflow_fiber = on_fiber;
		t_overflow_ctx = on_fiber ? EG(current_fiber_context) : NULL;
		t_overflowed = 1;
		/* PHP's SETJMP does not save the signal mask (sigsetjmp(.., 0) or glibc's setjmp), so
		 * the jump would leave this signal blocked, and the next fault would kill the process. */
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, sig);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
		/* As php_error_cb does before a fatal error's bailout: no destructor may run in the
		 * broken request, Fiber's included (its destructor would resume suspended coroutines
		 * at request shutdown, after the scheduler freed their state). Memory writes only. */
		zend_objects_store_mark_destructed(&EG(objects_store));
		zend_bailout(); /* longjmp to the innermost zend_try, on the faulting stack */
	}
	chain(sig, si, uc);
}

static void install_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &g_prev_segv);
	sigaction(SIGBUS, &sa, &g_prev_bus);
}

/* Puts back the previous handler unless someone installed theirs over ours meanwhile. */
static void restore_handler(int sig, const struct sigaction *prev)
{
	struct sigaction cur;
	if (sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault) {
		sigaction(sig, prev, NULL);
	}
}

static void find_thread_stack(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	t_thread_low = 0;
	if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) t_thread_low = (uintptr_t)addr;
	pthread_attr_destroy(&attr);
}

void phpa_stack_guard_thread_start(void)
{
	if (t_armed) return;
	pthread_mutex_lock(&g_lock);
	if (!g_page) g_page = (size_t)sysconf(_SC_PAGESIZE);
	pthread_mutex_unlock(&g_lock);

	/* The alternate stack, with a guard page of its own. */
	void *map = mmap(NULL, g_page + ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (map == MAP_FAILED) {
		phpa_log(PHPA_LOG_WARN, 0, "stack overflow guard off on this PHP thread (no memory for a signal stack): "
			"a stack overflow in a handler kills the process");
		return;
	}
	mprotect(map, g_page, PROT_NONE);
	stack_t ss = {.ss_sp = (char *)map + g_page, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
	if (sigaltstack(&ss, &t_prev_alt) != 0) {
		munmap(map, g_page + ALT_STACK_SIZE);
		phpa_log(PHPA_LOG_WARN, 0, "stack overflow guard off on this PHP thread (sigaltstack failed): "
			"a stack overflow in a handler kills the process");
		return;
	}
	t_alt_map = map;
	find_thread_stack();
	/* Touches this module's thread-local block now: the first access from a signal handler
	 * could otherwise allocate it (dlopen'd module, lazily allocated TLS). */
	t_overflowed = 0;
	t_overflow_job = 0;
	t_overflow_what = NULL;
	t_overflow_fiber = false;

	pthread_mutex_lock(&g_lock);
	if (g_threads++ == 0) install_handler();
	pthread_mutex_unlock(&g_lock);
	t_armed = true;
}

void phpa_stack_guard_thread_stop(void)
{
	if (!t_armed) return;
	t_armed = false;
	pthread_mutex_lock(&g_lock);
	if (--g_threads == 0) {
		restore_handler(SIGSEGV, &g_prev_segv);
		restore_handler(SIGBUS, &g_prev_bus);
	}
	pthread_mutex_unlock(&g_lock);
	/* Whoever had set one before gets theirs back (they free it at thread exit). */
	stack_t prev = t_prev_alt;
	if (prev.ss_flags & SS_DISABLE) prev = (stack_t){.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
	else prev.ss_flags = 0;
	sigaltstack(&prev, NULL);
	munmap(t_alt_map, g_page + ALT_STACK_SIZE);
	t_alt_map = NULL;
}

/* Logs the overflow the handler recorded, once. */
static bool log_overflow(void)
{
	if (!t_overflowed) return false;
	t_overflowed = 0;
	const int thread = phpa_thread_index() >= 0 ? phpa_thread_index() : 0;
	if (!t_overflow_fiber) {
		phpa_log(PHPA_LOG_ERROR, t_overflow_job,
			"stack overflow: deep recursion in C code on PHP thread %d's own stack (worker file top level, or "
			"the interpreter's start or shutdown); bailed out as a fatal error",
			thread);
		return true;
	}
	const long long kib = (long long)EG(fiber_stack_size) / 1024;
	if (t_overflow_job) {
		phpa_log(PHPA_LOG_ERROR, t_overflow_job,
			"stack overflow: the %s ran out of its %lld KiB C stack (fiber.stack_size) in deep recursion in C code "
			"(serialize()/json_encode() of a deeply nested value, a callback recursing through array_map(), ...); "
			"the request fails with 500 and PHP thread %d restarts its interpreter",
			t_overflow_what ? t_overflow_what : "coroutine of this request", kib, thread);
	} else {
		phpa_log(PHPA_LOG_ERROR, 0,
			"stack overflow: a fiber on PHP thread %d ran out of its %lld KiB C stack (fiber.stack_size) in deep "
			"recursion in C code; bailed out as a fatal error",
			thread, kib);
	}
	return true;
}

/* The fiber that overflowed has caught the bailout and switches back to whoever resumed it
 * (its first switch after the fault):
 * log now, while its request is still pending in JS (its 500 follows from the scheduler's
 * zend_catch), so the line carries the request's id. Off the signal handler, on the fiber's
 * own stack. */
static void on_fiber_switch(zend_fiber_context *from, zend_fiber_context *to)
{
	(void)to;
	if (!t_overflowed || from != t_overflow_ctx) return;
	log_overflow();
#if defined(__SANITIZE_ADDRESS__)
	/* The jump skipped the epilogues of thousands of frames, whose locals ASan still marks out
	 * of scope; PHP frees this stack next and a later fiber's stack may be mapped at the same
	 * place: clear the marks, or that fiber's first locals are reported. */
	if (from->stack) {
		const fiber_stack_head *st = (const fiber_stack_head *)from->stack;
		ASAN_UNPOISON_MEMORY_REGION(st->pointer, st->size);
	}
#endif
}

void phpa_stack_guard_module_startup(void)
{
	zend_observer_fiber_switch_register(on_fiber_switch);
}

bool phpa_stack_guard_report(void) { return log_overflow(); }

void phpa_stack_guard_fresh_stack(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* A new fiber's stack may be mapped where one lay that PHP longjmp'd off (a fatal error, a
	 * stack overflow): ASan's marks for the skipped frames' locals are still there and would be
	 * reported against this fiber's own. Clears them below this function's frame (its own
	 * locals included: they need no checking). */
	zend_fiber_context *ctx = EG(current_fiber_context);
	if (!ctx || !ctx->stack) return;
	char *low = (char *)((const fiber_stack_head *)ctx->stack)->pointer;
	char *here = (char *)__builtin_frame_address(0);
	if (here > low) ASAN_UNPOISON_MEMORY_REGION(low, (size_t)(here - low));
#endif
}
