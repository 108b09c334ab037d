/*
 * phpa_bridge.h — the whole contract between the Node addon (addon/, C++) and the
 * Zend-facing side (php/, C).
 *
 * Naming says where a function lives:
 *   phpa_php_*   implemented in php/ (C; may call Zend, may longjmp internally, never across
 *                this boundary: every phpa_php_* entry point catches its own bailouts);
 *   phpa_host_*  implemented in addon/ (C++ with C linkage; never calls Zend, never throws).
 * A thread index (0..threads-1) is the only handle that crosses; memory crossing is plain
 * malloc/free, never emalloc and never a refcount touched on a foreign thread.
 */
#ifndef PHPA_BRIDGE_H
#define PHPA_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- jobs: host -> PHP thread, through that thread's ring ------------------------------ */

enum phpa_job_kind {
	PHPA_JOB_REQUEST = 1, /* data = msgpack request envelope (see php/envelope.h) */
	PHPA_JOB_STOP = 2,    /* the shutdown sentinel: finish in-flight work, then exit */
};

typedef struct phpa_job {
	uint64_t id;   /* request id chosen by JS; echoed in every frame of the response */
	uint32_t kind; /* enum phpa_job_kind */
	uint32_t len;  /* bytes in data */
	char data[];   /* malloc'd together with the header; freed by the PHP side with free() */
} phpa_job;

/* ---- frames: PHP thread -> host, through the outbound queue ---------------------------- */

/* One piece of response body. In a frame the host owns the bytes: ptr is malloc'd (owner
 * NULL) or a block from phpa_host_body_alloc() (owner == PHPA_HOST_BLOCK), and the host frees
 * it (at once for a short chunk, which JS copies; when the socket is done with it for one of
 * at least copy_threshold bytes, which JS sends in place). PHP memory is never lent: a frame
 * may outlive its request and the interpreter (slow clients), and PHP's heap must neither
 * wait for it nor count it. (Inside php/, another owner is the PHP string a chunk still
 * references until end()/flush() copies it.) */
#define PHPA_HOST_BLOCK ((void *)1)
typedef struct phpa_chunk {
	const char *ptr;
	size_t len;
	void *owner;
} phpa_chunk;

enum phpa_frame_flags {
	PHPA_FRAME_HEAD = 1,  /* status and headers are present (first frame of a response) */
	PHPA_FRAME_END = 2,   /* last frame of the response */
	PHPA_FRAME_ABORT = 4, /* with END: the response failed after its head was sent (flush());
	                       * the host cuts the connection so the client sees it incomplete */
	PHPA_FRAME_UNSENT = 8, /* set by the host on a frame it hands back unwritten because the
	                        * connection is gone: later write()/flush() of that response throw */
};

/* Streaming (Response::flush()) and back-pressure.
 * A response is sent as one HEAD|END frame, or, once flush() was called, as a HEAD frame,
 * any number of body frames and an END frame, in order. Every frame that is not final carries
 * `stream` (an opaque pointer owned by the PHP side): it gives JS a release handle, and when
 * JS reports the frame written to the socket (or the connection gone) the frame comes back
 * through phpa_host_take_released(). phpa_php_frame_released() then subtracts the frame's
 * chunk lengths (the host has freed the bytes) from the stream's unsent count, waking the
 * coroutine that waits in flush()/write() for it to fall below the high-water mark. A frame handed back
 * with PHPA_FRAME_UNSENT tells the stream that the client has gone.
 * A HEAD frame whose status is 100..199 is informational (headers_send(103), Early Hints): its
 * status and headers only, never END, a body or a stream; the response's own head follows. */

typedef struct phpa_frame {
	uint64_t id;
	int thread;
	uint32_t flags;      /* enum phpa_frame_flags */
	int status;
	/* Headers as consecutive (u32 name length, name, u32 value length, value) records,
	 * malloc'd; NULL when there are none. Freed by the host after use. */
	char *headers;
	uint32_t header_count;
	uint32_t nchunks;
	void *stream;        /* non-NULL: report back when written (see above) */
	phpa_chunk chunks[]; /* malloc'd with the frame */
} phpa_frame;

/* ---- events: PHP thread -> host (lifecycle and logs) ----------------------------------- */

enum phpa_event_kind {
	PHPA_EVENT_READY = 1,  /* worker file ran and registered a handler */
	PHPA_EVENT_FAILED = 2, /* startup failed; message says why; the thread exits */
	PHPA_EVENT_LOG = 3,    /* a log line (level = PHPA_LOG_*) */
	PHPA_EVENT_EXITED = 4, /* the thread has shut PHP down and is about to return */
};

enum phpa_log_level {
	PHPA_LOG_DEBUG = 20,
	PHPA_LOG_INFO = 30,
	PHPA_LOG_WARN = 40,
	PHPA_LOG_ERROR = 50,
};

/* ---- configuration handed to the PHP side once --------------------------------------- */

/* What a PHP thread runs. */
enum phpa_thread_mode {
	PHPA_MODE_ASYNC_WORKER = 1,   /* worker file registers HttpServer::onRequest(); a coroutine per request */
	PHPA_MODE_CLASSIC_WORKER = 2, /* worker file loops on frankenphp_handle_request(); one request at a time */
	PHPA_MODE_SCRIPTS = 3,        /* no worker: each request runs the .php file it names under document_root */
};

