/*
 * The Async\ API (a subset of TrueAsync's, see async.stub.php) on phpasync's scheduler, for
 * stock PHP where the true_async extension is not loaded.
 *
 * An Async\Coroutine object (phpa_task) is the user-visible handle; it runs on a pooled
 * fiber slot (phpa_coroutine, scheduler.c) from spawn() until it completes, then keeps its
 * result or exception for await(). A request's own coroutine gets a handle lazily, when
 * current_coroutine()/get_coroutines() ask for it.
 *
 * Waiting: a coroutine that awaits links a waiter (on its fiber stack) into the awaited
 * object's list and suspends; completion wakes every waiter, which re-checks and unlinks.
 */
#include "async_backend.h"

#include <zend_closures.h>
#include <zend_exceptions.h>
#include <zend_interfaces.h>

#include "async_arginfo.h"

zend_class_entry *phpa_ce_awaitable, *phpa_ce_completable, *phpa_ce_coroutine, *phpa_ce_timeout;
zend_class_entry *phpa_ce_async_cancellation, *phpa_ce_operation_canceled, *phpa_ce_async_exception,
	*phpa_ce_timeout_exception;

static zend_object_handlers task_handlers, timeout_handlers;
static bool async_enabled;

bool phpa_async_enabled(void) { return async_enabled; }

/* ---- wait lists ---------------------------------------------------------------------------- */

typedef struct waiter {
	struct waiter *prev, *next;
	phpa_coroutine *co;
} waiter;

typedef struct {
	waiter *head;
} waitlist;

static void waitlist_add(waitlist *l, waiter *w, phpa_coroutine *co)
{
	w->co = co;
	w->prev = NULL;
	w->next = l->head;
	if (l->head) l->head->prev = w;
	l->head = w;
}

static void waitlist_remove(waitlist *l, waiter *w)
{
	if (w->prev) w->prev->next = w->next;
	else if (l->head == w) l->head = w->next;
	if (w->next) w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

static void waitlist_wake_all(waitlist *l)
{
	for (waiter *w = l->head; w; w = w->next) phpa_sched_wake(w->co);
}

/* ---- objects ------------------------------------------------------------------------------- */

typedef struct phpa_task {
	waitlist waiters;
	uint64_t id;
	phpa_coroutine *co;    /* fiber slot from spawn() to completion, else NULL */
	uint64_t owner_job;    /* request it belongs to (0: none) */
	zval callable;
	zend_fcall_info_cache fcc;
	zval *args;
	uint32_t argc;
	HashTable *named;
	zval result;
	zend_object *exception;
	zval finally;          /* array of Closures, or UNDEF */
	bool is_request, started, completed, cancelled, cancel_requested;
	struct phpa_task *live_prev, *live_next; /* this thread's not-completed handles */
	zend_object std;
} phpa_task;

typedef struct {
	waitlist waiters;
	phpa_timer timer;
	zend_long ms;
	bool fired, cancelled;
	zend_object std;
} phpa_timeout;

static inline phpa_task *task_from(zend_object *o) { return (phpa_task *)((char *)o - XtOffsetOf(phpa_task, std)); }
static inline phpa_timeout *timeout_from(zend_object *o) { return (phpa_timeout *)((char *)o - XtOffsetOf(phpa_timeout, std)); }

static __thread phpa_task *live_head;
static __thread uint64_t next_task_id;

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

static zend_object *task_create(zend_class_entry *ce)
{
	phpa_task *t = zend_object_alloc(sizeof(phpa_task), ce);
	memset(t, 0, XtOffsetOf(phpa_task, std));
	ZVAL_UNDEF(&t->callable);
	ZVAL_NULL(&t->result);
	ZVAL_UNDEF(&t->finally);
	zend_object_std_init(&t->std, ce);
	t->std.handlers = &task_handlers;
	return &t->std;
}

static void task_free(zend_object *obj)
{
	phpa_task *t = task_from(obj);
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
	phpa_task *t = task_from(obj);
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

static zend_object *timeout_create(zend_class_entry *ce)
{
	phpa_timeout *t = zend_object_alloc(sizeof(phpa_timeout), ce);
	memset(t, 0, XtOffsetOf(phpa_timeout, std));
	phpa_timer_init(&t->timer, NULL, NULL);
	zend_object_std_init(&t->std, ce);
	t->std.handlers = &timeout_handlers;
	return &t->std;
}

static void timeout_free(zend_object *obj)
{
	phpa_timeout *t = timeout_from(obj);
	if (phpa_ts) phpa_timer_stop(&t->timer);
	zend_object_std_dtor(obj);
}

static void timeout_fired(phpa_timer *timer)
{
	phpa_timeout *t = (phpa_timeout *)timer->data;
	t->fired = true;
	waitlist_wake_all(&t->waiters);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static zend_object *new_throwable(zend_class_entry *ce, const char *msg)
{
	zval ex;
	object_init_ex(&ex, ce);
	zend_class_entry *base = instanceof_function(ce, zend_ce_exception) ? zend_ce_exception : zend_ce_error;
	zend_update_property_string(base, Z_OBJ(ex), "message", sizeof("message") - 1, msg);
	return Z_OBJ(ex);
}

/* The coroutine a function may suspend, or NULL with an Error thrown naming the function. */
static phpa_coroutine *require_coroutine(const char *fn)
{
	phpa_coroutine *co = phpa_sched_running();
	if (co) return co;
	if (!phpa_ts) {
		zend_throw_error(NULL, "%s() is only available in a phpasync async worker", fn);
	} else if (phpa_ts->current) {
		zend_throw_error(NULL, "%s() cannot suspend from inside a Fiber started by the coroutine", fn);
	} else {
		zend_throw_error(NULL, "%s() can only be called inside a coroutine (a request handler or a spawned coroutine)", fn);
	}
	return NULL;
}

static zend_object *task_for_coroutine(phpa_coroutine *co)
{
	if (co->task) return co->task;
	zend_object *obj = task_create(phpa_ce_coroutine);
	phpa_task *t = task_from(obj);
	t->id = ++next_task_id;
	t->co = co;
	t->is_request = true;
	t->started = true;
	t->owner_job = co->job_id;
	live_add(t);
	co->task = obj; /* the slot's reference: dropped by phpa_async_release_task */
	return obj;
}

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
			phpa_log(PHPA_LOG_ERROR, t->owner_job, "Async\\Coroutine #%" PRIu64 ": a finally() handler threw %s",
				t->id, ZSTR_VAL(ex->ce->name));
			zend_clear_exception();
		}
	} ZEND_HASH_FOREACH_END();
	zval_ptr_dtor(&handlers);
}

