/*
 * phpasync's own SAPI module. Not bare php_embed: with a name of our own OPcache turns on,
 * and output, headers and logs go where phpasync decides (DESIGN.md, "facts measured").
 */
#define _GNU_SOURCE
#include "embed/embed.h"

#include <SAPI.h>
#include <dlfcn.h>
#include <ext/standard/info.h>
#include <zend_extensions.h>
#include <main/php_main.h>
#include <main/php_variables.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>
#include <zend_exceptions.h>

static const phpa_config *g_config;
static bool g_cli_mode;        /* php-cli: output to stdout, logs to stderr */
static char *g_ini_entries;    /* malloc'd: defaults + the configuration's php_ini */

/* Defaults before the user's php_ini lines (later lines win); the worker modes add
 * phpa_worker_ini. PHP's SIGPROF timer cannot be used inside Node: time limits go through
 * EG(vm_interrupt) (runtime/guard.c). */
static const char phpa_default_ini[] =
	"html_errors=0\n"
	"display_errors=0\n"
	"log_errors=1\n"
	"max_input_time=-1\n"
	"opcache.enable=1\n"
	"opcache.enable_cli=1\n"
	"opcache.validate_timestamps=1\n"
	"opcache.jit_buffer_size=64M\n"
	"opcache.jit=tracing\n"
	/* Measured on PHP 8.2: a loop trace compiled from a hot loop header can spin
	 * without ever checking EG(vm_interrupt), so the request timeout and client-abort
	 * interrupts never land (`while (true) { $i++; }` ran forever; with the JIT off, with
	 * opcache.jit=function, or with loop traces off it is interrupted within the timeout).
	 * Loops still get compiled as part of hot functions' traces. */
	"opcache.jit_hot_loop=0\n"
	/* Handlers run on fibers: give them a C stack as deep as a main thread's (8 MiB, the
	 * usual RLIMIT_STACK; PHP's default is 2 MiB, where serialize() of a 2000-deep array
	 * overflows). Reserved address space only: pages are touched as recursion reaches them.
	 * Measured with 1000 coroutines alive: RSS +11 MB and 2 maps each, the same at 2M and 8M;
	 * address space +8 GB instead of +2 GB (strict overcommit, vm.overcommit_memory=2, would
	 * count it: set php_ini fiber.stack_size lower there). Overflows: runtime/stack_guard.c. */
	"fiber.stack_size=8M\n";

/* The workers' output goes to the Response (a worker runs one long PHP request): no output
 * buffer, every echo straight to the handler's response, no time limit for the worker's
 * request (max_execution_time inside a handler is its deadline, request_functions.c). Classic
 * scripts keep what php.ini says (php-fpm's behaviour; Debian's: output_buffering=4096,
 * max_execution_time=30, enforced by the guard). */
static const char phpa_worker_ini[] =
	"implicit_flush=1\n"
	"output_buffering=0\n"
	"max_execution_time=0\n";

const char *phpa_php_version(void) { return PHP_VERSION; }

int phpa_php_is_zts(void)
{
#ifdef ZTS
	return 1;
#else
	return 0;
#endif
}

/* ---- SAPI callbacks ---------------------------------------------------------------------- */

static int sapi_phpa_startup(sapi_module_struct *module)
{
	return php_module_startup(module, &phpa_module_entry) == SUCCESS ? SUCCESS : FAILURE;
}

static size_t sapi_phpa_ub_write(const char *str, size_t len)
{
	if (phpa_scripts_active()) return phpa_scripts_ub_write(str, len);
	if (phpa_worker_output(str, len)) return len;
	if (g_cli_mode) {
		size_t done = 0;
		while (done < len) {
			ssize_t w = write(STDOUT_FILENO, str + done, len - done);
			if (w <= 0) break;
			done += (size_t)w;
		}
		return len;
	}
	/* Output outside a request (worker file top level, after end()) goes to the log. */
	if (len > 0) phpa_log(PHPA_LOG_INFO, phpa_log_request_id(), "php output: %.*s", (int)len, str);
	return len;
}

static void sapi_phpa_flush(void *server_context)
{
	(void)server_context;
	if (phpa_scripts_active()) phpa_scripts_flush();
}

