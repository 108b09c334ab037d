/*
 * The per-thread coroutine scheduler: pooled PHP Fibers, a run queue, suspend/wake/spawn/
 * cancel/interrupt. It knows no user: a coroutine runs the body its spawner gave it, and the
 * scheduler calls the spawner's enter/leave hooks around every switch and its finish hook
 * once the body returned (as Swoole's coroutine core does). The thread's loop (the server's
 * async worker) decides when to spawn, when to run the queue and when to park.
 *
 * A pooled fiber runs coroutine_body(): run the body, mark itself idle, Fiber::suspend() back
 * to the scheduler, and loop when resumed for the next body. Creating a Fiber costs an mmap'd
 * stack (7-20 us in a threaded process); resuming a pooled one costs well under 1 us.
 */
#include "runtime/runtime.h"

#include <zend_closures.h>
#include <zend_exceptions.h>
#include <zend_extensions.h>
#include <zend_fibers.h>

static zend_function *fiber_start_fn, *fiber_resume_fn, *fiber_suspend_fn;
static zend_internal_function coroutine_body_fn;

/* Fibers are resumed from C, with no PHP frame below them. An extension that observes fiber
 * switches and reads the executing file there (Xdebug 3.2 copies that name, NULL here, and
 * crashes) needs one: while the scheduler resumes a fiber, the current frame is that of a
 * one-line script named "phpasync scheduler". Only with Xdebug loaded: backtraces would show
 * the frame. */
static __thread zend_op_array *anchor_op_array;
static __thread zend_execute_data anchor_frame;

static void anchor_init(void)
{
	if (anchor_op_array || !zend_get_extension("Xdebug")) return;
	/* PHP compiles nothing from an empty string: a bare return is the smallest script. */
	zend_string *code = zend_string_init("return;", sizeof("return;") - 1, 0);
#if PHP_VERSION_ID >= 80200
	anchor_op_array = zend_compile_string(code, "phpasync scheduler", ZEND_COMPILE_POSITION_AFTER_OPEN_TAG);
#else
	anchor_op_array = zend_compile_string(code, "phpasync scheduler");
#endif
	zend_string_release(code);
	if (!anchor_op_array) return;
	memset(&anchor_frame, 0, sizeof anchor_frame);
	anchor_frame.func = (zend_function *)anchor_op_array;
	anchor_frame.opline = anchor_op_array->opcodes;
}

static void anchor_destroy(void)
{
	if (!anchor_op_array) return;
	destroy_op_array(anchor_op_array);
	efree(anchor_op_array);
	anchor_op_array = NULL;
}

static void coroutine_body(INTERNAL_FUNCTION_PARAMETERS);

/* This thread's coroutines: all of them (to fail them after a fatal error) and the idle pool. */
static __thread phpa_coroutine **all_items;
static __thread uint32_t all_len, all_cap;
static __thread phpa_coroutine *current;   /* switched into; NULL in the scheduler itself */
static __thread phpa_coroutine *idle;      /* pooled coroutines ready for the next body */
static __thread uint32_t nidle;            /* in the idle pool (at most PHPA_IDLE_MAX) */
static __thread phpa_coroutine *ready_head, *ready_tail; /* woken, resumed in order at the next tick */
static __thread uint32_t live;             /* spawned and not finished */

/* Idle fibers kept for reuse. Each holds a C stack mapping (plus its guard page) and a VM
 * stack page, so a burst (a request that spawns thousands of coroutines) must not leave them
 * all behind: past this many, a finished coroutine's fiber is destroyed. 256 covers the
 * concurrency one thread holds in the benchmarks (200 requests waiting in Async\delay) without
 * churn: with 128, destroying and re-creating fibers (munmap, mmap, mprotect) took 8 % of the
 * PHP thread there. */
#define PHPA_IDLE_MAX 256

uint32_t phpa_sched_all(phpa_coroutine ***out)
{
	*out = all_items;
	return all_len;
}

uint32_t phpa_sched_live(void) { return live; }

bool phpa_sched_has_ready(void) { return ready_head != NULL; }

