/*
 * Awaiting: Async\await() on one Completable and the await_* functions on many, each mode in
 * a function of its own over one shared scan of the set (await_set).
 */
#include "async/task.h"

#include <zend_exceptions.h>
#include <zend_interfaces.h>

/* ---- awaiting ------------------------------------------------------------------------------ */

/* An awaitable's list and completion, for a Coroutine or a Timeout. */
static phpa_waitlist *awaitable_list(zend_object *o)
{
	if (o->ce == phpa_ce_coroutine) return &phpa_task_from(o)->waiters;
	return &phpa_timeout_from(o)->waiters;
}

static bool awaitable_done(zend_object *o)
{
	if (o->ce == phpa_ce_coroutine) return phpa_task_from(o)->completed;
	phpa_timeout *t = phpa_timeout_from(o);
	return t->fired || t->cancelled;
}

/* A cancellation token has triggered (a cancelled Timeout never triggers). */
static bool token_triggered(zend_object *o)
{
	if (!o) return false;
	if (o->ce == phpa_ce_coroutine) return phpa_task_from(o)->completed;
	return phpa_timeout_from(o)->fired;
}

static void throw_token(zend_object *token, const char *fn)
{
	if (token->ce == phpa_ce_timeout) {
		zend_throw_exception_ex(phpa_ce_timeout_exception, 0, "%s(): timeout of " ZEND_LONG_FMT " ms reached", fn,
			phpa_timeout_from(token)->ms);
		return;
	}
	zend_object *ex = phpa_new_throwable(phpa_ce_operation_canceled, "The await was cancelled: its cancellation completed");
	phpa_task *t = phpa_task_from(token);
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
	phpa_waiter stack_w[9];
	uint32_t total = n + (token ? 1 : 0);
	phpa_waiter *ws = total <= 9 ? stack_w : emalloc(sizeof(phpa_waiter) * total);
	for (uint32_t i = 0; i < n; i++) phpa_waitlist_add(awaitable_list(objs[i]), &ws[i], co);
	if (token) phpa_waitlist_add(awaitable_list(token), &ws[n], co);
	bool ok = phpa_sched_suspend();
	for (uint32_t i = 0; i < n; i++) phpa_waitlist_remove(awaitable_list(objs[i]), &ws[i]);
	if (token) phpa_waitlist_remove(awaitable_list(token), &ws[n]);
	if (ws != stack_w) efree(ws);
	return ok;
}

/* The outcome of a completed awaitable: its result in return_value, or its exception thrown. */
static void outcome(zend_object *o, zval *return_value)
{
	if (o->ce == phpa_ce_coroutine) {
		phpa_task *t = phpa_task_from(o);
		if (t->exception) {
			GC_ADDREF(t->exception);
			zend_throw_exception_internal(t->exception);
			return;
		}
		RETURN_COPY(&t->result);
	}
	phpa_timeout *t = phpa_timeout_from(o);
	if (t->cancelled && !t->fired) {
		zval z;
		ZVAL_OBJ(&z, phpa_new_throwable(phpa_ce_async_cancellation, "The timeout was cancelled"));
		zend_throw_exception_object(&z);
		return;
	}
	RETURN_NULL();
}

