/* Helpers shared by the protocol's unit tests (test_proto, test_proto_v3):
 * decoding whole frames, checking that every prefix asks for more, raw
 * frames built by hand, and a decode that must fail with a message. */
#ifndef PLANET_TEST_PROTO_CHECK_H
#define PLANET_TEST_PROTO_CHECK_H

#include <stdio.h>
#include <string.h>

#include "proto/proto.h"
#include "tests/unit/check.h"

/* Decode exactly one frame that fills buf; returns 1 on success. */
static inline int decode_one(const void *buf, size_t len, struct proto_frame *f, struct perr *e)
{
	size_t used = 0;
	int r = proto_decode(buf, len, f, &used, e);
	if (r == 1 && used != len)
		return -2;
	return r;
}

/* Every strict prefix of a valid frame must ask for more bytes. */
static inline void check_prefixes(const void *buf, size_t len)
{
	int bad = 0;
	for (size_t i = 0; i < len; i++) {
		struct proto_frame f;
		size_t used = 12345;
		struct perr e = { 0 };
		if (proto_decode(buf, i, &f, &used, &e) != 0 || used != 12345)
			bad++;
	}
	CHECK(bad == 0);
}

/* Build a raw frame by hand: header for kind and payload. */
static inline size_t raw(uint8_t *out, uint8_t kind, const void *payload, uint32_t plen)
{
	proto_header(out, kind, plen);
	if (plen)
		memcpy(out + PROTO_HDR, payload, plen);
	return PROTO_HDR + plen;
}

static inline int expect_error(const void *buf, size_t len, const char *needle)
{
	struct proto_frame f;
	size_t used;
	struct perr e = { 0 };
	int r = proto_decode(buf, len, &f, &used, &e);
	if (r != -1) {
		fprintf(stderr, "expected an error containing \"%s\", got %d\n", needle, r);
		return 0;
	}
	if (!strstr(e.msg, needle)) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", e.msg, needle);
		return 0;
	}
	if (strchr(e.msg, '\n')) {
		fprintf(stderr, "error \"%s\" spans lines\n", e.msg);
		return 0;
	}
	return 1;
}

#endif
