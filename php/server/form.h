/*
 * Request bodies as PHP sees them: urlencoded and multipart/form-data parsing (form.c) and
 * the uploaded files they carry (uploads.c). php/server/ only.
 */
#ifndef PHPA_FORM_H
#define PHPA_FORM_H

#include "server/http.h"

/* The temp files of one request. Shared by the Request and its UploadedFile objects
 * (refcounted, owning PHP thread only); the Request's end removes every file not moved. */
typedef struct phpa_upload_set {
	uint32_t refs;
	uint64_t job_id; /* the request these files came with */
	struct phpa_upload_set *next_live, **prev_live; /* the thread's live sets, until ended */
	bool ended;      /* the request is over: its files are gone */
	uint32_t n, cap;
	char **paths;    /* malloc'd temp paths; NULL once moved (or never created) */
} phpa_upload_set;

phpa_upload_set *phpa_upload_set_new(uint64_t job_id);
/* move_uploaded_file()/is_uploaded_file() see the temp files of the calling request (MINIT). */
void phpa_uploads_hook_functions(void);
void phpa_upload_set_unref(phpa_upload_set *set);
/* Removes every temp file not moved away; later moveTo() calls throw. */
void phpa_upload_set_end(phpa_upload_set *set);

extern zend_class_entry *phpa_ce_uploaded_file;
void phpa_uploaded_file_init_class(zend_class_entry *ce);
/* A new UploadedFile in rv. tmp_path (may be NULL) joins the set, which removes it at the
 * request's end unless moveTo() moved it. */
void phpa_uploaded_file_new(zval *rv, phpa_upload_set *set, const char *name, size_t name_len, const char *type,
	size_t type_len, zend_long size, const char *tmp_path, zend_long error);

/* The effective max_multipart_body_parts (its -1 resolved as PHP does). */
zend_long phpa_form_max_parts(void);

/* application/x-www-form-urlencoded into arr (an initialised array), exactly as $_POST/$_GET. */
void phpa_form_parse_urlencoded(const char *data, size_t len, zval *arr);

/* multipart/form-data: fields into post (as $_POST), files into files (field => UploadedFile,
 * a list for repeated fields, arrays for bracket names). Returns false with an exception
 * thrown when the body is malformed, or has more parts than max_multipart_body_parts
 * (*too_many_parts set then). content_type is the whole header value. */
bool phpa_form_parse_multipart(const char *body, size_t len, const char *content_type, size_t ct_len, zval *post,
	zval *files, phpa_upload_set *set, bool *too_many_parts);

#endif