static int sapi_phpa_send_headers(sapi_headers_struct *headers)
{
	if (phpa_scripts_active()) phpa_scripts_send_headers(headers);
	return SAPI_HEADER_SENT_SUCCESSFULLY;
}

/* header() inside a handler sets a header of that request's response; elsewhere (including
 * PHP's default Content-type at the first output) there is no response and it is dropped. Returning 0 keeps SAPI's own list
 * (which would grow forever in a long-lived worker) empty. */
static int sapi_phpa_header_handler(sapi_header_struct *h, sapi_header_op_enum op, sapi_headers_struct *headers)
{
	(void)headers;
	/* A classic script: PHP's own list is the response's (headers_list() reads it). */
	if (phpa_scripts_active()) return SAPI_HEADER_ADD;
	phpa_worker_header(h ? h->header : NULL, h ? h->header_len : 0, op);
	return 0;
}

static size_t sapi_phpa_read_post(char *buf, size_t len)
{
	if (phpa_scripts_active()) return phpa_scripts_read_post(buf, len);
	return phpa_request_state_read_post(buf, len);
}

static char *sapi_phpa_read_cookies(void) { return phpa_scripts_active() ? phpa_scripts_read_cookies() : NULL; }

static char *sapi_phpa_getenv(const char *name, size_t name_len)
{
	if (!g_config || !g_config->env) return NULL;
	for (const char *const *e = g_config->env; *e; e++) {
		if (strncmp(*e, name, name_len) == 0 && (*e)[name_len] == '=') return (char *)*e + name_len + 1;
	}
	return NULL;
}

static void sapi_phpa_register_variables(zval *track_vars)
{
	php_import_environment_variables(track_vars);
	if (g_config && g_config->env) {
		for (const char *const *e = g_config->env; *e; e++) {
			const char *eq = strchr(*e, '=');
			if (!eq) continue;
			char *name = estrndup(*e, eq - *e);
			php_register_variable_safe(name, eq + 1, strlen(eq + 1), track_vars);
			efree(name);
		}
	}
	if (phpa_scripts_active()) {
		phpa_scripts_register_variables(track_vars);
		return;
	}
	if (g_config && g_config->worker_file) {
		php_register_variable("SCRIPT_FILENAME", g_config->worker_file, track_vars);
	}
	/* php-cli: what PHP's CLI sets (Composer reads PHP_SELF). */
	if (g_cli_mode && SG(request_info).argc > 0) {
		char *self = SG(request_info).argv[0];
		php_register_variable("PHP_SELF", self, track_vars);
		php_register_variable("SCRIPT_NAME", self, track_vars);
		php_register_variable("SCRIPT_FILENAME", self, track_vars);
		php_register_variable("PATH_TRANSLATED", self, track_vars);
		php_register_variable("DOCUMENT_ROOT", "", track_vars);
	}
	phpa_request_state_register_variables(track_vars);
}

static void sapi_phpa_log_message(const char *message, int syslog_type)
{
	int level = syslog_type <= LOG_ERR ? PHPA_LOG_ERROR : syslog_type == LOG_WARNING ? PHPA_LOG_WARN : PHPA_LOG_INFO;
	phpa_log(level, phpa_log_request_id(), "%s", message);
}

sapi_module_struct phpa_sapi_module = {
	"phpasync",              /* name: not "embed", so OPcache runs */
	"phpasync (PHP in Node.js)",
	sapi_phpa_startup,
	php_module_shutdown_wrapper,
	NULL, /* activate */
	NULL, /* deactivate */
	sapi_phpa_ub_write,
	sapi_phpa_flush,
	NULL, /* get_stat */
	sapi_phpa_getenv,
	php_error,
	sapi_phpa_header_handler,
	sapi_phpa_send_headers,
	NULL, /* send_header */
	sapi_phpa_read_post,
	sapi_phpa_read_cookies,
	sapi_phpa_register_variables,
	sapi_phpa_log_message,
	NULL, /* get_request_time */
	NULL, /* terminate_process */
	STANDARD_SAPI_MODULE_PROPERTIES
};

/* ---- process lifecycle ------------------------------------------------------------------- */

