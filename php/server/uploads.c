/*
 * FrankenPHP\UploadedFile and the per-request set of temp files behind it. A temp file lives
 * until the request ends (the scheduler drops its Request) unless moveTo() moved it away.
 */
#include "server/form.h"

#include <SAPI.h>
#include <errno.h>
#include <ext/spl/spl_exceptions.h>
#include <ext/standard/file.h>
#include <main/fopen_wrappers.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zend_exceptions.h>

/* ---- the set ------------------------------------------------------------------------------ */

/* This thread's sets whose request is not over: move_uploaded_file() looks its caller's up. */
static __thread phpa_upload_set *live_sets;

phpa_upload_set *phpa_upload_set_new(uint64_t job_id)
{
	phpa_upload_set *set = phpa_calloc(sizeof *set, "uploads");
	set->refs = 1;
	set->job_id = job_id;
	set->next_live = live_sets;
	if (live_sets) live_sets->prev_live = &set->next_live;
	set->prev_live = &live_sets;
	live_sets = set;
	return set;
}

void phpa_upload_set_end(phpa_upload_set *set)
{
	if (!set || set->ended) return;
	set->ended = true;
	*set->prev_live = set->next_live;
	if (set->next_live) set->next_live->prev_live = set->prev_live;
	set->next_live = NULL;
	set->prev_live = NULL;
	for (uint32_t i = 0; i < set->n; i++) {
		if (set->paths[i]) {
			unlink(set->paths[i]);
			free(set->paths[i]);
			set->paths[i] = NULL;
		}
	}
}

void phpa_upload_set_unref(phpa_upload_set *set)
{
	if (!set || --set->refs > 0) return;
	phpa_upload_set_end(set);
	free(set->paths);
	free(set);
}

static uint32_t set_add(phpa_upload_set *set, const char *path)
{
	if (set->n == set->cap) {
		uint32_t cap = set->cap ? set->cap * 2 : 4;
		set->paths = phpa_realloc_array(set->paths, cap, sizeof(char *), "uploads");
		set->cap = cap;
	}
	set->paths[set->n] = strdup(path);
	return set->n++;
}

/* ---- the class ---------------------------------------------------------------------------- */

typedef struct {
	phpa_upload_set *set; /* NULL: not created by phpasync */
	uint32_t slot;        /* index in set->paths; UINT32_MAX when there is no temp file */
	zend_string *name, *type, *tmp;
	zend_long size, error;
	bool moved;
	zend_object std;
} phpa_uploaded_file;

zend_class_entry *phpa_ce_uploaded_file;
static zend_object_handlers uf_handlers;

static inline phpa_uploaded_file *uf_from(zend_object *o)
{
	return (phpa_uploaded_file *)((char *)o - XtOffsetOf(phpa_uploaded_file, std));
}

static zend_object *uf_create(zend_class_entry *ce)
{
	phpa_uploaded_file *f = zend_object_alloc(sizeof(phpa_uploaded_file), ce);
	zend_object_std_init(&f->std, ce);
	f->std.handlers = &uf_handlers;
	f->slot = UINT32_MAX;
	return &f->std;
}

static void uf_free(zend_object *o)
{
	phpa_uploaded_file *f = uf_from(o);
	if (f->name) zend_string_release(f->name);
	if (f->type) zend_string_release(f->type);
	if (f->tmp) zend_string_release(f->tmp);
	phpa_upload_set_unref(f->set);
	zend_object_std_dtor(o);
}

