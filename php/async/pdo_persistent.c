/*
 * PDO persistent connections in async workers: one connection per coroutine at a time.
 *
 * PHP's PDO::__construct looks up EG(persistent_list) under "PDO:DBH:DSN=<dsn>:<user>:<pass>"
 * and reuses the handle found there whenever its driver's liveness check (a ping for MySQL)
 * succeeds. In a classic SAPI only one request of a process runs at a time; here the
 * coroutine holding that handle may be suspended between two statements (inside a
 * transaction), the ping succeeds, and a second request shares the connection: it runs inside
 * the first one's transaction and rolls it back when its PDO object is freed.
 *
 * So, on the server's PHP threads, a persistent PDO::__construct runs with the entries it must
 * not take removed from the list for the duration of the call (which may suspend in the
 * connect or the ping): those whose handle a live PDO object holds (refcount > 1), and every
 * entry while another persistent constructor is in flight (it may have taken one and not yet
 * counted it: the liveness ping suspends between the lookup and the refcount increment).
 * Afterwards each removed entry goes back, unless the constructor registered a new handle
 * under the same key meanwhile: then the old one is surplus, and is closed now if nothing
 * holds it, or by its holder's last PDO object (its refcount then reaches zero).
 *
 * And when the ping of an idle handle fails (its last query was cut by a timeout or an abort),
 * PDO drops the list entry without freeing the handle (zend_list_close runs no persistent
 * destructor: about 70 KB each, until the process exits); reap_killed() frees it.
 */
#include "async/hooks.h"

#include <pthread.h>
#include <ext/pdo/php_pdo_driver.h>
#include <zend_list.h>

typedef void (*handler_t)(INTERNAL_FUNCTION_PARAMETERS);

/* Process-wide: PDO's class and its list entry type are registered once per process. */
static handler_t orig_ctor;
static int le_ppdo = -1;     /* "PDO persistent database": the list entry type of a handle */
static pthread_mutex_t patch_mu = PTHREAD_MUTEX_INITIALIZER;

/* Per PHP thread, as EG(persistent_list) is. */
static __thread dtor_func_t orig_plist_dtor;
static __thread uint32_t in_flight; /* persistent constructors running on this thread */

/* Entries out of the list whose handle may still be in a constructor's hands (taken, not yet
 * counted): released once no persistent constructor runs. malloc'd: they outlive requests. */
static __thread zend_resource **deferred;
static __thread uint32_t ndeferred, cap_deferred;

static void defer(zend_resource *res)
{
	if (ndeferred == cap_deferred) {
		cap_deferred = cap_deferred ? cap_deferred * 2 : 8;
		zend_resource **grown = realloc(deferred, cap_deferred * sizeof *deferred);
		if (!grown) zend_error_noreturn(E_ERROR, "phpasync: out of memory for PDO persistent handles");
		deferred = grown;
	}
	deferred[ndeferred++] = res;
}

typedef struct {
	zend_string *key;
	zend_resource *res;      /* still allocated: taken out of the hash without its destructor */
	pdo_dbh_t *dbh;
} hidden_entry;

/* EG(persistent_list)'s destructor. PDO registers a new handle with zend_hash_update, which
 * destroys the entry it replaces; PHP's destructor then closes and frees that handle even
 * while a PDO object of another coroutine still uses it (two persistent constructors that
 * both connected, for the same key). Here the list only drops its own reference; the holder's
 * last PDO object closes the connection when the refcount reaches zero. */
static void plist_dtor(zval *zv)
{
	zend_resource *res = Z_RES_P(zv);
	if (in_flight > 0 && (res->type == le_ppdo || res->type < 0)) {
		/* A constructor may be pinging its handle, or reap_killed() may still look at it. */
		defer(res);
		return;
	}
	if (res->type == le_ppdo && res->ptr) {
		if (((pdo_dbh_t *)res->ptr)->refcount > 1) {
			((pdo_dbh_t *)res->ptr)->refcount--;
			free(res);
			return;
		}
	}
	orig_plist_dtor(zv);
}

/* Releases the deferred entries; only while no persistent constructor runs. */
static void release_deferred(void)
{
	while (ndeferred > 0 && in_flight == 0) {
		zend_resource *res = deferred[--ndeferred];
		if (res->type != le_ppdo || !res->ptr) {
			/* A constructor found it dead and dropped it (zend_list_close: type -1). */
			free(res);
			continue;
		}
		/* Through the list's destructor: closed now if idle, else by its holder's last PDO
		 * object. The close may suspend (COM_QUIT); the loop re-checks in_flight after it. */
		zval zv;
		ZVAL_RES(&zv, res);
		plist_dtor(&zv);
	}
	if (ndeferred == 0 && deferred) { /* most of the time there is none: keep no array */
		free(deferred);
		deferred = NULL;
		cap_deferred = 0;
	}
}

static bool wants_persistent(zend_execute_data *execute_data)
{
	if (ZEND_CALL_NUM_ARGS(execute_data) < 4) return false;
	zval *opts = ZEND_CALL_ARG(execute_data, 4);
	ZVAL_DEREF(opts);
	if (Z_TYPE_P(opts) != IS_ARRAY) return false;
	zval *p = zend_hash_index_find(Z_ARRVAL_P(opts), PDO_ATTR_PERSISTENT);
	return p && zend_is_true(p);
}