static void complete_task(phpa_task *t)
{
	t->completed = true;
	live_remove(t);
	t->co = NULL;
	if (t->exception && !t->waiters.head && !instanceof_function(t->exception->ce, phpa_ce_async_cancellation)) {
		zval rv;
		zval *msg = zend_read_property_ex(zend_get_exception_base(t->exception), t->exception, ZSTR_KNOWN(ZEND_STR_MESSAGE), 1, &rv);
		phpa_log(PHPA_LOG_WARN, t->owner_job, "Async\\Coroutine #%" PRIu64 " ended with %s: %s (nobody awaits it yet)",
			t->id, ZSTR_VAL(t->exception->ce->name), Z_TYPE_P(msg) == IS_STRING ? Z_STRVAL_P(msg) : "");
	}
	waitlist_wake_all(&t->waiters);
	run_finally(t);
}

/* ---- scheduler hooks ----------------------------------------------------------------------- */

void phpa_async_run_task(phpa_coroutine *co)
{
	zend_object *obj = co->task;
	GC_ADDREF(obj);
	phpa_task *t = task_from(obj);
	if (co->cancel_pending) {
		/* Cancelled before it started: it never runs (TrueAsync's behaviour). */
		t->exception = co->cancel_pending;
		co->cancel_pending = NULL;
		t->cancelled = true;
		complete_task(t);
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
	if (EG(exception)) {
		zend_object *ex = EG(exception);
		if (zend_is_graceful_exit(ex)) {
			/* The fiber is being destroyed (thread shutdown): the exception must go on. */
			t->cancelled = true;
			t->completed = true;
			live_remove(t);
			t->co = NULL;
			waitlist_wake_all(&t->waiters);
			zval_ptr_dtor(&rv);
			OBJ_RELEASE(obj);
			return;
		}
		if (zend_is_unwind_exit(ex)) {
			/* exit() inside a spawned coroutine ends that coroutine only. */
			zend_clear_exception();
			EG(exit_status) = 0;
		} else {
			GC_ADDREF(ex);
			zend_clear_exception();
			t->exception = ex;
			if (t->cancel_requested && instanceof_function(ex->ce, phpa_ce_async_cancellation)) t->cancelled = true;
		}
		zval_ptr_dtor(&rv);
	} else {
		zval_ptr_dtor(&t->result);
		ZVAL_COPY_VALUE(&t->result, &rv);
	}
	complete_task(t);
	OBJ_RELEASE(obj);
}

void phpa_async_release_task(phpa_coroutine *co)
{
	if (!co->task) return;
	zend_object *obj = co->task;
	co->task = NULL;
	phpa_task *t = task_from(obj);
	if (!t->completed) {
		/* The slot goes away before its handle completed (destroyed fiber): settle it. */
		t->completed = true;
		t->cancelled = true;
		live_remove(t);
		t->co = NULL;
		waitlist_wake_all(&t->waiters);
	}
	OBJ_RELEASE(obj);
}

void phpa_async_request_done(phpa_coroutine *co, bool abnormal)
{
	if (abnormal && co->job_id) phpa_async_cancel_request_children(co->job_id);
	if (co->task && !EG(exception)) {
		phpa_task *t = task_from(co->task);
		if (!t->completed) complete_task(t);
	}
}

static void cancel_task(phpa_task *t, zend_object *reason)
{
	if (t->completed || t->cancel_requested) return;
	t->cancel_requested = true;
	if (t->co) phpa_sched_cancel(t->co, reason);
}

void phpa_async_cancel_request_children(uint64_t job_id)
{
	if (!job_id || !async_enabled) return;
	for (phpa_task *t = live_head; t; t = t->live_next) {
		if (t->is_request || t->owner_job != job_id || t->completed || t->cancel_requested) continue;
		zend_object *reason = new_throwable(phpa_ce_async_cancellation,
			"The request this coroutine belongs to ended abnormally");
		cancel_task(t, reason);
		OBJ_RELEASE(reason);
	}
}

uint32_t phpa_async_cancel_all(void)
{
	uint32_t n = 0;
	for (phpa_task *t = live_head; t; t = t->live_next) {
		if (t->is_request || t->completed || t->cancel_requested) continue;
		zend_object *reason = new_throwable(phpa_ce_async_cancellation, "The PHP thread is stopping");
		cancel_task(t, reason);
		OBJ_RELEASE(reason);
		n++;
	}
	return n;
}

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

/* ---- awaiting ------------------------------------------------------------------------------ */

/* An awaitable's list and completion, for a Coroutine or a Timeout. */
static waitlist *awaitable_list(zend_object *o)
{
	if (o->ce == phpa_ce_coroutine) return &task_from(o)->waiters;
	return &timeout_from(o)->waiters;
}

static bool awaitable_done(zend_object *o)
{
	if (o->ce == phpa_ce_coroutine) return task_from(o)->completed;
	phpa_timeout *t = timeout_from(o);
	return t->fired || t->cancelled;
}

/* A cancellation token has triggered (a cancelled Timeout never triggers). */
static bool token_triggered(zend_object *o)
{
	if (!o) return false;
	if (o->ce == phpa_ce_coroutine) return task_from(o)->completed;
	return timeout_from(o)->fired;
}

static void throw_token(zend_object *token, const char *fn)
{
	if (token->ce == phpa_ce_timeout) {
		zend_throw_exception_ex(phpa_ce_timeout_exception, 0, "%s(): timeout of " ZEND_LONG_FMT " ms reached", fn,
			timeout_from(token)->ms);
		return;
	}
	zend_object *ex = new_throwable(phpa_ce_operation_canceled, "The await was cancelled: its cancellation completed");
	phpa_task *t = task_from(token);
	if (t->exception) {
		zval prev;
		ZVAL_OBJ_COPY(&prev, t->exception);
		zend_update_property_ex(zend_ce_error, ex, ZSTR_KNOWN(ZEND_STR_PREVIOUS), &prev);
		zval_ptr_dtor(&prev);
	}
	zval z;
	ZVAL_OBJ(&z, ex);
	zend_throw_exception_object(&z);
}

/* Suspend once, linked into the lists of objs[0..n) and the token. */
static bool wait_once(phpa_coroutine *co, zend_object **objs, uint32_t n, zend_object *token)
{
	waiter stack_w[9];
	uint32_t total = n + (token ? 1 : 0);
	waiter *ws = total <= 9 ? stack_w : emalloc(sizeof(waiter) * total);
	for (uint32_t i = 0; i < n; i++) waitlist_add(awaitable_list(objs[i]), &ws[i], co);
	if (token) waitlist_add(awaitable_list(token), &ws[n], co);
	bool ok = phpa_sched_suspend();
	for (uint32_t i = 0; i < n; i++) waitlist_remove(awaitable_list(objs[i]), &ws[i]);
	if (token) waitlist_remove(awaitable_list(token), &ws[n]);
	if (ws != stack_w) efree(ws);
	return ok;
}

/* Return the outcome of a completed awaitable: its result, or throw its exception. */
static void settle(zend_object *o, zval *return_value)
{
	if (o->ce == phpa_ce_coroutine) {
		phpa_task *t = task_from(o);
		if (t->exception) {
			GC_ADDREF(t->exception);
			zend_throw_exception_internal(t->exception);
			return;
		}
		RETURN_COPY(&t->result);
	}
	phpa_timeout *t = timeout_from(o);
	if (t->cancelled && !t->fired) {
		zval z;
		ZVAL_OBJ(&z, new_throwable(phpa_ce_async_cancellation, "The timeout was cancelled"));
		zend_throw_exception_object(&z);
		return;
	}
	RETURN_NULL();
}

static bool is_self(zend_object *o, phpa_coroutine *co)
{
	return o->ce == phpa_ce_coroutine && co && task_from(o)->co == co;
}

PHP_FUNCTION(Async_await)
{
	zend_object *awaitable, *token = NULL;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_OBJ_OF_CLASS(awaitable, phpa_ce_completable)
		Z_PARAM_OPTIONAL
		Z_PARAM_OBJ_OF_CLASS_OR_NULL(token, phpa_ce_completable)
	ZEND_PARSE_PARAMETERS_END();
	if (awaitable->ce != phpa_ce_coroutine && awaitable->ce != phpa_ce_timeout) {
		zend_argument_type_error(1, "must be an Async\\Coroutine or an Async\\Timeout, %s given", ZSTR_VAL(awaitable->ce->name));
		RETURN_THROWS();
	}
	if (token && token->ce != phpa_ce_coroutine && token->ce != phpa_ce_timeout) {
		zend_argument_type_error(2, "must be an Async\\Coroutine or an Async\\Timeout, %s given", ZSTR_VAL(token->ce->name));
		RETURN_THROWS();
	}
	if (awaitable_done(awaitable)) {
		settle(awaitable, return_value);
		return;
	}
	phpa_coroutine *co = require_coroutine("Async\\await");
	if (!co) RETURN_THROWS();
	if (is_self(awaitable, co)) {
		zend_throw_error(NULL, "Async\\await(): a coroutine cannot await itself");
		RETURN_THROWS();
	}
	GC_ADDREF(awaitable);
	if (token) GC_ADDREF(token);
	for (;;) {
		if (awaitable_done(awaitable)) {
			settle(awaitable, return_value);
			break;
		}
		if (token_triggered(token)) {
			throw_token(token, "Async\\await");
			break;
		}
		if (!wait_once(co, &awaitable, 1, token)) break;
	}
	OBJ_RELEASE(awaitable);
	if (token) OBJ_RELEASE(token);
}

/* Collect an iterable of Completables into `out` (key => object, references held). */
static bool collect_triggers(zval *iterable, HashTable *out, const char *fn)
{
	zval *v;
	zend_ulong idx;
	zend_string *key;
	HashTable *src = NULL;
	zval arr;
	ZVAL_UNDEF(&arr);
	if (Z_TYPE_P(iterable) == IS_ARRAY) {
		src = Z_ARRVAL_P(iterable);
	} else {
		/* Traversable: materialise it with iterator_to_array semantics. */
		zval fname, rv, args[2];
		ZVAL_STRING(&fname, "iterator_to_array");
		ZVAL_COPY(&args[0], iterable);
		ZVAL_TRUE(&args[1]);
		if (call_user_function(NULL, NULL, &fname, &rv, 2, args) != SUCCESS || EG(exception)) {
			zval_ptr_dtor(&fname);
			zval_ptr_dtor(&args[0]);
			return false;
		}
		zval_ptr_dtor(&fname);
		zval_ptr_dtor(&args[0]);
		ZVAL_COPY_VALUE(&arr, &rv);
		src = Z_ARRVAL(arr);
	}
	ZEND_HASH_FOREACH_KEY_VAL(src, idx, key, v) {
		ZVAL_DEREF(v);
		if (Z_TYPE_P(v) != IS_OBJECT || (Z_OBJCE_P(v) != phpa_ce_coroutine && Z_OBJCE_P(v) != phpa_ce_timeout)) {
			zend_type_error("%s(): Argument #1 ($triggers) must contain only Async\\Coroutine or Async\\Timeout objects, %s given",
				fn, zend_zval_type_name(v));
			zval_ptr_dtor(&arr);
			return false;
		}
		Z_ADDREF_P(v);
		if (key) zend_hash_update(out, key, v);
		else zend_hash_index_update(out, idx, v);
	} ZEND_HASH_FOREACH_END();
	zval_ptr_dtor(&arr);
	return true;
}

enum wait_mode { WAIT_ALL, WAIT_ALL_OR_FAIL, WAIT_ANY_OR_FAIL, WAIT_FIRST_SUCCESS };

/* Shared by await_all, await_all_or_fail, await_any_or_fail and await_first_success. */
static void await_many(INTERNAL_FUNCTION_PARAMETERS, enum wait_mode mode, const char *fn)
{
	zval *iterable;
	zend_object *token = NULL;
	bool preserve = true, fill_null = false;
	ZEND_PARSE_PARAMETERS_START(1, 4)
		Z_PARAM_ITERABLE(iterable)
		Z_PARAM_OPTIONAL
		Z_PARAM_OBJ_OF_CLASS_OR_NULL(token, phpa_ce_awaitable)
		Z_PARAM_BOOL(preserve)
		Z_PARAM_BOOL(fill_null)
	ZEND_PARSE_PARAMETERS_END();
	if (token && token->ce != phpa_ce_coroutine && token->ce != phpa_ce_timeout) {
		zend_argument_type_error(2, "must be an Async\\Coroutine or an Async\\Timeout, %s given", ZSTR_VAL(token->ce->name));
		RETURN_THROWS();
	}
	HashTable triggers;
	zend_hash_init(&triggers, 8, NULL, ZVAL_PTR_DTOR, 0);
	if (!collect_triggers(iterable, &triggers, fn)) {
		zend_hash_destroy(&triggers);
		RETURN_THROWS();
	}
	phpa_coroutine *co = phpa_sched_running();
	uint32_t n = zend_hash_num_elements(&triggers);
	zend_object **objs = n ? emalloc(sizeof(zend_object *) * n) : NULL;
	zval done_order; /* keys in the order completions were seen */
	array_init(&done_order);
	HashTable seen;
	zend_hash_init(&seen, n, NULL, NULL, 0);
	if (token) GC_ADDREF(token);

	for (;;) {
		/* Record newly completed ones, in completion order. */
		uint32_t pending = 0;
		zend_ulong idx;
		zend_string *key;
		zval *v;
		bool finished = false;
		ZEND_HASH_FOREACH_KEY_VAL(&triggers, idx, key, v) {
			zend_object *o = Z_OBJ_P(v);
			bool is_seen = key ? zend_hash_exists(&seen, key) : zend_hash_index_exists(&seen, idx);
			if (!awaitable_done(o)) {
				objs[pending++] = o;
				continue;
			}
			if (is_seen) continue;
			if (key) zend_hash_add_empty_element(&seen, key);
			else zend_hash_index_add_empty_element(&seen, idx);
			zval k;
			if (key) ZVAL_STR_COPY(&k, key);
			else ZVAL_LONG(&k, idx);
			zend_hash_next_index_insert(Z_ARRVAL(done_order), &k);
			bool failed = o->ce == phpa_ce_coroutine ? task_from(o)->exception != NULL
				: (timeout_from(o)->cancelled && !timeout_from(o)->fired);
			if (mode == WAIT_ANY_OR_FAIL || (mode == WAIT_ALL_OR_FAIL && failed) || (mode == WAIT_FIRST_SUCCESS && !failed)) {
				if (mode == WAIT_FIRST_SUCCESS) break; /* built below from done_order */
				settle(o, return_value);
				finished = true;
				break;
			}
		} ZEND_HASH_FOREACH_END();
		if (finished) goto out;
		if (mode == WAIT_FIRST_SUCCESS) {
			/* success seen, or everything failed */
			zval *last = zend_hash_index_find(Z_ARRVAL(done_order), zend_hash_num_elements(Z_ARRVAL(done_order)) - 1);
			bool success = false;
			if (last) {
				zval *o = Z_TYPE_P(last) == IS_STRING ? zend_hash_find(&triggers, Z_STR_P(last)) : zend_hash_index_find(&triggers, Z_LVAL_P(last));
				success = Z_OBJCE_P(o) == phpa_ce_coroutine ? task_from(Z_OBJ_P(o))->exception == NULL : true;
			}
			if (success || pending == 0) {
				zval result, errors;
				ZVAL_NULL(&result);
				array_init(&errors);
				zval *k;
				ZEND_HASH_FOREACH_VAL(Z_ARRVAL(done_order), k) {
					zval *o = Z_TYPE_P(k) == IS_STRING ? zend_hash_find(&triggers, Z_STR_P(k)) : zend_hash_index_find(&triggers, Z_LVAL_P(k));
					if (Z_OBJCE_P(o) == phpa_ce_coroutine && task_from(Z_OBJ_P(o))->exception) {
						zval e;
						ZVAL_OBJ_COPY(&e, task_from(Z_OBJ_P(o))->exception);
						if (Z_TYPE_P(k) == IS_STRING) zend_hash_update(Z_ARRVAL(errors), Z_STR_P(k), &e);
						else zend_hash_index_update(Z_ARRVAL(errors), Z_LVAL_P(k), &e);
					} else if (Z_OBJCE_P(o) == phpa_ce_coroutine) {
						ZVAL_COPY(&result, &task_from(Z_OBJ_P(o))->result);
					}
				} ZEND_HASH_FOREACH_END();
				array_init(return_value);
				zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &result);
				zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &errors);
				goto out;
			}
		}
		if (pending == 0) {
			if (mode == WAIT_ANY_OR_FAIL) {
				RETVAL_NULL(); /* empty input */
				goto out;
			}
			/* WAIT_ALL / WAIT_ALL_OR_FAIL: everything completed. */
			zval results, errors;
			array_init(&results);
			array_init(&errors);
			HashTable *order = preserve ? &triggers : Z_ARRVAL(done_order);
			zval *entry;
			ZEND_HASH_FOREACH_KEY_VAL(order, idx, key, entry) {
				zval k;
				zend_object *o;
				if (preserve) {
					if (key) ZVAL_STR(&k, key);
					else ZVAL_LONG(&k, idx);
					o = Z_OBJ_P(entry);
				} else {
					ZVAL_COPY_VALUE(&k, entry);
					zval *ov = Z_TYPE(k) == IS_STRING ? zend_hash_find(&triggers, Z_STR(k)) : zend_hash_index_find(&triggers, Z_LVAL(k));
					o = Z_OBJ_P(ov);
				}
				zval val;
				HashTable *dest = Z_ARRVAL(results);
				if (o->ce == phpa_ce_coroutine && task_from(o)->exception) {
					ZVAL_OBJ_COPY(&val, task_from(o)->exception);
					if (Z_TYPE(k) == IS_STRING) zend_hash_update(Z_ARRVAL(errors), Z_STR(k), &val);
					else zend_hash_index_update(Z_ARRVAL(errors), Z_LVAL(k), &val);
					if (!fill_null) continue;
					ZVAL_NULL(&val);
				} else if (o->ce == phpa_ce_coroutine) {
					ZVAL_COPY(&val, &task_from(o)->result);
				} else {
					ZVAL_NULL(&val);
				}
				if (Z_TYPE(k) == IS_STRING) zend_hash_update(dest, Z_STR(k), &val);
				else zend_hash_index_update(dest, Z_LVAL(k), &val);
			} ZEND_HASH_FOREACH_END();
			if (mode == WAIT_ALL) {
				array_init(return_value);
				zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &results);
				zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &errors);
			} else {
				zval_ptr_dtor(&errors);
				RETVAL_COPY_VALUE(&results);
			}
			goto out;
		}
		if (token_triggered(token)) {
			throw_token(token, fn);
			goto out;
		}
		if (!co) {
			co = require_coroutine(fn);
			if (!co) goto out;
		}
		for (uint32_t i = 0; i < pending; i++) {
			if (is_self(objs[i], co)) {
				zend_throw_error(NULL, "%s(): a coroutine cannot await itself", fn);
				goto out;
			}
		}
		if (!wait_once(co, objs, pending, token)) goto out;
	}
