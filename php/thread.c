/*
 * The life of one PHP thread: start a PHP request that lasts as long as the worker, run the
 * worker file once, then the scheduler; after a fatal error, restart the interpreter and
 * serve on (requests still in the ring are not lost).
 */
#include "phpa_internal.h"

#include <errno.h>
#include <main/php_main.h>
#include <string.h>
#include <unistd.h>
#include <zend_exceptions.h>

__thread phpa_thread_state *phpa_ts;

/* Runs the worker file. Returns 0 when it registered a handler, else -1 with a message. */
static int run_worker_file(phpa_thread_state *ts, char *err, size_t err_len)
{
	const char *file = ts->config->worker_file;
	if (access(file, R_OK) != 0) {
		snprintf(err, err_len, "worker file %s cannot be read: %s", file, strerror(errno));
		return -1;
	}
	zend_file_handle fh;
	zend_stream_init_filename(&fh, file);
	fh.primary_script = 1;
	SG(request_info).path_translated = (char *)file;
	bool ok = false;
	zend_try {
		ok = php_execute_script(&fh);
	} zend_end_try();
	zend_destroy_file_handle(&fh);
	if (EG(exception)) zend_clear_exception();
	if (Z_ISUNDEF(ts->handler)) {
		if (PG(last_error_message)) {
			snprintf(err, err_len, "worker file %s failed: %s in %s:%d", file, ZSTR_VAL(PG(last_error_message)),
				PG(last_error_file) ? ZSTR_VAL(PG(last_error_file)) : "?", PG(last_error_lineno));
		} else if (!ok) {
			snprintf(err, err_len, "worker file %s failed (see the log lines above)", file);
		} else {
			snprintf(err, err_len,
				"worker file %s registered no handler: call FrankenPHP\\HttpServer::onRequest(callable) in it", file);
		}
		return -1;
	}
	return 0;
}

/* Before PHP's heap goes away, every string JS still sends from must come back. */
static void wait_for_outstanding(phpa_thread_state *ts)
{
	while (phpa_host_outstanding(ts->index) > 0) {
		phpa_scheduler_drain_released(ts);
		if (phpa_host_outstanding(ts->index) == 0) break;
		phpa_reactor_park(ts, false, 100);
	}
	phpa_scheduler_drain_released(ts);
}

void phpa_php_thread_main(int thread)
{
#ifdef ZTS
	ts_resource(0);
	ZEND_TSRMLS_CACHE_UPDATE();
#endif
	phpa_thread_state *ts = calloc(1, sizeof *ts);
	ts->index = thread;
	ts->config = phpa_current_config();
	ZVAL_UNDEF(&ts->handler);
	phpa_ts = ts;
	if (phpa_reactor_open(ts) != 0) {
		const char *m = "cannot create the thread's epoll instance";
		phpa_host_event(thread, PHPA_EVENT_FAILED, PHPA_LOG_ERROR, 0, m, strlen(m));
		goto done;
	}
	bool first = true;
	for (;;) {
		if (phpa_request_startup() == FAILURE) {
			const char *m = "php_request_startup() failed";
			phpa_host_event(thread, first ? PHPA_EVENT_FAILED : PHPA_EVENT_LOG, PHPA_LOG_ERROR, 0, m, strlen(m));
			break;
		}
		char err[2048];
		if (run_worker_file(ts, err, sizeof err) != 0) {
			zval_ptr_dtor(&ts->handler);
			ZVAL_UNDEF(&ts->handler);
			php_request_shutdown(NULL);
			/* Fails startup the first time; after a restart, issue #6 adds the back-off. */
			phpa_host_event(thread, first ? PHPA_EVENT_FAILED : PHPA_EVENT_LOG, PHPA_LOG_ERROR, 0, err, strlen(err));
			break;
		}
		if (first) phpa_host_event(thread, PHPA_EVENT_READY, PHPA_LOG_INFO, 0, "", 0);
		first = false;
		phpa_scheduler_init(ts);
		bool clean = phpa_scheduler_run(ts);
		wait_for_outstanding(ts);
		phpa_scheduler_destroy(ts, !clean);
		zval_ptr_dtor(&ts->handler);
		ZVAL_UNDEF(&ts->handler);
		php_request_shutdown(NULL);
		if (clean || ts->stopping) break;
		phpa_log(PHPA_LOG_WARN, 0, "PHP thread %d: restarting the interpreter after a fatal error", thread);
	}
done:
	phpa_reactor_close(ts);
	phpa_ts = NULL;
	free(ts);
#ifdef ZTS
	ts_free_thread();
#endif
}