/* Removes from EG(persistent_list) the PDO entries this constructor must not reuse. */
static uint32_t hide(hidden_entry **out)
{
	HashTable *list = &EG(persistent_list);
	uint32_t n = 0, cap = 0;
	hidden_entry *h = NULL;
	zend_string *key;
	zval *zv;
	ZEND_HASH_FOREACH_STR_KEY_VAL(list, key, zv) {
		zend_resource *res = Z_RES_P(zv);
		if (!key || res->type != le_ppdo || !res->ptr) continue;
		pdo_dbh_t *dbh = res->ptr;
		if (in_flight == 0 && dbh->refcount <= 1) continue; /* idle: the list's own reference */
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			h = erealloc(h, cap * sizeof *h);
		}
		h[n++] = (hidden_entry){zend_string_copy(key), res, dbh};
	} ZEND_HASH_FOREACH_END();
	if (n) {
		dtor_func_t dtor = list->pDestructor;
		list->pDestructor = NULL; /* keep the resources: they go back afterwards */
		for (uint32_t i = 0; i < n; i++) zend_hash_del(list, h[i].key);
		list->pDestructor = dtor;
	}
	*out = h;
	return n;
}

static void restore(hidden_entry *h, uint32_t n)
{
	HashTable *list = &EG(persistent_list);
	for (uint32_t i = 0; i < n; i++) {
		zend_resource *res = h[i].res;
		if (res->type == le_ppdo && !zend_hash_exists(list, h[i].key)) {
			zval zv;
			ZVAL_RES(&zv, res);
			zend_hash_add_new(list, h[i].key, &zv);
		} else {
			/* Dropped as dead meanwhile, or a newer handle has the key: this one is surplus. */
			defer(res);
		}
		zend_string_release(h[i].key);
	}
	if (h) efree(h);
}

/* The idle entries the constructor may take: only when no other persistent constructor runs
 * (otherwise hide() removed every entry), after hide(). */
static uint32_t candidates(hidden_entry **out)
{
	uint32_t n = 0, cap = 0;
	hidden_entry *c = NULL;
	zval *zv;
	ZEND_HASH_FOREACH_VAL(&EG(persistent_list), zv) {
		zend_resource *res = Z_RES_P(zv);
		if (res->type != le_ppdo || !res->ptr) continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			c = erealloc(c, cap * sizeof *c);
		}
		c[n++] = (hidden_entry){NULL, res, res->ptr};
	} ZEND_HASH_FOREACH_END();
	*out = c;
	return n;
}

/* A candidate the constructor found dead: PDO set its entry to type -1 and dropped the list's
 * reference, and nothing else can hold it (in-use handles were hidden), so its refcount is 0.
 * Every candidate's resource is still allocated: while in_flight > 0 plist_dtor defers them. */
static void reap_killed(hidden_entry *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (c[i].res->type >= 0 || c[i].dbh->refcount != 0) continue;
		c[i].dbh->refcount = 1; /* what PDO's persistent destructor expects */
		zval zv;
		ZVAL_NEW_PERSISTENT_RES(&zv, -1, c[i].dbh, le_ppdo);
		orig_plist_dtor(&zv); /* closes the handle, frees it and the temporary resource */
	}
	if (c) efree(c);
}

static void hooked_ctor(INTERNAL_FUNCTION_PARAMETERS)
{
	if (le_ppdo < 0 || !phpa_sched_running() || !wants_persistent(execute_data)) {
		orig_ctor(INTERNAL_FUNCTION_PARAM_PASSTHRU);
		return;
	}
	hidden_entry *h, *c = NULL;
	uint32_t n = hide(&h), nc = in_flight == 0 ? candidates(&c) : 0;
	in_flight++;
	zend_try {
		orig_ctor(INTERNAL_FUNCTION_PARAM_PASSTHRU);
	} zend_catch {
		if (c) efree(c);
		in_flight--;
		restore(h, n);
		zend_bailout();
	} zend_end_try();
	reap_killed(c, nc);
	in_flight--;
	restore(h, n);
	release_deferred();
}

/* At each interpreter start on a server thread, after every module's MINIT (PDO's class exists
 * then). Without PDO, nothing to do. */
void phpa_pdo_persistent_thread_init(void)
{
	in_flight = 0;
	zend_class_entry *ce = zend_hash_str_find_ptr(CG(class_table), "pdo", 3);
	if (!ce || !ce->constructor || ce->constructor->type != ZEND_INTERNAL_FUNCTION) return;
	int type = zend_fetch_list_dtor_id("PDO persistent database");
	if (type <= 0) return;
	pthread_mutex_lock(&patch_mu);
	le_ppdo = type;
	if (ce->constructor->internal_function.handler != hooked_ctor) {
		orig_ctor = ce->constructor->internal_function.handler;
		ce->constructor->internal_function.handler = hooked_ctor;
	}
	pthread_mutex_unlock(&patch_mu);
	if (EG(persistent_list).pDestructor != plist_dtor) {
		orig_plist_dtor = EG(persistent_list).pDestructor;
		EG(persistent_list).pDestructor = plist_dtor;
	}
}