typedef struct phpa_config {
	int threads;
	int mode;                  /* enum phpa_thread_mode, the same for every thread */
	const char *document_root; /* absolute path; a classic worker's site root or ""; "" in an async worker */
	uint32_t max_coroutines;   /* per-thread bound on in-flight coroutines */
	size_t copy_threshold;     /* write()s shorter than this are copied, longer ones referenced */
	const char *worker_file;   /* absolute path; "" in PHPA_MODE_SCRIPTS */
	const char *ini_entries;   /* "key=value\n" lines appended after phpasync's defaults */
	const char *const *env;    /* NULL-terminated "KEY=VALUE" list exposed through getenv()/$_SERVER */
	uint32_t request_timeout_ms; /* a handler running longer is interrupted and answered 504; 0 = none */
	uint64_t max_requests;     /* restart a thread's interpreter after this many requests; 0 = never */
	int max_consecutive_failures; /* worker file failures in a row after a restart before giving up; -1 = never */
} phpa_config;

/* ---- implemented in php/ --------------------------------------------------------------- */

/* Process-wide facts about the linked PHP (callable before any thread starts). */
const char *phpa_php_version(void);
int phpa_php_is_zts(void);

/* Start PHP's module (SAPI startup + module startup). Call once per process, on the thread
 * that will run PHP when PHP is NTS. Returns 0 or -1 with a message in err. */
int phpa_php_module_startup(const phpa_config *config, char *err, size_t err_len);
void phpa_php_module_shutdown(void);

/* Body of PHP thread `thread`: runs the worker file, then the scheduler until the sentinel
 * arrives and its requests are answered (it does not wait for clients to read the answers).
 * Reports READY/FAILED/EXITED via events. */
void phpa_php_thread_main(int thread);

/* A streamed frame came back from the host (phpa_host_take_released): settle its stream's
 * back-pressure count and free it. Owning PHP thread only. */
void phpa_php_frame_released(phpa_frame *frame);
/* Interrupt whatever PHP code thread `thread` runs at its next VM check (any thread may call
 * it: it only sets that thread's atomic EG(vm_interrupt)). Used after phpa_host cancels. */
void phpa_php_interrupt(int thread);

/* php-cli: what to run, as PHP's CLI takes it (SCRIPT FILE, -r CODE, -i, -m, -v). */
enum phpa_cli_mode {
	PHPA_CLI_SCRIPT = 0,
	PHPA_CLI_CODE = 1,
	PHPA_CLI_INFO = 2,
	PHPA_CLI_MODULES = 3,
	PHPA_CLI_VERSION = 4,
};
typedef struct phpa_cli_run {
	int mode;            /* enum phpa_cli_mode */
	const char *code;    /* CLI_CODE: the code, without <?php */
	const char *binary;  /* PHP_BINARY: an executable that runs PHP as this CLI; NULL: none */
	int argc;
	char **argv;         /* $argv; argv[0] is the script (CLI_CODE: "Standard input code") */
} phpa_cli_run;

/* Run PHP as the CLI would (argv, STDOUT/STDERR to the process, PHP_SAPI "cli"); returns the
 * exit status. Uses the calling thread; the module must not be started by anything else. */
int phpa_php_run_cli(const phpa_cli_run *run);

/* ---- implemented in addon/ ------------------------------------------------------------- */

/* Next job for `thread`, or NULL when its ring is empty. Never blocks. */
phpa_job *phpa_host_ring_pop(int thread);

/* The fd the reactor polls to learn that a job or a released buffer is waiting. */
int phpa_host_notifier_fd(int thread);

/* Park handshake. begin: announce parking and re-check for work after a full fence;
 * watch_ring=0 ignores queued jobs (the thread is at its coroutine bound and will not take
 * them); returns 0 when the caller may block on the notifier fd, 1 when work is already there
 * (the caller must not block). end: stop parking and consume the notifier's counter. */
int phpa_host_park_begin(int thread, int watch_ring);
void phpa_host_park_end(int thread);

/* A block for a frame's body, owned by the host once in a frame (see phpa_chunk); NULL when
 * out of memory. Any thread. */
char *phpa_host_body_alloc(size_t len);

/* Hand a finished frame to JS. Ownership of the frame moves to the host. */
void phpa_host_send_frame(phpa_frame *frame);

/* Streamed frames JS has finished with, to be handed back on this thread.
 * Moves up to `max` of them into out[] and returns how many; the caller passes each to
 * phpa_php_frame_released(). */
size_t phpa_host_take_released(int thread, phpa_frame **out, size_t max);

/* Lifecycle and log events. The message is copied. request_id is 0 when unrelated. */
void phpa_host_event(int thread, int kind, int level, uint64_t request_id, const char *msg, size_t len);

/* Request ids JS cancelled (the client went away) for `thread`, oldest first; moves up to
 * `max` into out[] and returns how many. */
size_t phpa_host_take_cancelled(int thread, uint64_t *out, size_t max);

/* Has JS asked this thread to stop (set together with the sentinel)? */
int phpa_host_stop_requested(int thread);

#ifdef __cplusplus
}
#endif

#endif /* PHPA_BRIDGE_H */
