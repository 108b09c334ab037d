/*
 * The life of one PHP thread: start a PHP request that lasts as long as the worker, run the
 * worker file once, then the scheduler; after a fatal error, restart the interpreter and
 * serve on (requests still in the ring are not lost).
 */
#include "embed/embed.h"

#include <errno.h>
#include <main/php_main.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zend_exceptions.h>
#include <zend_signal.h>

/* Runs the worker file. Returns 0 when it registered a handler, else -1 with a message. */
static int run_worker_file(char *err, size_t err_len)
{
	const char *file = phpa_runtime_config()->worker_file;
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
	if (phpa_stack_guard_report()) {
		snprintf(err, err_len, "worker file %s failed: stack overflow (see the log line above)", file);
		return -1;
	}
	const bool classic = phpa_runtime_config()->mode == PHPA_MODE_CLASSIC_WORKER;
	if (classic ? !phpa_classic_looped() : !phpa_worker_has_handler()) {
		if (PG(last_error_message)) {
			snprintf(err, err_len, "worker file %s failed: %s in %s:%d", file, ZSTR_VAL(PG(last_error_message)),
				PG(last_error_file) ? ZSTR_VAL(PG(last_error_file)) : "?", PG(last_error_lineno));
		} else if (!ok) {
			snprintf(err, err_len, "worker file %s failed (see the log lines above)", file);
		} else if (classic) {
			snprintf(err, err_len,
				"worker file %s returned without calling frankenphp_handle_request(): a classic worker loops on it "
				"(or add `async` to the worker block for an async worker)", file);
		} else {
			snprintf(err, err_len,
				"worker file %s registered no handler: call FrankenPHP\\HttpServer::onRequest(callable) in it", file);
		}
		return -1;
	}
	return 0;
}

/* Sleeps up to ms unless the thread is asked to stop. Returns true when it must stop. */
static bool backoff_sleep(int thread, uint32_t ms)
{
	struct timespec until, now;
	clock_gettime(CLOCK_MONOTONIC, &until);
	uint64_t end = (uint64_t)until.tv_sec * 1000 + (uint64_t)until.tv_nsec / 1000000 + ms;
	for (;;) {
		if (phpa_host_stop_requested(thread)) return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t t = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
		if (t >= end) return false;
		/* watch_ring=0: queued requests wait for the restart; the stop signal still wakes us. */
		phpa_reactor_park(false, (int)(end - t));
	}
}

/* Back-off between failed restarts: 100 ms, doubling, at most 5 s. */
static uint32_t backoff_ms(int failures)
{
	uint32_t ms = 100;
	for (int i = 1; i < failures && ms < 5000; i++) ms *= 2;
	return ms < 5000 ? ms : 5000;
}

