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
static __thread ini_item neutral_ini_inline[32];
static __thread ini_item *neutral_ini_big; /* emalloc'd past 32 entries, until leave */
#define neutral_ini (neutral_ini_big ? neutral_ini_big : neutral_ini_inline)
static __thread uint32_t neutral_ini_n;
/* Set while we re-apply values ourselves: max_execution_time must not move a deadline then. */
static __thread bool applying_ini;

static void snapshot_neutral_ini(void)
{
	neutral_ini_n = 0;
	HashTable *mod = EG(modified_ini_directives);
	if (!mod || zend_hash_num_elements(mod) == 0) return;
	/* Thread-local storage of its own: nothing to free when the thread ends. */
	if (zend_hash_num_elements(mod) > 32) neutral_ini_big = emalloc(zend_hash_num_elements(mod) * sizeof(ini_item));
	zend_ini_entry *e;
	ZEND_HASH_FOREACH_PTR(mod, e) {
		neutral_ini[neutral_ini_n].entry = e;
		neutral_ini[neutral_ini_n].value = e->value ? zend_string_copy(e->value) : NULL;
		neutral_ini_n++;
	} ZEND_HASH_FOREACH_END();
}

static void release_neutral_ini(void)
{
	for (uint32_t i = 0; i < neutral_ini_n; i++) {
		if (neutral_ini[i].value) zend_string_release(neutral_ini[i].value);
	}
	neutral_ini_n = 0;
	if (neutral_ini_big) efree(neutral_ini_big);
	neutral_ini_big = NULL;
}

static ini_item *neutral_ini_find(zend_ini_entry *e)
{
	for (uint32_t i = 0; i < neutral_ini_n; i++) {
		if (neutral_ini[i].entry == e) return &neutral_ini[i];
	}
	return NULL;
}

/* DEACTIVATE: what request shutdown uses to put values back; handlers then neither warn nor
 * arm timers (memory_limit that cannot be lowered yet stays where it is). */
static void ini_set_value(zend_string *name, zend_string *value)
{
	applying_ini = true;
	zend_alter_ini_entry_ex(name, value, ZEND_INI_ALL, ZEND_INI_STAGE_DEACTIVATE, 1);
	applying_ini = false;
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
	/* Entries the thread had changed: the request set another value or ini_restore()d them
	 * (put back first, so that afterwards every one of them is in `mod` again). */
	for (uint32_t i = 0; i < neutral_ini_n; i++) {
		zend_ini_entry *e = neutral_ini[i].entry;
		if (e->modified && e->value == neutral_ini[i].value) continue;
		remember_ini(ini, e, e->value);
		ini_set_value(e->name, neutral_ini[i].value);
	}
	HashTable *mod = EG(modified_ini_directives);
	if (mod && zend_hash_num_elements(mod) != neutral_ini_n) {
		/* Entries first changed by this request: restored after the walk (restoring removes
		 * them from `mod`). */
		zend_string *stack[8], **fresh = stack;
		uint32_t nfresh = 0, cap = 8;
		zend_ini_entry *e;
		ZEND_HASH_FOREACH_PTR(mod, e) {
			if (neutral_ini_find(e)) continue;
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
		applying_ini = true;
		for (uint32_t i = 0; i < nfresh; i++) zend_restore_ini_entry(fresh[i], ZEND_INI_STAGE_DEACTIVATE);
		applying_ini = false;
		if (fresh != stack) efree(fresh);
	}
	release_neutral_ini();
}

void phpa_request_ini_enter(HashTable *ini)
{
	snapshot_neutral_ini();
	if (!ini) return;
	zend_string *name;
	zval *v;
	ZEND_HASH_FOREACH_STR_KEY_VAL(ini, name, v) {
		if (Z_TYPE_P(v) == IS_STRING) {
			ini_set_value(name, Z_STR_P(v));
		} else {
			applying_ini = true;
			zend_restore_ini_entry(name, ZEND_INI_STAGE_DEACTIVATE);
			applying_ini = false;
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
	neutral_ini_n = 0; /* its references (and an emalloc'd array) went with the heap */
	neutral_ini_big = NULL;
}

bool phpa_request_ini_applying(void) { return applying_ini; }
