/*
 * Form bodies: application/x-www-form-urlencoded through PHP's own parser (the one behind
 * $_GET/$_POST: brackets, `+`, %XX, max_input_vars), and multipart/form-data through a parser
 * of our own, because PHP's rfc1867 handler reads from the SAPI and keeps its temp files
 * until the PHP request ends (for a worker: never). Field names still go through
 * php_register_variable_ex(), so `a[]`, `a[b]` and name mangling are exactly $_POST's.
 */
#include "server/form.h"

#include <ext/spl/spl_exceptions.h>
#include <main/php_open_temporary_file.h>
#include <main/php_variables.h>
#include <unistd.h>
#include <zend_exceptions.h>
#include <zend_smart_str.h>

void phpa_form_parse_urlencoded(const char *data, size_t len, zval *arr)
{
	if (len == 0) return;
	/* treat_data(PARSE_STRING) takes ownership of the estrndup'd copy. */
	sapi_module.treat_data(PARSE_STRING, estrndup(data, len), arr);
}

static bool malformed(const char *why)
{
	zend_throw_exception_ex(spl_ce_UnexpectedValueException, 0, "Malformed multipart/form-data body: %s", why);
	return false;
}

static bool is_ws(char c) { return c == ' ' || c == '\t'; }

/* Finds parameter `want` (case-insensitive) in "type; a=b; c=\"d\"" starting after the first
 * ';'. The value is unquoted into out (emalloc'd, NUL-terminated; *out_len its length).
 * Only \" and \\ are escapes inside quotes, so Windows paths keep their backslashes. */
static bool find_param(const char *s, size_t len, const char *want, char **out, size_t *out_len)
{
	const char *p = memchr(s, ';', len), *end = s + len;
	size_t wlen = strlen(want);
	while (p && p < end) {
		p++; /* past ';' */
		while (p < end && is_ws(*p)) p++;
		const char *k = p;
		while (p < end && *p != '=' && *p != ';') p++;
		const char *kend = p;
		while (kend > k && is_ws(kend[-1])) kend--;
		if (p >= end || *p == ';') continue;
		p++; /* past '=' */
		while (p < end && is_ws(*p)) p++;
		smart_str v = {0};
		if (p < end && *p == '"') {
			p++;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\')) p++;
				smart_str_appendc(&v, *p);
				p++;
			}
			if (p < end) p++; /* closing quote */
			while (p < end && *p != ';') p++;
		} else {
			const char *vs = p;
			while (p < end && *p != ';') p++;
			const char *ve = p;
			while (ve > vs && is_ws(ve[-1])) ve--;
			smart_str_appendl(&v, vs, ve - vs);
		}
		if ((size_t)(kend - k) == wlen && zend_binary_strncasecmp(k, wlen, want, wlen, wlen) == 0) {
			smart_str_0(&v);
			*out_len = v.s ? ZSTR_LEN(v.s) : 0;
			*out = estrndup(v.s ? ZSTR_VAL(v.s) : "", *out_len);
			smart_str_free(&v);
			return true;
		}
		smart_str_free(&v);
		if (p >= end) break;
	}
	return false;
}

/* field => UploadedFile; a repeated plain name becomes a list; bracket names as $_FILES. */
static void register_file(zval *files, const char *name, zval *uf)
{
	if (strchr(name, '[')) {
		php_register_variable_ex(name, uf, files); /* consumes uf */
		return;
	}
	/* The key php_register_variable_ex() would use: leading spaces dropped, ' ' and '.' -> '_'. */
	while (*name == ' ') name++;
	size_t n = strlen(name);
	if (n == 0) {
		zval_ptr_dtor(uf);
		return;
	}
	char *key = estrndup(name, n);
	for (size_t i = 0; i < n; i++) {
		if (key[i] == ' ' || key[i] == '.') key[i] = '_';
	}
	zval *prev = zend_symtable_str_find(Z_ARRVAL_P(files), key, n);
	if (!prev) {
		zend_symtable_str_update(Z_ARRVAL_P(files), key, n, uf);
	} else if (Z_TYPE_P(prev) == IS_ARRAY) {
		SEPARATE_ARRAY(prev);
		add_next_index_zval(prev, uf);
	} else {
		zval list;
		array_init(&list);
		add_next_index_zval(&list, prev); /* moves the first file into the list */
		add_next_index_zval(&list, uf);
		ZVAL_COPY_VALUE(prev, &list);
	}
	efree(key);
}

static const char *basename_of(const char *s, size_t len, size_t *out_len)
{
	const char *b = s;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/' || s[i] == '\\') b = s + i + 1;
	}
	*out_len = len - (size_t)(b - s);
	return b;
}