void phpa_php_thread_main(int thread)
{
#ifdef ZTS
	/* This thread's copy of every module's globals, made by their constructors: the MINIT
	 * settings made on thread 0 are not in it, so repeat those that are per thread. */
	ts_resource(0);
	ZEND_TSRMLS_CACHE_UPDATE();
#ifdef ZEND_SIGNALS
	SIGG(reset) = 0; /* as in PHP_MINIT(phpasync): signal handlers belong to Node */
#endif
#endif
	phpa_runtime_thread_enter(thread);
	phpa_stack_guard_thread_start();
	const bool classic = phpa_runtime_config()->mode == PHPA_MODE_CLASSIC_WORKER;
	if (phpa_reactor_open() != 0) {
		const char *m = "cannot create the thread's epoll instance";
		phpa_host_event(thread, PHPA_EVENT_FAILED, PHPA_LOG_ERROR, 0, m, strlen(m));
		goto done;
	}
	if (phpa_runtime_config()->mode == PHPA_MODE_SCRIPTS) {
		/* No worker: a whole PHP request per HTTP request (server/scripts.c). */
		phpa_scripts_thread_main(thread, phpa_request_startup);
		phpa_reactor_close();
		goto left;
	}
	/* A worker file runs in its own directory and a handler may chdir(): neither may move Node's. */
	if (!classic) phpa_own_working_directory("async workers");
	bool first = true;
	int failures = 0; /* worker file failures in a row after a restart */
	const int max_failures = phpa_runtime_config()->max_consecutive_failures;
	for (;;) {
		phpa_stack_guard_report(); /* one caught during the last shutdown is not this start's */
		phpa_worker_thread_start();
		if (phpa_request_startup() == FAILURE) {
			const char *m = "php_request_startup() failed";
			phpa_host_event(thread, PHPA_EVENT_FAILED, PHPA_LOG_ERROR, 0, m, strlen(m));
			break;
		}
		/* A classic worker file serves its requests while it runs (classic_worker.c). */
		if (classic) phpa_classic_begin(first);
		char err[2048];
		if (run_worker_file(err, sizeof err) != 0) {
			if (classic) phpa_worker_shutdown(phpa_guard_fatal());
			phpa_worker_drop_handler();
			php_request_shutdown(NULL);
			if (first) {
				phpa_host_event(thread, PHPA_EVENT_FAILED, PHPA_LOG_ERROR, 0, err, strlen(err));
				break;
			}
			/* After a restart: back off and retry, up to max_consecutive_failures in a row.
			 * Requests stay in the ring meanwhile (JS answers 503 once it is full). */
			failures++;
			if (max_failures >= 0 && failures >= max_failures) {
				char m[2300];
				int n = snprintf(m, sizeof m,
					"PHP thread %d: the worker file failed %d time%s in a row after a restart "
					"(max_consecutive_failures %d): giving up. Last error: %s",
					thread, failures, failures == 1 ? "" : "s", max_failures, err);
				phpa_host_event(thread, PHPA_EVENT_FAILED, PHPA_LOG_ERROR, 0, m, n < 0 ? 0 : strnlen(m, sizeof m));
				break;
			}
			uint32_t wait = backoff_ms(failures);
			phpa_log(PHPA_LOG_ERROR, 0, "PHP thread %d: the worker file failed after a restart (%d in a row%s): %s; retrying in %u ms",
				thread, failures, max_failures >= 0 ? "" : ", no limit", err, wait);
			if (backoff_sleep(thread, wait)) break;
			continue;
		}
		if (first && !classic) phpa_host_event(thread, PHPA_EVENT_READY, PHPA_LOG_INFO, 0, "", 0);
		else if (failures > 0) phpa_log(PHPA_LOG_INFO, 0, "PHP thread %d: the worker file started again after %d failure%s", thread, failures, failures == 1 ? "" : "s");
		first = false;
		failures = 0;
		phpa_worker_outcome run;
		if (classic) phpa_classic_outcome(&run);
		else phpa_worker_run(&run);
		if (!run.clean) phpa_stack_guard_report(); /* an overflow on the thread's own stack */
		phpa_worker_shutdown(!run.clean);
		php_request_shutdown(NULL);
		/* The run ends clean only at the sentinel or when recycling; else a fatal error ended it. */
		if (run.stopping) break;
		if (run.clean && run.after_oom) {
			phpa_log(PHPA_LOG_INFO, 0, "PHP thread %d: restarting the interpreter after a request ran out of memory", thread);
		} else if (run.clean && run.recycling) {
			phpa_log(PHPA_LOG_INFO, 0, "PHP thread %d: restarting the interpreter after %llu requests (max_requests)", thread,
				(unsigned long long)run.served);
		} else if (run.clean) {
			/* A classic worker file that ended its loop itself (as Symfony Runtime's does after N requests). */
			phpa_log(PHPA_LOG_INFO, 0, "PHP thread %d: the worker file returned after %llu requests: running it again", thread,
				(unsigned long long)run.served);
		} else {
			phpa_log(PHPA_LOG_WARN, 0, "PHP thread %d: restarting the interpreter after a fatal error", thread);
		}
	}
done:
	phpa_worker_thread_stop();
	phpa_reactor_close();
left:
	phpa_stack_guard_thread_stop();
	phpa_runtime_thread_leave();
#ifdef ZTS
	/* Thread 0 started the module and shuts it down after every thread is done, with its
	 * globals: tsrm_shutdown() frees them there. */
	if (thread != 0) ts_free_thread();
#endif
}
