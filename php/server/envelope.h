/*
 * The request envelope: one msgpack array built by JS (src/server/envelope.ts) and read here
 * in place, without copying. Layout (keep in lockstep with envelope.ts):
 *   [ method: str, uri: str, protocol: str ("1.1"), headers: [name, value, ...],
 *     remote_addr: str, remote_port: uint, scheme: str, body: bin | nil,
 *     script (classic scripts only, optional): [document_root, script_filename, script_name,
 *     path_info] (all str) ]
 * Only the msgpack types listed above are accepted; anything else is a malformed envelope.
 */
#ifndef PHPA_ENVELOPE_H
#define PHPA_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct phpa_bytes {
	const char *ptr;
	uint32_t len;
} phpa_bytes;

typedef struct phpa_envelope {
	phpa_bytes method, uri, protocol, remote_addr, scheme, body;
	uint64_t remote_port;
	const uint8_t *headers; /* first element of the header array */
	const uint8_t *end;     /* end of the envelope */
	uint32_t header_count;  /* name/value pairs */
	bool has_cookie;        /* a header named Cookie (any case) is among them */
	/* The classic script JS resolved for the request (has_script), else empty. */
	bool has_script;
	phpa_bytes doc_root, script_filename, script_name, path_info;
} phpa_envelope;

/* Returns false (and leaves *out unspecified) when the bytes are not a valid envelope. */
bool phpa_envelope_parse(const char *data, size_t len, phpa_envelope *out);

/* Iterate header pairs: start with *index = 0; returns false after the last pair. */
bool phpa_envelope_next_header(const phpa_envelope *env, const uint8_t **cursor, uint32_t *index, phpa_bytes *name,
	phpa_bytes *value);

#endif