static bool is_self(zend_object *o, phpa_coroutine *co)
{
	return o->ce == phpa_ce_coroutine && co && phpa_task_from(o)->co == co;
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
		outcome(awaitable, return_value);
		return;
	}
	phpa_coroutine *co = phpa_require_coroutine("Async\\await");
	if (!co) RETURN_THROWS();
	if (is_self(awaitable, co)) {
		zend_throw_error(NULL, "Async\\await(): a coroutine cannot await itself");
		RETURN_THROWS();
	}
	GC_ADDREF(awaitable);
	if (token) GC_ADDREF(token);
	for (;;) {
		if (awaitable_done(awaitable)) {
			outcome(awaitable, return_value);
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

/* ---- await_* on many ---------------------------------------------------------------------- */

/* The set an await_* call waits on. Completions are recorded in the order they are seen. */
typedef struct {
	HashTable triggers;   /* key => object, references held */
	HashTable seen;       /* keys already in done_order */
	zval done_order;      /* keys in the order completions were seen */
	zend_object **objs;   /* the pending ones, after scan() */
	uint32_t pending;
	zend_object *token;   /* cancellation, reference held, or NULL */
	phpa_coroutine *co;
	const char *fn;
} await_set;

static bool failed(zend_object *o)
{
	return o->ce == phpa_ce_coroutine ? phpa_task_from(o)->exception != NULL
		: (phpa_timeout_from(o)->cancelled && !phpa_timeout_from(o)->fired);
}

static zend_object *trigger_of(await_set *s, zval *k)
{
	zval *o = Z_TYPE_P(k) == IS_STRING ? zend_hash_find(&s->triggers, Z_STR_P(k)) : zend_hash_index_find(&s->triggers, Z_LVAL_P(k));
	return Z_OBJ_P(o);
}

/* Parses the arguments shared by every await_* function. False with an exception thrown. */
static bool set_open(await_set *s, INTERNAL_FUNCTION_PARAMETERS, const char *fn, bool *preserve, bool *fill_null)
{
	zval *iterable;
	zend_object *token = NULL;
	*preserve = true;
	*fill_null = false;
	ZEND_PARSE_PARAMETERS_START(1, 4)
		Z_PARAM_ITERABLE(iterable)
		Z_PARAM_OPTIONAL
		Z_PARAM_OBJ_OF_CLASS_OR_NULL(token, phpa_ce_awaitable)
		Z_PARAM_BOOL(*preserve)
		Z_PARAM_BOOL(*fill_null)
	ZEND_PARSE_PARAMETERS_END_EX(return false);
	if (token && token->ce != phpa_ce_coroutine && token->ce != phpa_ce_timeout) {
		zend_argument_type_error(2, "must be an Async\\Coroutine or an Async\\Timeout, %s given", ZSTR_VAL(token->ce->name));
		return false;
	}
	zend_hash_init(&s->triggers, 8, NULL, ZVAL_PTR_DTOR, 0);
	if (!collect_triggers(iterable, &s->triggers, fn)) {
		zend_hash_destroy(&s->triggers);
		return false;
	}
	s->co = phpa_sched_running();
	uint32_t n = zend_hash_num_elements(&s->triggers);
	s->objs = n ? emalloc(sizeof(zend_object *) * n) : NULL;
	s->pending = 0;
	array_init(&s->done_order);
	zend_hash_init(&s->seen, n, NULL, NULL, 0);
	s->token = token;
	if (token) GC_ADDREF(token);
	s->fn = fn;
	return true;
}

static void set_close(await_set *s)
{
	if (s->token) OBJ_RELEASE(s->token);
	if (s->objs) efree(s->objs);
	zval_ptr_dtor(&s->done_order);
	zend_hash_destroy(&s->seen);
	zend_hash_destroy(&s->triggers);
}

/* Records the newly completed ones in completion order and collects the pending ones. Stops
 * at the first newly completed one for which stop_at(failed) is true and returns it. */
static zend_object *scan(await_set *s, bool (*stop_at)(bool failed))
{
	zend_ulong idx;
	zend_string *key;
	zval *v;
	s->pending = 0;
	ZEND_HASH_FOREACH_KEY_VAL(&s->triggers, idx, key, v) {
		zend_object *o = Z_OBJ_P(v);
		if (!awaitable_done(o)) {
			s->objs[s->pending++] = o;
			continue;
		}
		if (key ? zend_hash_exists(&s->seen, key) : zend_hash_index_exists(&s->seen, idx)) continue;
		if (key) zend_hash_add_empty_element(&s->seen, key);
		else zend_hash_index_add_empty_element(&s->seen, idx);
		zval k;
		if (key) ZVAL_STR_COPY(&k, key);
		else ZVAL_LONG(&k, idx);
		zend_hash_next_index_insert(Z_ARRVAL(s->done_order), &k);
		if (stop_at && stop_at(failed(o))) return o;
	} ZEND_HASH_FOREACH_END();
	return NULL;
}

/* Suspends until something in the set (or the token) completes. False when the call must end
 * (an exception is thrown: the token triggered, no coroutine, awaiting itself, cancelled). */
static bool set_wait(await_set *s)
{
	if (token_triggered(s->token)) {
		throw_token(s->token, s->fn);
		return false;
	}
	if (!s->co) {
		s->co = phpa_require_coroutine(s->fn);
		if (!s->co) return false;
	}
	for (uint32_t i = 0; i < s->pending; i++) {
		if (is_self(s->objs[i], s->co)) {
			zend_throw_error(NULL, "%s(): a coroutine cannot await itself", s->fn);
			return false;
		}
	}
	return wait_once(s->co, s->objs, s->pending, s->token);
}

static void put(HashTable *dest, zval *k, zval *val)
{
	if (Z_TYPE_P(k) == IS_STRING) zend_hash_update(dest, Z_STR_P(k), val);
	else zend_hash_index_update(dest, Z_LVAL_P(k), val);
}

/* Everything completed: [results, errors] (await_all) or results (await_all_or_fail), keyed
 * as the input (preserve) or in completion order. */
static void all_results(await_set *s, bool preserve, bool fill_null, bool with_errors, zval *return_value)
{
	zval results, errors;
	array_init(&results);
	array_init(&errors);
	HashTable *order = preserve ? &s->triggers : Z_ARRVAL(s->done_order);
	zend_ulong idx;
	zend_string *key;
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
			o = trigger_of(s, &k);
		}
		zval val;
		if (o->ce == phpa_ce_coroutine && phpa_task_from(o)->exception) {
			ZVAL_OBJ_COPY(&val, phpa_task_from(o)->exception);
			put(Z_ARRVAL(errors), &k, &val);
			if (!fill_null) continue;
			ZVAL_NULL(&val);
		} else if (o->ce == phpa_ce_coroutine) {
			ZVAL_COPY(&val, &phpa_task_from(o)->result);
		} else {
			ZVAL_NULL(&val);
		}
		put(Z_ARRVAL(results), &k, &val);
	} ZEND_HASH_FOREACH_END();
	if (with_errors) {
		array_init(return_value);
		zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &results);
		zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &errors);
	} else {
		zval_ptr_dtor(&errors);
		RETVAL_COPY_VALUE(&results);
	}
}