/* Once, at module startup, before any PHP thread runs: the pointers and the function are
 * shared by every thread, and the name is a permanent interned string only while PHP starts
 * (later it would belong to one thread's request and go with it). */
void phpa_sched_minit(void)
{
	fiber_start_fn = zend_hash_str_find_ptr(&zend_ce_fiber->function_table, "start", sizeof("start") - 1);
	fiber_resume_fn = zend_hash_str_find_ptr(&zend_ce_fiber->function_table, "resume", sizeof("resume") - 1);
	fiber_suspend_fn = zend_hash_str_find_ptr(&zend_ce_fiber->function_table, "suspend", sizeof("suspend") - 1);
	memset(&coroutine_body_fn, 0, sizeof coroutine_body_fn);
	coroutine_body_fn.type = ZEND_INTERNAL_FUNCTION;
	/* Not "{...}": Xdebug 3.2 reads a closure named so as user code (its op_array filename). */
	coroutine_body_fn.function_name = zend_string_init_interned("phpasync\\coroutine", sizeof("phpasync\\coroutine") - 1, 1);
	coroutine_body_fn.handler = coroutine_body;
	coroutine_body_fn.fn_flags = ZEND_ACC_PUBLIC;
}

void phpa_sched_init(void)
{
	current = NULL;
	idle = NULL;
	nidle = 0;
	live = 0;
	ready_head = ready_tail = NULL;
	all_len = 0;
	anchor_init();
}

static phpa_coroutine *coroutine_new(void)
{
	if (all_len == all_cap) {
		uint32_t cap = all_cap ? all_cap * 2 : 16;
		all_items = phpa_realloc_array(all_items, cap, sizeof *all_items, "a coroutine");
		all_cap = cap;
	}
	phpa_coroutine *co = phpa_calloc(sizeof *co, "a coroutine");
	zval closure;
	zend_create_fake_closure(&closure, (zend_function *)&coroutine_body_fn, NULL, NULL, NULL);
	object_init_ex(&co->fiber, zend_ce_fiber);
	zend_call_known_instance_method_with_1_params(zend_ce_fiber->constructor, Z_OBJ(co->fiber), NULL, &closure);
	zval_ptr_dtor(&closure);
	co->all_index = all_len;
	all_items[all_len++] = co;
	return co;
}

/* Takes a coroutine from the idle pool, or makes one. */
static phpa_coroutine *coroutine_take(void)
{
	phpa_coroutine *co = idle;
	if (!co) return coroutine_new();
	idle = co->next_idle;
	nidle--;
	return co;
}

/* A coroutine whose body went idle: back to the pool, or, past PHPA_IDLE_MAX, destroyed.
 * Destroying a fiber suspended at the top of its loop resumes it with a graceful exit; the
 * body returns and PHP frees its stacks. */
static void coroutine_retire(phpa_coroutine *co)
{
	if (nidle < PHPA_IDLE_MAX) {
		co->next_idle = idle;
		idle = co;
		nidle++;
		return;
	}
	co->state = PHPA_CO_DEAD;
	zval_ptr_dtor(&co->fiber);
	phpa_coroutine *last = all_items[--all_len];
	all_items[co->all_index] = last;
	last->all_index = co->all_index;
	free(co);
}

static void coroutine_body(INTERNAL_FUNCTION_PARAMETERS)
{
	(void)execute_data;
	phpa_coroutine *co = current; /* set by the scheduler before every resume */
	phpa_stack_guard_fresh_stack();
	for (;;) {
		co->ops->body(co);
		co->state = PHPA_CO_IDLE;
		if (EG(exception)) break; /* the fiber is being destroyed while the body waited */
		zval rv;
		ZVAL_UNDEF(&rv);
		zend_call_known_function(fiber_suspend_fn, NULL, zend_ce_fiber, &rv, 0, NULL, NULL);
		zval_ptr_dtor(&rv);
		/* The fiber is being destroyed (graceful exit thrown in) or the pool is closing. */
		if (EG(exception) || co->state != PHPA_CO_RUNNING) break;
		co = current; /* unchanged: the scheduler resumes a fiber only for its own slot */
	}
	RETVAL_NULL();
}

