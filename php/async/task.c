/*
 * Async\Coroutine and Async\Timeout objects, and the life of a spawned coroutine: it runs on a
 * pooled fiber (the runtime's scheduler) from spawn() until it completes, then keeps its
 * result or exception for await(). A request's own coroutine gets a handle lazily, when
 * current_coroutine()/get_coroutines() ask for it. Every completion goes through task_settle().
 */
#include "async/task.h"

#include <zend_exceptions.h>

#include "async/hooks.h"

static __thread phpa_task *live_head;
static __thread uint64_t next_task_id;

/* ---- wait lists ---------------------------------------------------------------------------- */

void phpa_waitlist_add(phpa_waitlist *l, phpa_waiter *w, phpa_coroutine *co)
{
	w->co = co;
	w->prev = NULL;
	w->next = l->head;
	if (l->head) l->head->prev = w;
	l->head = w;
}

void phpa_waitlist_remove(phpa_waitlist *l, phpa_waiter *w)
{
	if (w->prev) w->prev->next = w->next;
	else if (l->head == w) l->head = w->next;
	if (w->next) w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

void phpa_waitlist_wake_all(phpa_waitlist *l)
{
	for (phpa_waiter *w = l->head; w; w = w->next) phpa_sched_wake(w->co);
}

/* ---- this thread's live tasks ------------------------------------------------------------- */

phpa_task *phpa_task_live_head(void) { return live_head; }

static void live_add(phpa_task *t)
{
	t->live_prev = NULL;
	t->live_next = live_head;
	if (live_head) live_head->live_prev = t;
	live_head = t;
}

static void live_remove(phpa_task *t)
{
	if (t->live_prev) t->live_prev->live_next = t->live_next;
	else if (live_head == t) live_head = t->live_next;
	if (t->live_next) t->live_next->live_prev = t->live_prev;
	t->live_prev = t->live_next = NULL;
}

/* ---- objects ------------------------------------------------------------------------------- */

static zend_object_handlers *task_handlers, *timeout_handlers;

zend_object *phpa_task_create(zend_class_entry *ce)
{
	phpa_task *t = zend_object_alloc(sizeof(phpa_task), ce);
	memset(t, 0, XtOffsetOf(phpa_task, std));
	ZVAL_UNDEF(&t->callable);
	ZVAL_NULL(&t->result);
	ZVAL_UNDEF(&t->finally);
	zend_object_std_init(&t->std, ce);
	t->std.handlers = task_handlers;
	return &t->std;
}

static void task_free(zend_object *obj)
{
	phpa_task *t = phpa_task_from(obj);
	if (!t->completed && t->id) live_remove(t);
	zval_ptr_dtor(&t->callable);
	for (uint32_t i = 0; i < t->argc; i++) zval_ptr_dtor(&t->args[i]);
	if (t->args) efree(t->args);
	if (t->named) zend_array_release(t->named);
	zval_ptr_dtor(&t->result);
	if (t->exception) OBJ_RELEASE(t->exception);
	zval_ptr_dtor(&t->finally);
	zend_object_std_dtor(obj);
}

static HashTable *task_get_gc(zend_object *obj, zval **table, int *n)
{
	phpa_task *t = phpa_task_from(obj);
	zend_get_gc_buffer *buf = zend_get_gc_buffer_create();
	zend_get_gc_buffer_add_zval(buf, &t->callable);
	for (uint32_t i = 0; i < t->argc; i++) zend_get_gc_buffer_add_zval(buf, &t->args[i]);
	zend_get_gc_buffer_add_zval(buf, &t->result);
	if (t->exception) zend_get_gc_buffer_add_obj(buf, t->exception);
	zend_get_gc_buffer_add_zval(buf, &t->finally);
	zend_get_gc_buffer_use(buf, table, n);
	return t->named;
}

static zend_function *no_constructor(zend_object *obj)
{
	zend_throw_error(NULL, "%s cannot be created with new: use %s", ZSTR_VAL(obj->ce->name),
		obj->ce == phpa_ce_coroutine ? "Async\\spawn()" : "Async\\timeout()");
	return NULL;
}

void phpa_task_init_handlers(zend_object_handlers *h)
{
	memcpy(h, zend_get_std_object_handlers(), sizeof *h);
	h->offset = XtOffsetOf(phpa_task, std);
	h->free_obj = task_free;
	h->get_gc = task_get_gc;
	h->clone_obj = NULL;
	h->get_constructor = no_constructor;
	task_handlers = h;
}

zend_object *phpa_timeout_create(zend_class_entry *ce)
{
	phpa_timeout *t = zend_object_alloc(sizeof(phpa_timeout), ce);
	memset(t, 0, XtOffsetOf(phpa_timeout, std));
	phpa_timer_init(&t->timer, NULL, NULL);
	zend_object_std_init(&t->std, ce);
	t->std.handlers = timeout_handlers;
	return &t->std;
}

static void timeout_free(zend_object *obj)
{
	phpa_timeout *t = phpa_timeout_from(obj);
	if (phpa_on_php_thread()) phpa_timer_stop(&t->timer);
	zend_object_std_dtor(obj);
}

void phpa_timeout_init_handlers(zend_object_handlers *h)
{
	memcpy(h, zend_get_std_object_handlers(), sizeof *h);
	h->offset = XtOffsetOf(phpa_timeout, std);
	h->free_obj = timeout_free;
	h->clone_obj = NULL;
	timeout_handlers = h;
}

/* ---- helpers ------------------------------------------------------------------------------- */

zend_object *phpa_new_throwable(zend_class_entry *ce, const char *msg)
{
	zval ex;
	object_init_ex(&ex, ce);
	zend_class_entry *base = instanceof_function(ce, zend_ce_exception) ? zend_ce_exception : zend_ce_error;
	zend_update_property_string(base, Z_OBJ(ex), "message", sizeof("message") - 1, msg);
	return Z_OBJ(ex);
}

phpa_coroutine *phpa_require_coroutine(const char *fn)
{
	phpa_coroutine *co = phpa_sched_running();
	if (co) return co;
	if (!phpa_on_php_thread()) {
		zend_throw_error(NULL, "%s() is only available in a phpasync async worker", fn);
	} else if (phpa_sched_current()) {
		zend_throw_error(NULL, "%s() cannot suspend from inside a Fiber started by the coroutine", fn);
	} else {
		zend_throw_error(NULL, "%s() can only be called inside a coroutine (a request handler or a spawned coroutine)", fn);
	}
	return NULL;
}

zend_object *phpa_task_for_coroutine(phpa_coroutine *co)
{
	if (co->handle) return co->handle;
	zend_object *obj = phpa_task_create(phpa_ce_coroutine);
	phpa_task *t = phpa_task_from(obj);
	t->id = ++next_task_id;
	t->co = co;
	t->is_request = true;
	t->started = true;
	t->scope_id = co->scope_id;
	live_add(t);
	co->handle = obj; /* the slot's reference: dropped by phpa_async_release_handle */
	return obj;
}

/* ---- completion ---------------------------------------------------------------------------- */

static void run_finally(phpa_task *t)
{
	if (Z_TYPE(t->finally) != IS_ARRAY) return;
	zval handlers;
	ZVAL_COPY_VALUE(&handlers, &t->finally);
	ZVAL_UNDEF(&t->finally);
	zval *cb;
	ZEND_HASH_FOREACH_VAL(Z_ARRVAL(handlers), cb) {
		zval rv, arg;
		ZVAL_OBJ(&arg, &t->std);
		if (call_user_function(NULL, NULL, cb, &rv, 1, &arg) == SUCCESS) zval_ptr_dtor(&rv);
		if (EG(exception)) {
			zend_object *ex = EG(exception);
			if (zend_is_unwind_exit(ex) || zend_is_graceful_exit(ex)) break;
			phpa_log(PHPA_LOG_ERROR, t->scope_id, "Async\\Coroutine #%" PRIu64 ": a finally() handler threw %s",
				t->id, ZSTR_VAL(ex->ce->name));
			zend_clear_exception();
		}
	} ZEND_HASH_FOREACH_END();
	zval_ptr_dtor(&handlers);
}

enum {
	SETTLE_CANCELLED = 1, /* it was cancelled (or its fiber went away before it completed) */
	SETTLE_QUIET = 2,     /* its fiber is being destroyed: no log line, no finally() handlers */
};

/* The one place a task completes: it leaves the live list, its waiters wake, and (unless
 * quiet) an exception nobody awaits yet is logged and its finally() handlers run. */
static void task_settle(phpa_task *t, int how)
{
	t->completed = true;
	if (how & SETTLE_CANCELLED) t->cancelled = true;
	live_remove(t);
	t->co = NULL;
	if (!(how & SETTLE_QUIET) && t->exception && !t->waiters.head &&
		!instanceof_function(t->exception->ce, phpa_ce_async_cancellation)) {
		zval rv;
		zval *msg = zend_read_property_ex(zend_get_exception_base(t->exception), t->exception, ZSTR_KNOWN(ZEND_STR_MESSAGE), 1, &rv);
		phpa_log(PHPA_LOG_WARN, t->scope_id, "Async\\Coroutine #%" PRIu64 " ended with %s: %s (nobody awaits it yet)",
			t->id, ZSTR_VAL(t->exception->ce->name), Z_TYPE_P(msg) == IS_STRING ? Z_STRVAL_P(msg) : "");
	}
	phpa_waitlist_wake_all(&t->waiters);
	if (!(how & SETTLE_QUIET)) run_finally(t);
}

/* ---- a spawned coroutine ------------------------------------------------------------------- */

static void task_body(phpa_coroutine *co)
{
	zend_object *obj = co->handle;
	GC_ADDREF(obj);
	phpa_task *t = phpa_task_from(obj);
	if (co->cancel_pending) {
		/* Cancelled before it started: it never runs (TrueAsync's behaviour). */
		t->exception = co->cancel_pending;
		co->cancel_pending = NULL;
		task_settle(t, SETTLE_CANCELLED);
		OBJ_RELEASE(obj);
		return;
	}
	t->started = true;
	zval rv;
	ZVAL_UNDEF(&rv);
	zend_fcall_info fci = {0};
	fci.size = sizeof fci;
	ZVAL_COPY_VALUE(&fci.function_name, &t->callable);
	fci.retval = &rv;
	fci.params = t->args;
	fci.param_count = t->argc;
	fci.named_params = t->named;
	zend_call_function(&fci, &t->fcc);
	int how = 0;
	if (EG(exception)) {
		zend_object *ex = EG(exception);
		if (zend_is_graceful_exit(ex)) {
			/* The fiber is being destroyed (thread shutdown): the exception must go on. */
			how = SETTLE_CANCELLED | SETTLE_QUIET;
		} else if (zend_is_unwind_exit(ex)) {
			/* exit() inside a spawned coroutine ends that coroutine only. */
			zend_clear_exception();
			EG(exit_status) = 0;
		} else {
			GC_ADDREF(ex);
			zend_clear_exception();
			t->exception = ex;
			if (t->cancel_requested && instanceof_function(ex->ce, phpa_ce_async_cancellation)) how = SETTLE_CANCELLED;
		}
		zval_ptr_dtor(&rv);
	} else {
		zval_ptr_dtor(&t->result);
		ZVAL_COPY_VALUE(&t->result, &rv);
	}
	task_settle(t, how);
	OBJ_RELEASE(obj);
}

static const phpa_co_ops task_ops = {
	.what = "coroutine spawned by this request",
	.body = task_body,
	.finish = phpa_async_release_handle,
};

zend_object *phpa_task_spawn(zend_fcall_info *fci, zend_fcall_info_cache *fcc, zval *args, uint32_t argc, HashTable *named)
{
	zend_object *obj = phpa_task_create(phpa_ce_coroutine);
	phpa_task *t = phpa_task_from(obj);
	t->id = ++next_task_id;
	ZVAL_COPY(&t->callable, &fci->function_name);
	t->fcc = *fcc;
	if (argc) {
		t->args = safe_emalloc(argc, sizeof(zval), 0);
		for (uint32_t i = 0; i < argc; i++) ZVAL_COPY(&t->args[i], &args[i]);
		t->argc = argc;
	}
	if (named && zend_hash_num_elements(named)) t->named = zend_array_dup(named);
	/* Its scope is its spawner's: log lines carry that request's id, and it is cancelled with it. */
	phpa_coroutine *parent = phpa_sched_current();
	t->scope_id = parent ? parent->scope_id : 0;
	phpa_coroutine *co = phpa_sched_spawn(&task_ops, NULL, t->scope_id, false);
	GC_ADDREF(obj);
	co->handle = obj; /* the slot's reference: dropped by its finish hook */
	t->co = co;
	live_add(t);
	return obj;
}

void phpa_async_release_handle(phpa_coroutine *co)
{
	if (!co->handle) return;
	zend_object *obj = co->handle;
	co->handle = NULL;
	phpa_task *t = phpa_task_from(obj);
	/* The slot goes away before its handle completed (destroyed fiber): settle it. */
	if (!t->completed) task_settle(t, SETTLE_CANCELLED | SETTLE_QUIET);
	OBJ_RELEASE(obj);
}

void phpa_async_coroutine_done(phpa_coroutine *co, bool abnormal)
{
	if (abnormal && co->scope_id) phpa_async_cancel_scope(co->scope_id);
	if (co->handle && !EG(exception)) {
		phpa_task *t = phpa_task_from(co->handle);
		if (!t->completed) task_settle(t, 0);
	}
}

/* ---- cancellation -------------------------------------------------------------------------- */

void phpa_task_cancel(phpa_task *t, zend_object *reason)
{
	if (t->completed || t->cancel_requested) return;
	t->cancel_requested = true;
	if (t->co) phpa_sched_cancel(t->co, reason);
}

void phpa_async_cancel_scope(uint64_t scope_id)
{
	if (!scope_id || !phpa_async_enabled()) return;
	for (phpa_task *t = live_head; t; t = t->live_next) {
		if (t->is_request || t->scope_id != scope_id || t->completed || t->cancel_requested) continue;
		zend_object *reason = phpa_new_throwable(phpa_ce_async_cancellation,
			"The request this coroutine belongs to ended abnormally");
		phpa_task_cancel(t, reason);
		OBJ_RELEASE(reason);
	}
}

uint32_t phpa_async_cancel_all(void)
{
	uint32_t n = 0;
	for (phpa_task *t = live_head; t; t = t->live_next) {
		if (t->is_request || t->completed || t->cancel_requested) continue;
		zend_object *reason = phpa_new_throwable(phpa_ce_async_cancellation, "The PHP thread is stopping");
		phpa_task_cancel(t, reason);
		OBJ_RELEASE(reason);
		n++;
	}
	return n;
}

/* ---- per thread ---------------------------------------------------------------------------- */

void phpa_async_thread_reset(bool after_fatal)
{
	/* After a fatal error PHP frees the objects at request shutdown; forget them here. */
	(void)after_fatal;
	for (phpa_task *t = live_head; t;) {
		phpa_task *next = t->live_next;
		t->live_prev = t->live_next = NULL;
		t->completed = true;
		t->co = NULL;
		t->waiters.head = NULL;
		t = next;
	}
	live_head = NULL;
}

void phpa_async_thread_init(void)
{
	phpa_async_thread_reset(false);
	phpa_hooks_thread_init();
}