static bool on_failure(bool f) { return f; }
static bool on_success(bool f) { return !f; }
static bool always(bool f) { (void)f; return true; }

/* await_all (fail_fast false): waits for everything, returns [results, errors].
 * await_all_or_fail: the first failure seen is thrown; else the results. */
static void await_all(INTERNAL_FUNCTION_PARAMETERS, bool fail_fast, const char *fn)
{
	await_set s;
	bool preserve, fill_null;
	if (!set_open(&s, INTERNAL_FUNCTION_PARAM_PASSTHRU, fn, &preserve, &fill_null)) RETURN_THROWS();
	for (;;) {
		zend_object *first_failure = scan(&s, fail_fast ? on_failure : NULL);
		if (first_failure) {
			outcome(first_failure, return_value); /* throws its exception */
			break;
		}
		if (s.pending == 0) {
			all_results(&s, preserve, fill_null, !fail_fast, return_value);
			break;
		}
		if (!set_wait(&s)) break;
	}
	set_close(&s);
}

/* The outcome of the first one to complete (NULL for an empty set). */
static void await_any_or_fail(INTERNAL_FUNCTION_PARAMETERS, const char *fn)
{
	await_set s;
	bool preserve, fill_null;
	if (!set_open(&s, INTERNAL_FUNCTION_PARAM_PASSTHRU, fn, &preserve, &fill_null)) RETURN_THROWS();
	for (;;) {
		zend_object *first = scan(&s, always);
		if (first) {
			outcome(first, return_value);
			break;
		}
		if (s.pending == 0) {
			RETVAL_NULL(); /* empty input */
			break;
		}
		if (!set_wait(&s)) break;
	}
	set_close(&s);
}

/* [result of the first success, errors of the failures seen before it], or [null, errors]
 * once everything failed. */
static void await_first_success(INTERNAL_FUNCTION_PARAMETERS, const char *fn)
{
	await_set s;
	bool preserve, fill_null;
	if (!set_open(&s, INTERNAL_FUNCTION_PARAM_PASSTHRU, fn, &preserve, &fill_null)) RETURN_THROWS();
	for (;;) {
		scan(&s, on_success);
		HashTable *done = Z_ARRVAL(s.done_order);
		zval *last = zend_hash_index_find(done, zend_hash_num_elements(done) - 1);
		bool success = false;
		if (last) {
			zend_object *o = trigger_of(&s, last);
			success = o->ce == phpa_ce_coroutine ? phpa_task_from(o)->exception == NULL : true;
		}
		if (success || s.pending == 0) {
			zval result, errors;
			ZVAL_NULL(&result);
			array_init(&errors);
			zval *k;
			ZEND_HASH_FOREACH_VAL(done, k) {
				zend_object *o = trigger_of(&s, k);
				if (o->ce == phpa_ce_coroutine && phpa_task_from(o)->exception) {
					zval e;
					ZVAL_OBJ_COPY(&e, phpa_task_from(o)->exception);
					put(Z_ARRVAL(errors), k, &e);
				} else if (o->ce == phpa_ce_coroutine) {
					zval_ptr_dtor(&result);
					ZVAL_COPY(&result, &phpa_task_from(o)->result);
				}
			} ZEND_HASH_FOREACH_END();
			array_init(return_value);
			zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &result);
			zend_hash_next_index_insert(Z_ARRVAL_P(return_value), &errors);
			break;
		}
		if (!set_wait(&s)) break;
	}
	set_close(&s);
}

PHP_FUNCTION(Async_await_all) { await_all(INTERNAL_FUNCTION_PARAM_PASSTHRU, false, "Async\\await_all"); }
PHP_FUNCTION(Async_await_all_or_fail) { await_all(INTERNAL_FUNCTION_PARAM_PASSTHRU, true, "Async\\await_all_or_fail"); }
PHP_FUNCTION(Async_await_any_or_fail) { await_any_or_fail(INTERNAL_FUNCTION_PARAM_PASSTHRU, "Async\\await_any_or_fail"); }
PHP_FUNCTION(Async_await_first_success) { await_first_success(INTERNAL_FUNCTION_PARAM_PASSTHRU, "Async\\await_first_success"); }
