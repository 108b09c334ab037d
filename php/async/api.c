/*
 * The Async\ functions that are not awaits (spawn, delay, suspend, timeout, introspection),
 * the methods of Async\Coroutine and Async\Timeout, and the registration of the API (only
 * where the true_async extension is not loaded).
 */
#include "async/task.h"

#include <zend_closures.h>
#include <zend_exceptions.h>
#include <zend_interfaces.h>

#include "async/async_arginfo.h"
#include "async/hooks.h"

zend_class_entry *phpa_ce_awaitable, *phpa_ce_completable, *phpa_ce_coroutine, *phpa_ce_timeout;
zend_class_entry *phpa_ce_async_cancellation, *phpa_ce_operation_canceled, *phpa_ce_async_exception,
	*phpa_ce_timeout_exception;

static zend_object_handlers task_handlers, timeout_handlers;
static bool async_enabled;

bool phpa_async_enabled(void) { return async_enabled; }

static void timeout_fired(phpa_timer *timer)
{
	phpa_timeout *t = (phpa_timeout *)timer->data;
	t->fired = true;
	phpa_waitlist_wake_all(&t->waiters);
}

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
	if (!phpa_on_php_thread()) {
		zend_throw_error(NULL, "Async\\spawn() is only available in a phpasync async worker");
		RETURN_THROWS();
	}
	if (!phpa_sched_current()) {
		zend_throw_error(NULL, "Async\\spawn() can only be called inside a coroutine (a request handler or a spawned coroutine); "
			"spawning from the worker file's top level is not supported yet");
		RETURN_THROWS();
	}
	RETURN_OBJ(phpa_task_spawn(&fci, &fcc, args, argc, named));
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
	if (!phpa_require_coroutine("Async\\delay")) RETURN_THROWS();
	if (ms == 0) {
		phpa_sched_yield();
		return;
	}
	phpa_sched_sleep_until(phpa_now_ns() + (uint64_t)ms * 1000000ull);
}

PHP_FUNCTION(Async_suspend)
{
	ZEND_PARSE_PARAMETERS_NONE();
	if (!phpa_require_coroutine("Async\\suspend")) RETURN_THROWS();
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
	if (!phpa_on_php_thread()) {
		zend_throw_error(NULL, "Async\\timeout() is only available in a phpasync async worker");
		RETURN_THROWS();
	}
	zend_object *obj = phpa_timeout_create(phpa_ce_timeout);
	phpa_timeout *t = phpa_timeout_from(obj);
	t->ms = ms;
	phpa_timer_init(&t->timer, timeout_fired, t);
	phpa_timer_start(&t->timer, phpa_now_ns() + (uint64_t)ms * 1000000ull);
	RETURN_OBJ(obj);
}

PHP_FUNCTION(Async_current_coroutine)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_coroutine *co = phpa_sched_current();
	if (!co) RETURN_NULL();
	RETURN_OBJ_COPY(phpa_task_for_coroutine(co));
}

PHP_FUNCTION(Async_get_coroutines)
{
	ZEND_PARSE_PARAMETERS_NONE();
	array_init(return_value);
	if (!phpa_on_php_thread()) return;
	phpa_coroutine **all;
	uint32_t n = phpa_sched_all(&all);
	for (uint32_t i = 0; i < n; i++) {
		phpa_coroutine *co = all[i];
		/* Coroutines not spawned through Async\ (requests') get their handle now. */
		if (co->ops && !co->handle && (co->state == PHPA_CO_RUNNING || co->state == PHPA_CO_WAITING)) {
			phpa_task_for_coroutine(co);
		}
	}
	/* live list is newest first: report in spawn order */
	phpa_task *last = phpa_task_live_head();
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
	return phpa_task_from(Z_OBJ_P(this_zv));
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
	RETURN_BOOL(!t->completed && t->co && phpa_sched_current() == t->co && t->co->state == PHPA_CO_RUNNING);
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
	if (own) reason = phpa_new_throwable(phpa_ce_async_cancellation, "The coroutine was cancelled");
	phpa_task_cancel(t, reason);
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
	phpa_timeout *t = phpa_timeout_from(Z_OBJ_P(ZEND_THIS));
	if (t->fired || t->cancelled) return;
	t->cancelled = true;
	if (phpa_on_php_thread()) phpa_timer_stop(&t->timer);
	phpa_waitlist_wake_all(&t->waiters);
}

ZEND_METHOD(Async_Timeout, isCompleted)
{
	ZEND_PARSE_PARAMETERS_NONE();
	phpa_timeout *t = phpa_timeout_from(Z_OBJ_P(ZEND_THIS));
	RETURN_BOOL(t->fired || t->cancelled);
}

ZEND_METHOD(Async_Timeout, isCancelled)
{
	ZEND_PARSE_PARAMETERS_NONE();
	RETURN_BOOL(phpa_timeout_from(Z_OBJ_P(ZEND_THIS))->cancelled);
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

	/* Classes, flags and interfaces as the stub declares them (async_arginfo.h is generated). */
	phpa_ce_awaitable = register_class_Async_Awaitable();
	phpa_ce_completable = register_class_Async_Completable(phpa_ce_awaitable);
	phpa_ce_coroutine = register_class_Async_Coroutine(phpa_ce_completable);
	phpa_ce_coroutine->create_object = phpa_task_create;
	phpa_task_init_handlers(&task_handlers);
	phpa_ce_timeout = register_class_Async_Timeout(phpa_ce_completable);
	phpa_ce_timeout->create_object = phpa_timeout_create;
	phpa_timeout_init_handlers(&timeout_handlers);
	phpa_ce_async_cancellation = register_class_Async_AsyncCancellation(zend_ce_error);
	phpa_ce_operation_canceled = register_class_Async_OperationCanceledException(phpa_ce_async_cancellation);
	phpa_ce_async_exception = register_class_Async_AsyncException(zend_ce_exception);
	phpa_ce_timeout_exception = register_class_Async_TimeoutException(zend_ce_exception);

	(void)module_number;
	phpa_hooks_minit();
}