void phpa_uploaded_file_init_class(zend_class_entry *ce)
{
	phpa_ce_uploaded_file = ce;
	ce->create_object = uf_create;
	memcpy(&uf_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
	uf_handlers.offset = XtOffsetOf(phpa_uploaded_file, std);
	uf_handlers.free_obj = uf_free;
	uf_handlers.clone_obj = NULL;
	phpa_uploads_hook_functions();
}

void phpa_uploaded_file_new(zval *rv, phpa_upload_set *set, const char *name, size_t name_len, const char *type,
	size_t type_len, zend_long size, const char *tmp_path, zend_long error)
{
	object_init_ex(rv, phpa_ce_uploaded_file);
	phpa_uploaded_file *f = uf_from(Z_OBJ_P(rv));
	f->set = set;
	set->refs++;
	f->name = zend_string_init(name, name_len, 0);
	f->type = zend_string_init(type, type_len, 0);
	f->size = size;
	f->error = error;
	if (tmp_path) {
		f->tmp = zend_string_init(tmp_path, strlen(tmp_path), 0);
		f->slot = set_add(set, tmp_path);
	} else {
		f->tmp = ZSTR_EMPTY_ALLOC();
	}
}

static phpa_uploaded_file *uf_checked(zval *this_zv)
{
	phpa_uploaded_file *f = uf_from(Z_OBJ_P(this_zv));
	if (!f->set) {
		zend_throw_error(NULL, "This FrankenPHP\\UploadedFile was not created by phpasync");
		return NULL;
	}
	return f;
}
#define UF_CHECKED(f) phpa_uploaded_file *f = uf_checked(ZEND_THIS); if (!f) RETURN_THROWS()

ZEND_METHOD(FrankenPHP_UploadedFile, getName)
{
	ZEND_PARSE_PARAMETERS_NONE();
	UF_CHECKED(f);
	RETURN_STR_COPY(f->name);
}

ZEND_METHOD(FrankenPHP_UploadedFile, getType)
{
	ZEND_PARSE_PARAMETERS_NONE();
	UF_CHECKED(f);
	RETURN_STR_COPY(f->type);
}

ZEND_METHOD(FrankenPHP_UploadedFile, getSize)
{
	ZEND_PARSE_PARAMETERS_NONE();
	UF_CHECKED(f);
	RETURN_LONG(f->size);
}

ZEND_METHOD(FrankenPHP_UploadedFile, getTmpName)
{
	ZEND_PARSE_PARAMETERS_NONE();
	UF_CHECKED(f);
	RETURN_STR_COPY(f->tmp);
}

ZEND_METHOD(FrankenPHP_UploadedFile, getError)
{
	ZEND_PARSE_PARAMETERS_NONE();
	UF_CHECKED(f);
	RETURN_LONG(f->error);
}

ZEND_METHOD(FrankenPHP_UploadedFile, moveTo)
{
	zend_string *path;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_PATH_STR(path)
	ZEND_PARSE_PARAMETERS_END();
	UF_CHECKED(f);
	if (ZSTR_LEN(path) == 0) {
		zend_argument_value_error(1, "must not be empty");
		RETURN_THROWS();
	}
	if (f->error != 0 || f->slot == UINT32_MAX) {
		zend_throw_error(NULL, "Cannot move \"%s\": it was not uploaded (error " ZEND_LONG_FMT ")", ZSTR_VAL(f->name),
			f->error);
		RETURN_THROWS();
	}
	if (f->moved) {
		zend_throw_error(NULL, "Cannot move \"%s\": it was moved already", ZSTR_VAL(f->name));
		RETURN_THROWS();
	}
	if (!f->set->ended && !f->set->paths[f->slot]) {
		zend_throw_error(NULL, "Cannot move \"%s\": move_uploaded_file() moved it already", ZSTR_VAL(f->name));
		RETURN_THROWS();
	}
	if (f->set->ended || !f->set->paths[f->slot]) {
		zend_throw_error(NULL, "Cannot move \"%s\": its request has ended and its temp file was removed",
			ZSTR_VAL(f->name));
		RETURN_THROWS();
	}
	if (php_check_open_basedir(ZSTR_VAL(path))) {
		zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Cannot move \"%s\" to %s: outside open_basedir",
			ZSTR_VAL(f->name), ZSTR_VAL(path));
		RETURN_THROWS();
	}
	const char *tmp = f->set->paths[f->slot];
	if (rename(tmp, ZSTR_VAL(path)) != 0) {
		int err = errno;
		/* Another filesystem: copy, then remove the temp file. */
		if (err != EXDEV || php_copy_file_ex(tmp, ZSTR_VAL(path), 0) != SUCCESS) {
			zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Cannot move \"%s\" to %s: %s", ZSTR_VAL(f->name),
				ZSTR_VAL(path), strerror(err));
			RETURN_THROWS();
		}
		unlink(tmp);
	}
	/* As move_uploaded_file(): temp files are 0600, the moved file follows the umask. */
	mode_t mask = umask(077);
	umask(mask);
	chmod(ZSTR_VAL(path), 0666 & ~mask);
	free(f->set->paths[f->slot]);
	f->set->paths[f->slot] = NULL;
	f->moved = true;
}