out:
	if (token) OBJ_RELEASE(token);
	if (objs) efree(objs);
	zval_ptr_dtor(&done_order);
	zend_hash_destroy(&seen);
	zend_hash_destroy(&triggers);
}

PHP_FUNCTION(Async_await_all) { await_many(INTERNAL_FUNCTION_PARAM_PASSTHRU, WAIT_ALL, "Async\\await_all"); }
PHP_FUNCTION(Async_await_all_or_fail) { await_many(INTERNAL_FUNCTION_PARAM_PASSTHRU, WAIT_ALL_OR_FAIL, "Async\\await_all_or_fail"); }
PHP_FUNCTION(Async_await_any_or_fail) { await_many(INTERNAL_FUNCTION_PARAM_PASSTHRU, WAIT_ANY_OR_FAIL, "Async\\await_any_or_fail"); }
PHP_FUNCTION(Async_await_first_success) { await_many(INTERNAL_FUNCTION_PARAM_PASSTHRU, WAIT_FIRST_SUCCESS, "Async\\await_first_success"); }

/* ---- spawn, delay, suspend, timeout, introspection ------------------------------------- */

PHP_FUNCTION(Async_spawn)
{
	zend_fcall_info fci;
	zend_fcall_info_cache fcc;
	zval *args = NULL;
	uint32_t argc = 0;
	HashTable *named = NULL;
	ZEND_PARSE_PARAMETERS_START(1, -1)
		Z_PARAM_FUNC(fci, fcc)
		Z_PARAM_VARIADIC_WITH_NAMED(args, argc, named)
	ZEND_PARSE_PARAMETERS_END();
	phpa_thread_state *ts = phpa_ts;
	if (!ts) {
		zend_throw_error(NULL, "Async\\spawn() is only available in a phpasync async worker");
		RETURN_THROWS();
	}
	if (!ts->current) {
		zend_throw_error(NULL, "Async\\spawn() can only be called inside a coroutine (a request handler or a spawned coroutine); "
			"spawning from the worker file's top level is not supported yet");
		RETURN_THROWS();
	}
	zend_object *obj = task_create(phpa_ce_coroutine);
	phpa_task *t = task_from(obj);
	t->id = ++next_task_id;
	ZVAL_COPY(&t->callable, &fci.function_name);
	t->fcc = fcc;
	if (argc) {
		t->args = safe_emalloc(argc, sizeof(zval), 0);
		for (uint32_t i = 0; i < argc; i++) ZVAL_COPY(&t->args[i], &args[i]);
		t->argc = argc;
	}
	if (named && zend_hash_num_elements(named)) t->named = zend_array_dup(named);
	phpa_coroutine *co = phpa_sched_spawn(obj);
	t->co = co;
	t->owner_job = co->owner_job;
	live_add(t);
	RETURN_OBJ(obj);
}

