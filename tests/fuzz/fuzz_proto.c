/* libFuzzer target for the enter wire codec: decode the input as a stream of
 * frames, the way the server and client read their sockets, and run every
 * EXEC payload through proto_exec_parse. Anything accepted must re-encode to
 * the same bytes (the codec is canonical), so the fuzzer checks round trips
 * as well as memory safety.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     tests/fuzz/fuzz_proto.c proto/proto.c base/base.c */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

static void exec_roundtrip(const struct proto_frame *f)
{
	struct proto_exec x;
	struct perr e;
	if (proto_exec_parse(f->payload, f->len, &x, &e) < 0)
		return;
	struct strbuf b = { 0 };
	if (proto_put_exec(&b, &x) == 0 &&
	    (b.len != PROTO_HDR + f->len || memcmp(b.s + PROTO_HDR, f->payload, f->len) != 0))
		abort();
	sb_free(&b);
	proto_exec_free(&x);
}

/* A COPY that parses re-encodes to its own bytes. */
static void copy_roundtrip(const struct proto_frame *f)
{
	struct proto_copy c;
	struct perr e;
	if (proto_copy_parse(f, &c, &e) < 0)
		return;
	struct strbuf b = { 0 };
	if (proto_put_copy(&b, &c) == 0 &&
	    (b.len != PROTO_HDR + f->len || memcmp(b.s + PROTO_HDR, f->payload, f->len) != 0))
		abort();
	sb_free(&b);
	proto_copy_free(&c);
}

/* The version a server reads off a request's head must be the one the
 * decoder checks: a head it calls a request decodes, or fails, as one. */
static void request_head(const uint8_t *data, size_t size)
{
	uint16_t v;
	int k = proto_request_version(data, size, &v);
	if (k == 1 && (data[4] != PK_EXEC && data[4] != PK_STOP && data[4] != PK_STATUS &&
		       data[4] != PK_OP && data[4] != PK_COPY))
		abort();
	if (k == 1 && proto_reply_version(v) != v &&
	    (v >= PROTO_VERSION_MIN && v <= PROTO_VERSION))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	request_head(data, size);
	for (;;) {
		struct proto_frame f;
		struct perr e;
		size_t used = 0;
		int r = proto_decode(data + off, size - off, &f, &used, &e);
		if (r <= 0)
			break;
		if (used < PROTO_HDR || used > size - off || f.payload != data + off + PROTO_HDR ||
		    used != PROTO_HDR + (size_t)f.len)
			abort();
		if (f.kind == PK_EXEC)
			exec_roundtrip(&f);
		if (f.kind == PK_COPY)
			copy_roundtrip(&f);
		off += used;
	}
	return 0;
}