/* ---- move_uploaded_file() and is_uploaded_file() -------------------------------------------
 * PHP's own functions accept only paths in SG(rfc1867_uploaded_files), a per-thread table
 * meant for one request per thread. Here the coroutines of many requests interleave on one
 * thread, so a table filled for the whole request would show one request's files to every
 * other request of the thread. Instead the table is filled with the calling request's files
 * only for the duration of the call, and the previous table is put back before returning:
 * both functions are synchronous (plain-file rename/copy, no suspension point), so no other
 * coroutine can run while the table holds them. Files the call moved leave the request's set.
 */

typedef void (*handler_t)(INTERNAL_FUNCTION_PARAMETERS);
static handler_t orig_move_uploaded_file, orig_is_uploaded_file;

/* The request the running code works for: its own, or the one that spawned its coroutine. */
static phpa_upload_set *caller_set(void)
{
	phpa_coroutine *co = phpa_sched_current();
	uint64_t job = co ? co->scope_id : 0;
	if (job == 0) return NULL;
	for (phpa_upload_set *s = live_sets; s; s = s->next_live) {
		if (s->job_id == job) return s;
	}
	return NULL;
}

static void call_with_request_files(handler_t orig, INTERNAL_FUNCTION_PARAMETERS)
{
	if (phpa_runtime_scripts_mode()) {
		/* A classic script is the only request of its PHP request: PHP's own table is its. */
		orig(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	phpa_upload_set *set = caller_set();
	HashTable *saved = SG(rfc1867_uploaded_files);
	HashTable table;
	/* No destructor: the set owns the paths and removes them at the request's end. */
	zend_hash_init(&table, set ? set->n : 0, NULL, NULL, 0);
	if (set) {
		for (uint32_t i = 0; i < set->n; i++) {
			if (set->paths[i]) zend_hash_str_add_empty_element(&table, set->paths[i], strlen(set->paths[i]));
		}
	}
	SG(rfc1867_uploaded_files) = &table;
	/* A fatal error inside must not leave PHP's request shutdown a pointer to this frame. */
	zend_try {
		orig(INTERNAL_FUNCTION_PARAM_PASSTHRU);
	} zend_catch {
		SG(rfc1867_uploaded_files) = saved;
		zend_hash_destroy(&table);
		zend_bailout();
	} zend_end_try();
	SG(rfc1867_uploaded_files) = saved;
	/* move_uploaded_file() deletes what it moved from the table. */
	if (set) {
		for (uint32_t i = 0; i < set->n; i++) {
			if (set->paths[i] && !zend_hash_str_exists(&table, set->paths[i], strlen(set->paths[i]))) {
				free(set->paths[i]);
				set->paths[i] = NULL;
			}
		}
	}
	zend_hash_destroy(&table);
}

static void hook_move_uploaded_file(INTERNAL_FUNCTION_PARAMETERS)
{
	call_with_request_files(orig_move_uploaded_file, INTERNAL_FUNCTION_PARAM_PASSTHRU);
}

static void hook_is_uploaded_file(INTERNAL_FUNCTION_PARAMETERS)
{
	call_with_request_files(orig_is_uploaded_file, INTERNAL_FUNCTION_PARAM_PASSTHRU);
}

static handler_t replace(const char *name, handler_t h)
{
	zend_function *f = zend_hash_str_find_ptr(CG(function_table), name, strlen(name));
	if (!f || f->type != ZEND_INTERNAL_FUNCTION) return NULL;
	handler_t orig = f->internal_function.handler;
	f->internal_function.handler = h;
	return orig;
}

void phpa_uploads_hook_functions(void)
{
	orig_move_uploaded_file = replace("move_uploaded_file", hook_move_uploaded_file);
	orig_is_uploaded_file = replace("is_uploaded_file", hook_is_uploaded_file);
}