PHP_FUNCTION(Async_delay)
{
	zend_long ms;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_LONG(ms)
	ZEND_PARSE_PARAMETERS_END();
	if (ms < 0) {
		zend_argument_value_error(1, "must be greater than or equal to 0");
		RETURN_THROWS();
	}
	if (!require_coroutine("Async\\delay")) RETURN_THROWS();
	if (ms == 0) {
		phpa_sched_yield();
		return;
	}
	phpa_sched_sleep_until(phpa_now_ns() + (uint64_t)ms * 1000000ull);
}

PHP_FUNCTION(Async_suspend)
{
	ZEND_PARSE_PARAMETERS_NONE();
	if (!require_coroutine("Async\\suspend")) RETURN_THROWS();
	phpa_sched_yield();
}

PHP_FUNCTION(Async_timeout)
{
	zend_long ms;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_LONG(ms)
	ZEND_PARSE_PARAMETERS_END();
	if (ms <= 0) {
		zend_argument_value_error(1, "must be greater than 0");
		RETURN_THROWS();
	}
	if (!phpa_ts) {
		zend_throw_error(NULL, "Async\\timeout() is only available in a phpasync async worker");
		RETURN_THROWS();
	}
	zend_object *obj = timeout_create(phpa_ce_timeout);
	phpa_timeout *t = timeout_from(obj);
	t->ms = ms;
	phpa_timer_init(&t->timer, timeout_fired, t);
	phpa_timer_start(&t->timer, phpa_now_ns() + (uint64_t)ms * 1000000ull);
	RETURN_OBJ(obj);
}