/* Node loads addons RTLD_LOCAL; PHP's shared extensions need libphp's symbols global. */
static void reopen_libphp_global(void)
{
	Dl_info info;
	if (dladdr((void *)php_module_startup, &info) && info.dli_fname) {
		dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
	}
}

static void build_ini(const char *extra, bool scripts)
{
	size_t a = sizeof(phpa_default_ini) - 1, w = scripts ? 0 : sizeof(phpa_worker_ini) - 1, b = extra ? strlen(extra) : 0;
	g_ini_entries = malloc(a + w + b + 2);
	memcpy(g_ini_entries, phpa_default_ini, a);
	if (w) memcpy(g_ini_entries + a, phpa_worker_ini, w);
	if (b) memcpy(g_ini_entries + a + w, extra, b);
	g_ini_entries[a + w + b] = '\n';
	g_ini_entries[a + w + b + 1] = '\0';
}

int phpa_php_module_startup(const phpa_config *config, char *err, size_t err_len)
{
	g_config = config;
	phpa_runtime_set_config(config);
	reopen_libphp_global();
	build_ini(config->ini_entries, config->mode == PHPA_MODE_SCRIPTS);
#ifdef ZTS
	/* Sized for our PHP threads (TSRM grows past it anyway); 8.2 has only the fixed-size call. */
#if PHP_VERSION_ID >= 80300
	php_tsrm_startup_ex(config->threads);
#else
	php_tsrm_startup();
#endif
	ZEND_TSRMLS_CACHE_UPDATE();
#endif
	zend_signal_startup();
	sapi_startup(&phpa_sapi_module);
	/* After sapi_startup(), which clears ini_entries; module startup copies the struct. */
	phpa_sapi_module.ini_entries = g_ini_entries;
	int rc = phpa_sapi_module.startup(&phpa_sapi_module);
	sapi_module.name = phpa_sapi_module.name; /* see PHP_MINIT(phpasync) */
	if (rc == FAILURE) {
		snprintf(err, err_len, "PHP module startup failed (see the log lines above)");
		sapi_shutdown();
		return -1;
	}
	phpa_guard_module_startup(config);
	phpa_stack_guard_module_startup();
	return 0;
}

void phpa_php_module_shutdown(void)
{
	phpa_guard_module_shutdown();
	php_module_shutdown();
	sapi_shutdown();
#ifdef ZTS
	tsrm_shutdown();
#endif
	free(g_ini_entries);
	g_ini_entries = NULL;
	phpa_sapi_module.ini_entries = NULL;
}

/* php_request_startup() takes SIGPROF for its timeout timer, which would kill `node
 * --cpu-prof` (and, left at its default action, the process): put back what was there,
 * ignoring the signal where nothing was. */
zend_result phpa_request_startup(void)
{
	struct sigaction prof;
	sigaction(SIGPROF, NULL, &prof);
	zend_result rc = php_request_startup();
	if (prof.sa_handler == SIG_DFL && !(prof.sa_flags & SA_SIGINFO)) prof.sa_handler = SIG_IGN;
	sigaction(SIGPROF, &prof, NULL);
	return rc;
}

/* ---- php-cli ----------------------------------------------------------------------------- */

static void register_std_stream(const char *name, const char *url, const char *mode)
{
	php_stream *s = php_stream_open_wrapper_ex(url, mode, 0, NULL, NULL);
	if (!s) return;
	s->flags |= PHP_STREAM_FLAG_NO_CLOSE;
	zend_constant c;
	php_stream_to_zval(s, &c.value);
	ZEND_CONSTANT_SET_FLAGS(&c, CONST_CS, 0);
	c.name = zend_string_init_interned(name, strlen(name), 0);
	zend_register_constant(&c);
}

/* -m: the modules and Zend extensions, as PHP's CLI lists them. */
static int cli_print_module(zval *el)
{
	zend_module_entry *module = Z_PTR_P(el);
	php_printf("%s\n", module->name);
	return ZEND_HASH_APPLY_KEEP;
}

static void cli_print_extension(zend_extension *ext)
{
	php_printf("%s\n", ext->name);
}

