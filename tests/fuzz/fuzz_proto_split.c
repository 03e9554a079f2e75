/* libFuzzer target: the enter decoder on a stream that arrives in pieces,
 * as it does on a socket. The input is decoded twice: once whole, and once
 * fed through a growing buffer in chunks whose sizes come from the input's
 * last bytes, the way server.c and client.c accumulate reads. Both must see
 * the same frames (kind, length, bytes) and, if any, the same error, and no
 * prefix of a stream may be refused unless the whole stream is refused at
 * the same frame. The fixed-payload readers (proto_get_*) are run on every
 * frame and must agree with what the decoder accepted.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     tests/fuzz/fuzz_proto_split.c proto/proto.c base/base.c */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define MAXF 64

struct seen {
	size_t n;
	uint8_t kind[MAXF];
	uint32_t len[MAXF];
	size_t off[MAXF];
	int end; /* 0: needs more bytes, -1: refused */
	char msg[sizeof ((struct perr *)0)->msg];
};

static void fields(const struct proto_frame *f)
{
	uint32_t v;
	uint16_t r, c;
	bool sig;
	switch (f->kind) {
	case PK_SIGNAL:
		if (proto_get_u32(f, &v) < 0 || v < 1 || v > 64)
			abort();
		break;
	case PK_STARTED:
		if (proto_get_u32(f, &v) < 0)
			abort();
		break;
	case PK_RESIZE:
		if (proto_get_resize(f, &r, &c) < 0)
			abort();
		break;
	case PK_EXIT:
		if (proto_get_exit(f, &sig, &v) < 0 || (sig ? v < 1 || v > 64 : v > 255))
			abort();
		break;
	case PK_STOP:
		if (proto_get_stop(f, &v) < 0)
			abort();
		break;
	case PK_STDIN:
		if (f->len < 1 || f->len > PROTO_MAX_DATA)
			abort();
		break;
	case PK_STDOUT:
	case PK_STDERR:
		if (f->len < 1 || f->len > PROTO_MAX_OUTPUT)
			abort();
		break;
	case PK_ERROR: {
		/* Either layout; a coded one never has code 0, and the message
		 * (no NUL) ends the payload. */
		struct proto_error pe;
		if (proto_get_error(f, &pe) < 0 ||
		    (pe.code == PE_NONE && f->len > 4 && !f->payload[4]) ||
		    (pe.code && pe.code > 255) || memchr(pe.msg, 0, pe.msg_len) ||
		    pe.msg + pe.msg_len != (const char *)f->payload + f->len)
			abort();
		break;
	}
	default: {
		struct proto_error pe;
		if (proto_get_resize(f, &r, &c) == 0 || proto_get_exit(f, &sig, &v) == 0 ||
		    proto_get_stop(f, &v) == 0 || proto_get_error(f, &pe) == 0)
			abort(); /* wrong kind accepted */
	}
	}
}

static void whole(const uint8_t *d, size_t size, struct seen *s)
{
	size_t off = 0;
	s->n = 0;
	for (;;) {
		struct proto_frame f;
		struct perr e;
		size_t used = 0;
		int r = proto_decode(d + off, size - off, &f, &used, &e);
		if (r <= 0) {
			s->end = r;
			if (r < 0)
				memcpy(s->msg, e.msg, sizeof s->msg);
			return;
		}
		fields(&f);
		if (s->n < MAXF) {
			s->kind[s->n] = f.kind;
			s->len[s->n] = f.len;
			s->off[s->n] = off;
		}
		s->n++;
		off += used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* The last two bytes choose the chunk sizes; the rest is the stream. */
	unsigned step = (unsigned)data[size - 2] % 64 + 1;
	unsigned vary = data[size - 1];
	size -= 2;
	struct seen a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	whole(data, size, &a);

	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	size_t have = 0, start = 0, fed = 0;
	b.end = 0;
	while (fed < size || have > start) {
		size_t chunk = step + (vary & 7);
		vary = vary * 33 + 7;
		if (chunk > size - fed)
			chunk = size - fed;
		memcpy(buf + have, data + fed, chunk);
		have += chunk;
		fed += chunk;
		struct proto_frame f;
		struct perr e;
		size_t used = 0;
		int r;
		while ((r = proto_decode(buf + start, have - start, &f, &used, &e)) == 1) {
			if (b.n < MAXF) {
				b.kind[b.n] = f.kind;
				b.len[b.n] = f.len;
				b.off[b.n] = start;
			}
			b.n++;
			start += used;
		}
		if (r < 0) {
			b.end = -1;
			memcpy(b.msg, e.msg, sizeof b.msg);
			break;
		}
		if (chunk == 0)
			break;
	}
	free(buf);
	if (a.n != b.n || a.end != b.end)
		abort();
	for (size_t i = 0; i < a.n && i < MAXF; i++)
		if (a.kind[i] != b.kind[i] || a.len[i] != b.len[i] || a.off[i] != b.off[i])
			abort();
	if (a.end < 0 && strcmp(a.msg, b.msg) != 0)
		abort();
	return 0;
}