PHP_FUNCTION(Async_current_coroutine)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_thread_state *ts = phpa_ts;
	if (!ts || !ts->current) RETURN_NULL();
	RETURN_OBJ_COPY(task_for_coroutine(ts->current));
}

PHP_FUNCTION(Async_get_coroutines)
{
	ZEND_PARSE_PARAMETERS_NONE();
	array_init(return_value);
	phpa_thread_state *ts = phpa_ts;
	if (!ts) return;
	phpa_coroutine **all;
	uint32_t n = phpa_sched_all(&all);
	for (uint32_t i = 0; i < n; i++) {
		phpa_coroutine *co = all[i];
		if (co->kind == PHPA_CO_KIND_REQUEST && (co->state == PHPA_CO_RUNNING || co->state == PHPA_CO_WAITING) && co->response) {
			task_for_coroutine(co);
		}
	}
	/* live list is newest first: report in spawn order */
	phpa_task *last = live_head;
	while (last && last->live_next) last = last->live_next;
	for (phpa_task *t = last; t; t = t->live_prev) {
		zval v;
		ZVAL_OBJ_COPY(&v, &t->std);
		zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &v);
	}
}

/* ---- Coroutine methods -------------------------------------------------------------------- */

static phpa_task *this_task(zval *this_zv)
{
	return task_from(Z_OBJ_P(this_zv));
}