typedef struct {
	zend_long max_file_size; /* the MAX_FILE_SIZE form field, 0 when absent */
	zend_long files_seen;
	zend_long vars;
	bool files_warned;
	bool vars_warned; /* one warning per body, however many fields are dropped */
} parse_state;

/* max_multipart_body_parts as PHP reads it (-1: max_input_vars + max_file_uploads). A PHP
 * without that ini entry (before 8.1.17/8.2.4) gets the same default. */
zend_long phpa_form_max_parts(void)
{
	zend_ini_entry *e = zend_hash_str_find_ptr(EG(ini_directives), "max_multipart_body_parts",
		sizeof("max_multipart_body_parts") - 1);
	zend_long n = e && e->value ? ZEND_STRTOL(ZSTR_VAL(e->value), NULL, 10) : -1;
	if (n < 0) n = PG(max_input_vars) + INI_INT("max_file_uploads");
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* An RFC 8187 ext-value (filename*=charset'lang'%XX...) decoded to UTF-8 into out
 * (emalloc'd). Only UTF-8 and ISO-8859-1, the two charsets RFC 8187 requires; false for
 * anything else, a bad escape or an encoded NUL (a name PHP's file functions would cut or
 * refuse), and the plain filename= is used instead (RFC 6266 4.3). */
static bool decode_ext_value(const char *v, size_t len, char **out, size_t *out_len)
{
	const char *q1 = memchr(v, '\'', len);
	if (!q1) return false;
	const char *q2 = memchr(q1 + 1, '\'', v + len - q1 - 1);
	if (!q2) return false;
	size_t cs_len = q1 - v;
	bool utf8 = cs_len == 5 && zend_binary_strncasecmp(v, 5, "utf-8", 5, 5) == 0;
	bool latin1 = cs_len == 10 && zend_binary_strncasecmp(v, 10, "iso-8859-1", 10, 10) == 0;
	if (!utf8 && !latin1) return false;
	smart_str s = {0};
	for (const char *p = q2 + 1, *end = v + len; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '%') {
			int h = end - p > 2 ? hexval(p[1]) : -1, l = end - p > 2 ? hexval(p[2]) : -1;
			if (h < 0 || l < 0 || (h | l) == 0) {
				smart_str_free(&s);
				return false;
			}
			c = (unsigned char)(h * 16 + l);
			p += 2;
		}
		if (latin1 && c >= 0x80) {
			smart_str_appendc(&s, (char)(0xC0 | (c >> 6)));
			smart_str_appendc(&s, (char)(0x80 | (c & 0x3F)));
		} else {
			smart_str_appendc(&s, (char)c);
		}
	}
	*out_len = s.s ? ZSTR_LEN(s.s) : 0;
	*out = estrndup(s.s ? ZSTR_VAL(s.s) : "", *out_len);
	smart_str_free(&s);
	return true;
}

static void handle_file(parse_state *st, zval *files, phpa_upload_set *set, const char *name, const char *filename,
	size_t filename_len, const char *type, size_t type_len, const char *content, size_t clen)
{
	if (!PG(file_uploads)) return;
	zend_long max_uploads = INI_INT("max_file_uploads");
	if (++st->files_seen > max_uploads) {
		if (!st->files_warned) {
			php_error_docref(NULL, E_WARNING, "Maximum number of allowable file uploads (" ZEND_LONG_FMT ") has been exceeded", max_uploads);
			st->files_warned = true;
		}
		return;
	}
	size_t base_len;
	const char *base = basename_of(filename, filename_len, &base_len);
	zend_long error = 0, size = (zend_long)clen;
	char *tmp_path = NULL;
	zend_string *opened = NULL;
	if (base_len == 0) {
		error = 4; /* UPLOAD_ERR_NO_FILE */
	} else if (PG(upload_max_filesize) > 0 && (zend_long)clen > PG(upload_max_filesize)) {
		error = 1; /* UPLOAD_ERR_INI_SIZE */
	} else if (st->max_file_size > 0 && (zend_long)clen > st->max_file_size) {
		error = 2; /* UPLOAD_ERR_FORM_SIZE */
	} else {
		int fd = php_open_temporary_fd_ex(PG(upload_tmp_dir), "php", &opened, PHP_TMP_FILE_OPEN_BASEDIR_CHECK_ON_FALLBACK);
		if (fd == -1) {
			error = 6; /* UPLOAD_ERR_NO_TMP_DIR */
		} else {
			size_t done = 0;
			while (done < clen) {
				ssize_t w = write(fd, content + done, clen - done);
				if (w <= 0) break;
				done += (size_t)w;
			}
			close(fd);
			if (done < clen) {
				error = 7; /* UPLOAD_ERR_CANT_WRITE */
				unlink(ZSTR_VAL(opened));
			} else {
				tmp_path = ZSTR_VAL(opened);
			}
		}
	}
	if (error) size = 0;
	zval uf;
	phpa_uploaded_file_new(&uf, set, base, base_len, type, type_len, size, tmp_path, error);
	if (opened) zend_string_release(opened);
	register_file(files, name, &uf);
}

bool phpa_form_parse_multipart(const char *body, size_t len, const char *content_type, size_t ct_len, zval *post,
	zval *files, phpa_upload_set *set, bool *too_many_parts)
{
	*too_many_parts = false;
	zend_long parts_left = phpa_form_max_parts();
	char *boundary = NULL;
	size_t blen = 0;
	if (!find_param(content_type, ct_len, "boundary", &boundary, &blen) || blen == 0 || blen > 200) {
		if (boundary) efree(boundary);
		return malformed("the Content-Type has no boundary parameter");
	}
	/* "\r\n--" + boundary: every delimiter but a first one at the very start. */
	size_t dlen = blen + 4;
	char *delim = emalloc(dlen + 1);
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen);
	delim[dlen] = '\0';
	efree(boundary);

	const char *end = body + len, *p;
	bool ok = false;
	parse_state st = {0};
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
		p = body + dlen - 2;
	} else {
		const char *q = len >= dlen ? zend_memnstr(body, delim, dlen, end) : NULL;
		if (!q) {
			malformed("no boundary line");
			goto done;
		}
		p = q + dlen;
	}
	for (;;) {
		/* p is right after a delimiter. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
			ok = true;
			break;
		}
		while (p < end && is_ws(*p)) p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
			malformed("a boundary line is not followed by CRLF");
			goto done;
		}
		p += 2;
		/* As PHP's rfc1867: every part counts, named or not, before its headers are read. */
		if (parts_left-- <= 0) {
			*too_many_parts = true;
			zend_throw_exception_ex(spl_ce_OverflowException, 413,
				"Multipart body parts limit exceeded " ZEND_LONG_FMT ". To increase the limit change "
				"max_multipart_body_parts in php.ini.", phpa_form_max_parts());
			goto done;
		}
		/* Part headers, up to an empty line. */
		char *name = NULL, *filename = NULL;
		size_t name_len = 0, filename_len = 0;
		const char *type = "";
		size_t type_len = 0;
		bool has_filename = false;
		for (;;) {
			const char *eol = zend_memnstr(p, "\r\n", 2, end);
			if (!eol) {
				if (name) efree(name);
				if (filename) efree(filename);
				malformed("a part's headers do not end");
				goto done;
			}
			if (eol == p) {
				p += 2;
				break;
			}
			const char *colon = memchr(p, ':', eol - p);
			if (colon) {
				size_t hn = colon - p;
				const char *v = colon + 1;
				while (v < eol && is_ws(*v)) v++;
				const char *ve = eol;
				while (ve > v && is_ws(ve[-1])) ve--;
				if (hn == 19 && zend_binary_strncasecmp(p, hn, "content-disposition", hn, hn) == 0) {
					if (!name) find_param(v, ve - v, "name", &name, &name_len);
					char *ext;
					size_t ext_len;
					/* filename* (RFC 6266) wins over filename, whichever comes first. */
					if (find_param(v, ve - v, "filename*", &ext, &ext_len)) {
						char *dec;
						size_t dec_len;
						if (decode_ext_value(ext, ext_len, &dec, &dec_len)) {
							if (filename) efree(filename);
							filename = dec;
							filename_len = dec_len;
							has_filename = true;
						}
						efree(ext);
					}
					if (!has_filename) has_filename = find_param(v, ve - v, "filename", &filename, &filename_len);
				} else if (hn == 12 && zend_binary_strncasecmp(p, hn, "content-type", hn, hn) == 0) {
					type = v;
					type_len = ve - v;
				}
			}
			p = eol + 2;
		}
		const char *next = zend_memnstr(p, delim, dlen, end);
		if (!next) {
			if (name) efree(name);
			if (filename) efree(filename);
			malformed("the closing boundary is missing");
			goto done;
		}
		const char *content = p;
		size_t clen = next - p;
		if (name && name_len) {
			if (has_filename) {
				handle_file(&st, files, set, name, filename, filename_len, type, type_len, content, clen);
			} else if (++st.vars > PG(max_input_vars)) {
				if (!st.vars_warned) {
					php_error_docref(NULL, E_WARNING, "Input variables exceeded " ZEND_LONG_FMT ". To increase the limit change max_input_vars in php.ini.", PG(max_input_vars));
					st.vars_warned = true;
				}
			} else {
				if (strcmp(name, "MAX_FILE_SIZE") == 0) st.max_file_size = ZEND_STRTOL(content, NULL, 10);
				php_register_variable_safe(name, content, clen, post);
			}
		}
		if (name) efree(name);
		if (filename) efree(filename);
		p = next + dlen;
	}
done:
	efree(delim);
	return ok;
}
