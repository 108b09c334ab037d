/*
 * The objects of the Async\ API, shared by the files of php/async/ only: Async\Coroutine
 * (phpa_task), Async\Timeout (phpa_timeout), and the wait lists await() links into.
 */
#ifndef PHPA_ASYNC_TASK_H
#define PHPA_ASYNC_TASK_H

#include "async/async.h"

extern zend_class_entry *phpa_ce_awaitable, *phpa_ce_completable, *phpa_ce_coroutine, *phpa_ce_timeout;
extern zend_class_entry *phpa_ce_async_cancellation, *phpa_ce_operation_canceled, *phpa_ce_async_exception,
	*phpa_ce_timeout_exception;

/* ---- wait lists: a coroutine that awaits links a waiter (on its fiber stack) into the awaited
 * object's list and suspends; completion wakes every waiter, which re-checks and unlinks. ---- */
typedef struct phpa_waiter {
	struct phpa_waiter *prev, *next;
	phpa_coroutine *co;
} phpa_waiter;

typedef struct {
	phpa_waiter *head;
} phpa_waitlist;

void phpa_waitlist_add(phpa_waitlist *l, phpa_waiter *w, phpa_coroutine *co);
void phpa_waitlist_remove(phpa_waitlist *l, phpa_waiter *w);
void phpa_waitlist_wake_all(phpa_waitlist *l);

/* ---- objects ------------------------------------------------------------------------------- */
typedef struct phpa_task {
	phpa_waitlist waiters;
	uint64_t id;
	phpa_coroutine *co;    /* fiber slot from spawn() to completion, else NULL */
	uint64_t scope_id;     /* request it belongs to (0: none) */
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
	phpa_waitlist waiters;
	phpa_timer timer;
	zend_long ms;
	bool fired, cancelled;
	zend_object std;
} phpa_timeout;

static inline phpa_task *phpa_task_from(zend_object *o) { return (phpa_task *)((char *)o - XtOffsetOf(phpa_task, std)); }
static inline phpa_timeout *phpa_timeout_from(zend_object *o)
{
	return (phpa_timeout *)((char *)o - XtOffsetOf(phpa_timeout, std));
}

/* Class registration (api.c) installs these on the classes. */
zend_object *phpa_task_create(zend_class_entry *ce);
zend_object *phpa_timeout_create(zend_class_entry *ce);
void phpa_task_init_handlers(zend_object_handlers *h);
void phpa_timeout_init_handlers(zend_object_handlers *h);

/* A new Async\Coroutine for `callable`, spawned in the running coroutine's scope. */
zend_object *phpa_task_spawn(zend_fcall_info *fci, zend_fcall_info_cache *fcc, zval *args, uint32_t argc, HashTable *named);
/* The handle of a coroutine not spawned through Async\ (made on first use). */
zend_object *phpa_task_for_coroutine(phpa_coroutine *co);
/* Ask the task to stop with `reason` (no-op once completed or asked). */
void phpa_task_cancel(phpa_task *t, zend_object *reason);
/* This thread's not-completed tasks, newest first. */
phpa_task *phpa_task_live_head(void);

/* A Throwable of class ce with this message (a new reference). */
zend_object *phpa_new_throwable(zend_class_entry *ce, const char *msg);
/* The coroutine a function may suspend, or NULL with an Error thrown naming the function. */
phpa_coroutine *phpa_require_coroutine(const char *fn);

#endif