ZEND_METHOD(Async_Coroutine, getId)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_LONG((zend_long)this_task(ZEND_THIS)->id);
}

ZEND_METHOD(Async_Coroutine, isStarted)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_BOOL(this_task(ZEND_THIS)->started);
}

ZEND_METHOD(Async_Coroutine, isQueued)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_task *t = this_task(ZEND_THIS);
	RETURN_BOOL(!t->completed && t->co && t->co->queued);
}

ZEND_METHOD(Async_Coroutine, isRunning)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_task *t = this_task(ZEND_THIS);
	RETURN_BOOL(!t->completed && t->co && phpa_ts && phpa_ts->current == t->co && t->co->state == PHPA_CO_RUNNING);
}

ZEND_METHOD(Async_Coroutine, isSuspended)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_task *t = this_task(ZEND_THIS);
	RETURN_BOOL(t->started && !t->completed && t->co && t->co->state == PHPA_CO_WAITING);
}

ZEND_METHOD(Async_Coroutine, isCompleted)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_BOOL(this_task(ZEND_THIS)->completed);
}

ZEND_METHOD(Async_Coroutine, isCancelled)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_BOOL(this_task(ZEND_THIS)->cancelled);
}

ZEND_METHOD(Async_Coroutine, isCancellationRequested)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_BOOL(this_task(ZEND_THIS)->cancel_requested);
}

