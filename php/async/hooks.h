/*
 * Blocking calls that yield inside coroutines (hooks.c, sockets.c), for php/async/ only.
 */
#ifndef PHPA_ASYNC_HOOKS_H
#define PHPA_ASYNC_HOOKS_H

#include "async/async.h"

/* Module startup: replaces the functions that block (sleep, usleep, proc_open waits, ...). */
void phpa_hooks_minit(void);
/* On a PHP thread inside its PHP request: patches socket stream ops once. */
void phpa_hooks_thread_init(void);
/* sockets.c: patches the socket stream ops (once per process; the first thread does it). */
void phpa_sockets_thread_init(void);
/* pdo_persistent.c: a persistent PDO connection is held by one coroutine at a time. */
void phpa_pdo_persistent_thread_init(void);

#endif