static int cli_compare_modules(Bucket *a, Bucket *b)
{
	return strcasecmp(((zend_module_entry *)Z_PTR(a->val))->name, ((zend_module_entry *)Z_PTR(b->val))->name);
}

static void cli_print_modules(void)
{
	HashTable sorted;
	zend_hash_init(&sorted, zend_hash_num_elements(&module_registry), NULL, NULL, 0);
	zend_hash_copy(&sorted, &module_registry, NULL);
	zend_hash_sort(&sorted, cli_compare_modules, 0);
	php_printf("[PHP Modules]\n");
	zend_hash_apply(&sorted, cli_print_module);
	zend_hash_destroy(&sorted);
	php_printf("\n[Zend Modules]\n");
	zend_llist_apply(&zend_extensions, (llist_apply_func_t)cli_print_extension);
	php_printf("\n");
}

static void cli_print_version(void)
{
	php_printf("PHP %s (cli) (%s)\nCopyright (c) The PHP Group\n%s", PHP_VERSION,
#ifdef ZTS
		"ZTS",
#else
		"NTS",
#endif
		get_zend_version());
}

int phpa_php_run_cli(const phpa_cli_run *run)
{
	static phpa_config cli_config;
	static const char *no_env[] = {NULL};
	cli_config.threads = 1;
	cli_config.env = no_env;
	cli_config.ini_entries = "register_argc_argv=1\ndisplay_errors=stderr\n";
	g_cli_mode = true;
	phpa_log_to_stderr(true);
	/* As PHP's own CLI: PHP_SAPI is "cli" (OPcache follows opcache.enable_cli), phpinfo() is
	 * text, and PHP_BINARY names an executable that runs this CLI again (Composer runs it). */
	phpa_sapi_module.name = "cli";
	phpa_sapi_module.phpinfo_as_text = 1;
	phpa_sapi_module.executable_location = (char *)run->binary;
	char err[256];
	int status = 255;
	if (phpa_php_module_startup(&cli_config, err, sizeof err) != 0) {
		fprintf(stderr, "phpasync php-cli: %s\n", err);
		status = 1;
		goto done;
	}
	SG(options) |= SAPI_OPTION_NO_CHDIR;
	SG(request_info).argc = run->argc;
	SG(request_info).argv = run->argv;
	SG(request_info).path_translated = run->mode == PHPA_CLI_SCRIPT ? run->argv[0] : NULL;
	if (phpa_request_startup() == SUCCESS) {
		register_std_stream("STDIN", "php://stdin", "rb");
		register_std_stream("STDOUT", "php://stdout", "wb");
		register_std_stream("STDERR", "php://stderr", "wb");
		status = 0;
		zend_file_handle fh;
		bool have_file = false;
		zend_try {
			switch (run->mode) {
			case PHPA_CLI_SCRIPT:
				zend_stream_init_filename(&fh, run->argv[0]);
				fh.primary_script = 1;
				CG(skip_shebang) = 1; /* a `#!/usr/bin/php` first line is not output */
				have_file = true;
				php_execute_script(&fh);
				status = EG(exit_status);
				break;
			case PHPA_CLI_CODE:
				zend_eval_string_ex((char *)run->code, NULL, "Command line code", 1);
				status = EG(exit_status);
				break;
			case PHPA_CLI_INFO:
				php_print_info(PHP_INFO_ALL & ~PHP_INFO_CREDITS);
				break;
			case PHPA_CLI_MODULES:
				cli_print_modules();
				break;
			case PHPA_CLI_VERSION:
				cli_print_version();
				break;
			}
		} zend_catch {
			status = EG(exit_status);
		} zend_end_try();
		if (have_file) zend_destroy_file_handle(&fh);
		php_request_shutdown(NULL);
	}
	SG(request_info).argc = 0;
	SG(request_info).argv = NULL;
	SG(request_info).path_translated = NULL;
	phpa_php_module_shutdown();
done:
	phpa_sapi_module.name = "phpasync";
	phpa_sapi_module.phpinfo_as_text = 0;
	phpa_sapi_module.executable_location = NULL;
	g_cli_mode = false;
	phpa_log_to_stderr(false);
	return status;
}
