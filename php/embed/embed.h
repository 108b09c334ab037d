/*
 * The embed layer of php/: PHP inside Node. Our SAPI module (sapi.c), the internal module
 * registered at startup (module.c) and the life of a PHP thread (thread.c) implement the
 * phpa_php_* half of the bridge. Includes the server layer (and through it everything below).
 */
#ifndef PHPA_EMBED_H
#define PHPA_EMBED_H

#include <SAPI.h>

#include "server/server.h"

/* sapi.c */
extern sapi_module_struct phpa_sapi_module;
/* php_request_startup() that leaves SIGPROF as it found it. */
zend_result phpa_request_startup(void);

/* module.c */
extern zend_module_entry phpa_module_entry;

#endif