static void resume(phpa_coroutine *co);

phpa_coroutine *phpa_sched_current(void) { return current; }

phpa_coroutine *phpa_sched_running(void)
{
	phpa_coroutine *co = current;
	if (!co || co->state != PHPA_CO_RUNNING) return NULL;
	/* Inside a user Fiber started by the body, Fiber::suspend() would suspend that fiber,
	 * not ours: such code must not suspend the coroutine. */
	if (!EG(active_fiber) || &EG(active_fiber)->std != Z_OBJ(co->fiber)) return NULL;
	return co;
}

static void throw_pending_cancel(phpa_coroutine *co)
{
	zend_object *reason = co->cancel_pending;
	co->cancel_pending = NULL;
	/* The coroutine's reference moves to the exception slot. */
	zend_throw_exception_internal(reason);
}

static bool suspend_impl(bool requeue)
{
	phpa_coroutine *co = phpa_sched_running();
	if (!co) {
		if (current && current->state == PHPA_CO_RUNNING) {
			zend_throw_error(NULL, "phpasync: cannot suspend the coroutine from inside a Fiber it started");
		} else {
			zend_throw_error(NULL, "phpasync: cannot suspend outside a coroutine");
		}
		return false;
	}
	if (co->cancel_pending) {
		throw_pending_cancel(co);
		return false;
	}
	co->state = PHPA_CO_WAITING;
	if (requeue) phpa_sched_wake(co);
	zval rv;
	ZVAL_UNDEF(&rv);
	zend_call_known_function(fiber_suspend_fn, NULL, zend_ce_fiber, &rv, 0, NULL, NULL);
	zval_ptr_dtor(&rv);
	if (co->state == PHPA_CO_WAITING) co->state = PHPA_CO_RUNNING;
	if (EG(exception)) return false;
	if (co->unwind_pending) {
		/* Interrupted while it waited: unwind as exit() does (nothing can catch it). */
		co->unwind_pending = false;
		zend_throw_unwind_exit();
		return false;
	}
	if (co->cancel_pending) {
		throw_pending_cancel(co);
		return false;
	}
	return true;
}

bool phpa_sched_suspend(void) { return suspend_impl(false); }

bool phpa_sched_yield(void) { return suspend_impl(true); }

void phpa_sched_cancel(phpa_coroutine *co, zend_object *reason)
{
	if (!co || co->cancel_pending || co->state == PHPA_CO_IDLE || co->state == PHPA_CO_DEAD) return;
	GC_ADDREF(reason);
	co->cancel_pending = reason;
	phpa_sched_wake(co); /* a waiting coroutine sees it now; a running one at its next suspension */
}

void phpa_sched_interrupt(phpa_coroutine *co)
{
	co->unwind_pending = true;
	phpa_sched_wake(co);
}

phpa_coroutine *phpa_sched_spawn(const phpa_co_ops *ops, void *data, uint64_t scope_id, bool run_now)
{
	phpa_coroutine *co = coroutine_take();
	co->ops = ops;
	co->data = data;
	co->scope_id = scope_id;
	co->handle = NULL;
	co->cancel_pending = NULL;
	co->unwind_pending = false;
	live++;
	if (run_now) {
		co->state = PHPA_CO_RUNNING;
		resume(co);
	} else {
		co->state = PHPA_CO_WAITING;
		phpa_sched_wake(co);
	}
	return co;
}

void phpa_sched_wake(phpa_coroutine *co)
{
	if (!co || co->state != PHPA_CO_WAITING || co->queued) return;
	co->queued = true;
	co->next_ready = NULL;
	if (ready_tail) ready_tail->next_ready = co;
	else ready_head = co;
	ready_tail = co;
}

void phpa_sched_run_ready(void)
{
	phpa_coroutine *co = ready_head;
	ready_head = ready_tail = NULL;
	while (co) {
		phpa_coroutine *next = co->next_ready;
		co->queued = false;
		co->next_ready = NULL;
		if (co->state == PHPA_CO_WAITING) resume(co);
		co = next;
	}
}