ZEND_METHOD(Async_Coroutine, cancel)
{
	zend_object *reason = NULL;
	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_OBJ_OF_CLASS_OR_NULL(reason, phpa_ce_async_cancellation)
	ZEND_PARSE_PARAMETERS_END();
	phpa_task *t = this_task(ZEND_THIS);
	if (t->completed || t->cancel_requested) return; /* TrueAsync: a no-op */
	bool own = !reason;
	if (own) reason = new_throwable(phpa_ce_async_cancellation, "The coroutine was cancelled");
	cancel_task(t, reason);
	if (own) OBJ_RELEASE(reason);
}

ZEND_METHOD(Async_Coroutine, getResult)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_task *t = this_task(ZEND_THIS);
	if (!t->completed) RETURN_NULL();
	RETURN_COPY(&t->result);
}

ZEND_METHOD(Async_Coroutine, getException)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_task *t = this_task(ZEND_THIS);
	if (!t->completed) {
		zend_throw_exception(phpa_ce_async_exception, "Cannot get exception of a running coroutine", 0);
		RETURN_THROWS();
	}
	if (!t->exception) RETURN_NULL();
	RETURN_OBJ_COPY(t->exception);
}

ZEND_METHOD(Async_Coroutine, finally)
{
	zval *cb;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_OBJECT_OF_CLASS(cb, zend_ce_closure)
	ZEND_PARSE_PARAMETERS_END();
	phpa_task *t = this_task(ZEND_THIS);
	if (t->completed) {
		zval rv, arg;
		ZVAL_OBJ(&arg, &t->std);
		if (call_user_function(NULL, NULL, cb, &rv, 1, &arg) == SUCCESS) zval_ptr_dtor(&rv);
		return;
	}
	if (Z_TYPE(t->finally) != IS_ARRAY) array_init(&t->finally);
	Z_ADDREF_P(cb);
	zend_hash_next_index_insert(Z_ARRVAL(t->finally), cb);
}

