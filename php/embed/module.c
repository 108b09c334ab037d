/*
 * The internal module phpasync registers at startup: the FrankenPHP\* classes (server layer),
 * the Async\ API (async layer) and the process-wide fixes that must happen inside PHP's module
 * startup.
 */
#include "embed/embed.h"

#ifdef ZEND_SIGNALS
#include <zend_signal.h>
#endif

static PHP_MINIT_FUNCTION(phpasync)
{
#ifdef ZEND_SIGNALS
	/* Keep PHP from installing its SIGINT/SIGTERM/SIGHUP/SIGUSR handlers at every request
	 * startup: they belong to Node (DESIGN.md: otherwise Ctrl-C spins at 100% CPU). */
	SIGG(reset) = 0;
#endif
	/* OPcache's startup, which runs right after every module's MINIT, enables itself only for
	 * SAPI names on its list; FrankenPHP, whose API we implement, is on it. PHP_SAPI was
	 * registered before and php_sapi_name() reads the name back after startup, when
	 * phpa_php_module_startup() restores ours. */
	sapi_module.name = "frankenphp";
	phpa_sched_minit();
	phpa_server_minit();
	phpa_async_minit(module_number); /* Async\ API + blocking calls that yield */
	return SUCCESS;
}

zend_module_entry phpa_module_entry = {
	STANDARD_MODULE_HEADER,
	"phpasync",
	NULL, /* functions: everything is a class method */
	PHP_MINIT(phpasync),
	NULL,
	NULL,
	NULL,
	NULL,
	"0.1.0",
	STANDARD_MODULE_PROPERTIES,
};