/* The body returned (or the fiber died): its user releases what it held, the slot is free. */
static void finish(phpa_coroutine *co)
{
	const phpa_co_ops *ops = co->ops;
	if (ops && ops->finish) ops->finish(co);
	if (co->cancel_pending) OBJ_RELEASE(co->cancel_pending);
	co->cancel_pending = NULL;
	co->unwind_pending = false;
	co->ops = NULL;
	co->data = NULL;
	co->scope_id = 0;
	live--;
}

/* Switch into the coroutine until it suspends or its body returns. */
static void resume(phpa_coroutine *co)
{
	if (co->state == PHPA_CO_WAITING) co->state = PHPA_CO_RUNNING;
	phpa_coroutine *prev = current;
	current = co;
	if (co->ops->enter) co->ops->enter(co);
	zval rv;
	ZVAL_UNDEF(&rv);
	zend_execute_data *below = EG(current_execute_data);
	if (anchor_op_array && !below) EG(current_execute_data) = &anchor_frame;
	zend_call_known_instance_method_with_0_params(co->started ? fiber_resume_fn : fiber_start_fn, Z_OBJ(co->fiber), &rv);
	EG(current_execute_data) = below;
	co->started = true;
	zval_ptr_dtor(&rv);
	if (co->ops->leave) co->ops->leave(co);
	current = prev;
	if (EG(exception)) {
		/* Only a bug in a body lets an exception out of the fiber: it is dead now. */
		phpa_log(PHPA_LOG_ERROR, co->scope_id, "coroutine ended with an exception: %s", ZSTR_VAL(EG(exception)->ce->name));
		zend_clear_exception();
		co->state = PHPA_CO_DEAD;
	}
	if (co->state == PHPA_CO_IDLE || co->state == PHPA_CO_DEAD) {
		finish(co);
		if (co->state == PHPA_CO_IDLE) coroutine_retire(co);
	}
}

void phpa_sched_abandon(void)
{
	live = 0;
	current = NULL;
	ready_head = ready_tail = NULL;
}

/* After a fatal error PHP frees every object without its destructor, so a fiber suspended in
 * the middle of a body (ours, or a user Fiber) never returns and its C stack would stay mapped
 * for the life of the process. Its frames are abandoned: nothing in them runs again, and the
 * heap they point into is reset by the request shutdown that follows. */
static void free_suspended_fiber_stacks(void)
{
	zend_objects_store *store = &EG(objects_store);
	for (uint32_t i = 1; i < store->top; i++) {
		zend_object *obj = store->object_buckets[i];
		if (!IS_OBJ_VALID(obj) || obj->ce != zend_ce_fiber) continue;
		zend_fiber *fiber = (zend_fiber *)obj;
		if (fiber->context.status != ZEND_FIBER_STATUS_SUSPENDED) continue;
		zend_fiber_destroy_context(&fiber->context);
		fiber->context.status = ZEND_FIBER_STATUS_DEAD;
	}
}

void phpa_sched_destroy(bool after_fatal)
{
	anchor_destroy();
	if (after_fatal) free_suspended_fiber_stacks();
	for (uint32_t i = 0; i < all_len; i++) {
		phpa_coroutine *co = all_items[i];
		if (!after_fatal) {
			/* A clean stop leaves no live coroutine; should one be left, its user releases. */
			if (co->ops) finish(co);
			/* Destroying a suspended fiber resumes it with a graceful exit; the body returns. */
			co->state = PHPA_CO_DEAD;
			zval_ptr_dtor(&co->fiber);
		}
		/* After a fatal error PHP's request shutdown frees the objects; only ours go. */
		free(co);
	}
	all_len = 0;
	/* Thread-local: lost when the thread ends unless freed here (LeakSanitizer found it). */
	free(all_items);
	all_items = NULL;
	all_cap = 0;
	idle = NULL;
	nidle = 0;
	live = 0;
	ready_head = ready_tail = NULL;
	phpa_reactor_reset();
}