/* ---- Timeout methods ---------------------------------------------------------------------- */

ZEND_METHOD(Async_Timeout, __construct) { zend_throw_error(NULL, "Async\\Timeout cannot be created with new: use Async\\timeout()"); }

ZEND_METHOD(Async_Timeout, cancel)
{
	zend_object *reason = NULL;
	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_OBJ_OF_CLASS_OR_NULL(reason, phpa_ce_async_cancellation)
	ZEND_PARSE_PARAMETERS_END();
	phpa_timeout *t = timeout_from(Z_OBJ_P(ZEND_THIS));
	if (t->fired || t->cancelled) return;
	t->cancelled = true;
	if (phpa_ts) phpa_timer_stop(&t->timer);
	waitlist_wake_all(&t->waiters);
}

ZEND_METHOD(Async_Timeout, isCompleted)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_timeout *t = timeout_from(Z_OBJ_P(ZEND_THIS));
	RETURN_BOOL(t->fired || t->cancelled);
}

ZEND_METHOD(Async_Timeout, isCancelled)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_BOOL(timeout_from(Z_OBJ_P(ZEND_THIS))->cancelled);
}

/* ---- registration ------------------------------------------------------------------------- */

void phpa_async_minit(int module_number)
{
	/* Modules loaded from php.ini are registered (not yet started) when our MINIT runs. */
	if (zend_hash_str_exists(&module_registry, "true_async", sizeof("true_async") - 1) ||
		zend_hash_str_exists(&module_registry, "async", sizeof("async") - 1)) {
		async_enabled = false;
		return;
	}
	async_enabled = true;
	zend_register_functions(NULL, ext_functions, NULL, MODULE_PERSISTENT);

	zend_class_entry ce;
	INIT_CLASS_ENTRY(ce, "Async\\Awaitable", NULL);
	phpa_ce_awaitable = zend_register_internal_interface(&ce);

	INIT_CLASS_ENTRY(ce, "Async\\Completable", class_Async_Completable_methods);
	phpa_ce_completable = zend_register_internal_interface(&ce);
	zend_class_implements(phpa_ce_completable, 1, phpa_ce_awaitable);

	INIT_CLASS_ENTRY(ce, "Async\\Coroutine", class_Async_Coroutine_methods);
	phpa_ce_coroutine = zend_register_internal_class(&ce);
	phpa_ce_coroutine->ce_flags |= ZEND_ACC_FINAL | ZEND_ACC_NO_DYNAMIC_PROPERTIES | ZEND_ACC_NOT_SERIALIZABLE;
	phpa_ce_coroutine->create_object = task_create;
	zend_class_implements(phpa_ce_coroutine, 1, phpa_ce_completable);
	memcpy(&task_handlers, zend_get_std_object_handlers(), sizeof task_handlers);
	task_handlers.offset = XtOffsetOf(phpa_task, std);
	task_handlers.free_obj = task_free;
	task_handlers.get_gc = task_get_gc;
	task_handlers.clone_obj = NULL;
	task_handlers.get_constructor = no_constructor;

	INIT_CLASS_ENTRY(ce, "Async\\Timeout", class_Async_Timeout_methods);
	phpa_ce_timeout = zend_register_internal_class(&ce);
	phpa_ce_timeout->ce_flags |= ZEND_ACC_FINAL | ZEND_ACC_NO_DYNAMIC_PROPERTIES | ZEND_ACC_NOT_SERIALIZABLE;
	phpa_ce_timeout->create_object = timeout_create;
	zend_class_implements(phpa_ce_timeout, 1, phpa_ce_completable);
	memcpy(&timeout_handlers, zend_get_std_object_handlers(), sizeof timeout_handlers);
	timeout_handlers.offset = XtOffsetOf(phpa_timeout, std);
	timeout_handlers.free_obj = timeout_free;
	timeout_handlers.clone_obj = NULL;

	INIT_CLASS_ENTRY(ce, "Async\\AsyncCancellation", NULL);
	phpa_ce_async_cancellation = zend_register_internal_class_ex(&ce, zend_ce_error);
	INIT_CLASS_ENTRY(ce, "Async\\OperationCanceledException", NULL);
	phpa_ce_operation_canceled = zend_register_internal_class_ex(&ce, phpa_ce_async_cancellation);
	INIT_CLASS_ENTRY(ce, "Async\\AsyncException", NULL);
	phpa_ce_async_exception = zend_register_internal_class_ex(&ce, zend_ce_exception);
	INIT_CLASS_ENTRY(ce, "Async\\TimeoutException", NULL);
	phpa_ce_timeout_exception = zend_register_internal_class_ex(&ce, zend_ce_exception);

	(void)module_number;
	phpa_hooks_minit();
}
