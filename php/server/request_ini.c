/*
 * The ini entries a request changed (ini_set(), set_time_limit(), error_reporting(), ...):
 * put back to the thread's values when the request is left, re-applied when it is entered, so
 * the changes are the request's and end with it. memory_limit is one heap's limit for the whole
 * thread: a request that raised it and allocated keeps it raised until its memory is freed.
 */
#include "server/request_state.h"

#include <zend_ini.h>

/* ini entries modified in the neutral state, with their values (referenced), taken at enter. */
typedef struct {
	zend_ini_entry *entry;
	zend_string *value;
} ini_item;
/* One thread-local struct, its address taken once per function (each separate thread-local
 * costs a __tls_get_addr() call in a shared object). */
typedef struct {
	ini_item inline_items[32];
	ini_item *big;  /* emalloc'd past 32 entries, until leave */
	uint32_t n;
	/* Set while we re-apply values ourselves: max_execution_time must not move a deadline then. */
	bool applying;
} ini_state;
static __thread ini_state ist;

/* &ist, taken once: GCC would otherwise recompute a thread-local's address (another
 * __tls_get_addr() call) after every call in the function; the empty asm makes it opaque. */
static inline ini_state *istate(void)
{
	ini_state *t = &ist;
	__asm__("" : "+r"(t));
	return t;
}
#define neutral_ini (t->big ? t->big : t->inline_items)

static void snapshot_neutral_ini(ini_state *t)
{
	t->n = 0;
	HashTable *mod = EG(modified_ini_directives);
	if (!mod || zend_hash_num_elements(mod) == 0) return;
	/* Thread-local storage of its own: nothing to free when the thread ends. */
	if (zend_hash_num_elements(mod) > 32) t->big = emalloc(zend_hash_num_elements(mod) * sizeof(ini_item));
	zend_ini_entry *e;
	ZEND_HASH_FOREACH_PTR(mod, e) {
		neutral_ini[t->n].entry = e;
		neutral_ini[t->n].value = e->value ? zend_string_copy(e->value) : NULL;
		t->n++;
	} ZEND_HASH_FOREACH_END();
}

static void release_neutral_ini(ini_state *t)
{
	for (uint32_t i = 0; i < t->n; i++) {
		if (neutral_ini[i].value) zend_string_release(neutral_ini[i].value);
	}
	t->n = 0;
	if (t->big) efree(t->big);
	t->big = NULL;
}

static ini_item *neutral_ini_find(ini_state *t, zend_ini_entry *e)
{
	for (uint32_t i = 0; i < t->n; i++) {
		if (neutral_ini[i].entry == e) return &neutral_ini[i];
	}
	return NULL;
}

/* DEACTIVATE: what request shutdown uses to put values back; handlers then neither warn nor
 * arm timers (memory_limit that cannot be lowered yet stays where it is). */
static void ini_set_value(ini_state *t, zend_string *name, zend_string *value)
{
	t->applying = true;
	zend_alter_ini_entry_ex(name, value, ZEND_INI_ALL, ZEND_INI_STAGE_DEACTIVATE, 1);
	t->applying = false;
}

static void remember_ini(HashTable **ini, zend_ini_entry *e, zend_string *value)
{
	if (!*ini) {
		ALLOC_HASHTABLE(*ini);
		zend_hash_init(*ini, 4, NULL, ZVAL_PTR_DTOR, 0);
	}
	zval v;
	if (value) ZVAL_STR_COPY(&v, value);
	else ZVAL_NULL(&v);
	zend_hash_update(*ini, e->name, &v);
}

void phpa_request_ini_leave(HashTable **ini)
{
	ini_state *t = istate();
	/* Entries the thread had changed: the request set another value or ini_restore()d them
	 * (put back first, so that afterwards every one of them is in `mod` again). */
	for (uint32_t i = 0; i < t->n; i++) {
		zend_ini_entry *e = neutral_ini[i].entry;
		if (e->modified && e->value == neutral_ini[i].value) continue;
		remember_ini(ini, e, e->value);
		ini_set_value(t, e->name, neutral_ini[i].value);
	}
	HashTable *mod = EG(modified_ini_directives);
	if (mod && zend_hash_num_elements(mod) != t->n) {
		/* Entries first changed by this request: restored after the walk (restoring removes
		 * them from `mod`). */
		zend_string *stack[8], **fresh = stack;
		uint32_t nfresh = 0, cap = 8;
		zend_ini_entry *e;
		ZEND_HASH_FOREACH_PTR(mod, e) {
			if (neutral_ini_find(t, e)) continue;
			remember_ini(ini, e, e->value);
			if (nfresh == cap) {
				cap *= 2;
				zend_string **p = emalloc(cap * sizeof *p);
				memcpy(p, fresh, nfresh * sizeof *p);
				if (fresh != stack) efree(fresh);
				fresh = p;
			}
			fresh[nfresh++] = e->name;
		} ZEND_HASH_FOREACH_END();
		t->applying = true;
		for (uint32_t i = 0; i < nfresh; i++) zend_restore_ini_entry(fresh[i], ZEND_INI_STAGE_DEACTIVATE);
		t->applying = false;
		if (fresh != stack) efree(fresh);
	}
	release_neutral_ini(t);
}

void phpa_request_ini_enter(HashTable *ini)
{
	ini_state *t = istate();
	snapshot_neutral_ini(t);
	if (!ini) return;
	zend_string *name;
	zval *v;
	ZEND_HASH_FOREACH_STR_KEY_VAL(ini, name, v) {
		if (Z_TYPE_P(v) == IS_STRING) {
			ini_set_value(t, name, Z_STR_P(v));
		} else {
			t->applying = true;
			zend_restore_ini_entry(name, ZEND_INI_STAGE_DEACTIVATE);
			t->applying = false;
		}
	} ZEND_HASH_FOREACH_END();
}

void phpa_request_ini_free(HashTable *ini)
{
	if (!ini) return;
	zend_hash_destroy(ini);
	FREE_HASHTABLE(ini);
}

void phpa_request_ini_bailout(void)
{
	ist.n = 0; /* its references (and an emalloc'd array) went with the heap */
	ist.big = NULL;
}

bool phpa_request_ini_applying(void) { return ist.applying; }
