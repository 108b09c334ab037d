/*
 * The async layer of php/: TrueAsync's Async\ API on phpasync's runtime (task.c, await.c,
 * api.c) and the hooks that make blocking calls yield inside coroutines (hooks.c). This is
 * what the server and the embedding see of it; it includes only the runtime.
 */
#ifndef PHPA_ASYNC_H
#define PHPA_ASYNC_H

#include "runtime/runtime.h"

/* Module startup: registers Async\ (unless the true_async extension is loaded) and the hooks. */
void phpa_async_minit(int module_number);
bool phpa_async_enabled(void);

/* Per interpreter start and end on a PHP thread (inside its PHP request). after_fatal: PHP
 * frees the objects at request shutdown; only the bookkeeping is forgotten. */
void phpa_async_thread_init(void);
void phpa_async_thread_reset(bool after_fatal);

/* A coroutine not spawned through Async\ (a request's) ended: its Async\Coroutine handle, if
 * one was asked for, completes; abnormal (it failed, timed out, its client left): the
 * coroutines spawned in its scope are cancelled (structured concurrency). On its own fiber. */
void phpa_async_coroutine_done(phpa_coroutine *co, bool abnormal);
/* Drop the handle the coroutine holds (its finish hook); a handle not completed yet settles
 * as cancelled. */
void phpa_async_release_handle(phpa_coroutine *co);
/* Cancel every coroutine spawned (directly or not) in scope `scope_id`. */
void phpa_async_cancel_scope(uint64_t scope_id);
/* Cancel every spawned coroutine of this thread (thread stopping). Returns how many. */
uint32_t phpa_async_cancel_all(void);

#endif
