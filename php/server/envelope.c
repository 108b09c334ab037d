/* A msgpack reader for exactly the envelope's types, written here rather than linking a
 * library: it is ~100 lines, reads in place, and never allocates. */
#include "server/envelope.h"

#include <string.h>

typedef struct {
	const uint8_t *p, *end;
} reader;

static bool need(reader *r, size_t n) { return (size_t)(r->end - r->p) >= n; }

static uint32_t be(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++) v = (v << 8) | p[i];
	return v;
}

static bool read_array(reader *r, uint32_t *n)
{
	if (!need(r, 1)) return false;
	uint8_t t = *r->p++;
	if ((t & 0xf0) == 0x90) { *n = t & 0x0f; return true; }
	int w = t == 0xdc ? 2 : t == 0xdd ? 4 : 0;
	if (!w || !need(r, w)) return false;
	*n = be(r->p, w);
	r->p += w;
	return true;
}

/* str or bin; nil gives an empty value with a NULL pointer. Inlined: an envelope has a dozen
 * strings or more, nearly all fixstr (the first branch). */
static inline __attribute__((always_inline)) bool read_bytes(reader *r, phpa_bytes *out)
{
	if (!need(r, 1)) return false;
	uint8_t t = *r->p++;
	uint32_t len;
	if ((t & 0xe0) == 0xa0) {
		len = t & 0x1f;
	} else if (t == 0xc0) {
		out->ptr = NULL;
		out->len = 0;
		return true;
	} else {
		int w = (t == 0xd9 || t == 0xc4) ? 1 : (t == 0xda || t == 0xc5) ? 2 : (t == 0xdb || t == 0xc6) ? 4 : 0;
		if (!w || !need(r, w)) return false;
		len = be(r->p, w);
		r->p += w;
	}
	if (!need(r, len)) return false;
	out->ptr = (const char *)r->p;
	out->len = len;
	r->p += len;
	return true;
}

static bool read_uint(reader *r, uint64_t *v)
{
	if (!need(r, 1)) return false;
	uint8_t t = *r->p++;
	if (t <= 0x7f) { *v = t; return true; }
	int w = t == 0xcc ? 1 : t == 0xcd ? 2 : t == 0xce ? 4 : 0;
	if (!w || !need(r, w)) return false;
	*v = be(r->p, w);
	r->p += w;
	return true;
}

bool phpa_envelope_parse(const char *data, size_t len, phpa_envelope *out)
{
	reader r = {(const uint8_t *)data, (const uint8_t *)data + len};
	uint32_t n, hn;
	if (!read_array(&r, &n) || (n != 8 && n != 9)) return false;
	if (!read_bytes(&r, &out->method) || !read_bytes(&r, &out->uri) || !read_bytes(&r, &out->protocol)) return false;
	if (!read_array(&r, &hn) || (hn & 1)) return false;
	out->headers = r.p;
	out->header_count = hn / 2;
	phpa_bytes name, value;
	out->has_cookie = false;
	for (uint32_t i = 0; i < hn; i += 2) {
		if (!read_bytes(&r, &name) || !read_bytes(&r, &value)) return false;
		/* "cookie", ASCII case-insensitive: every letter of it has 0x20 set in lower case. */
		if (name.len == 6 && (name.ptr[0] | 0x20) == 'c' && (name.ptr[1] | 0x20) == 'o' && (name.ptr[2] | 0x20) == 'o' &&
			(name.ptr[3] | 0x20) == 'k' && (name.ptr[4] | 0x20) == 'i' && (name.ptr[5] | 0x20) == 'e') {
			out->has_cookie = true;
		}
	}
	if (!read_bytes(&r, &out->remote_addr) || !read_uint(&r, &out->remote_port) || !read_bytes(&r, &out->scheme) ||
		!read_bytes(&r, &out->body)) {
		return false;
	}
	out->has_script = false;
	if (n == 9) {
		uint32_t sn;
		if (!read_array(&r, &sn) || sn != 4 || !read_bytes(&r, &out->doc_root) || !read_bytes(&r, &out->script_filename) ||
			!read_bytes(&r, &out->script_name) || !read_bytes(&r, &out->path_info)) {
			return false;
		}
		/* A NUL inside would cut the C string PHP opens: refused (JS refuses it first). */
		if (out->script_filename.len == 0 || memchr(out->script_filename.ptr, 0, out->script_filename.len)) return false;
		out->has_script = true;
	}
	out->end = r.end;
	return r.p == r.end;
}

bool phpa_envelope_next_header(const phpa_envelope *env, const uint8_t **cursor, uint32_t *index, phpa_bytes *name,
	phpa_bytes *value)
{
	if (*index >= env->header_count) return false;
	if (*index == 0) *cursor = env->headers;
	reader r = {*cursor, env->end};
	/* Validated by phpa_envelope_parse, so these reads succeed. */
	if (!read_bytes(&r, name) || !read_bytes(&r, value)) return false;
	*cursor = r.p;
	(*index)++;
	return true;
}
