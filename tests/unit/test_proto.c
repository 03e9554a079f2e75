/* Unit tests for the enter wire codec (proto/proto.c): round trips for every
 * encoder, the exact bytes of docs/PROTOCOL.md's example session, and the
 * decoder's answer to truncated, oversized, unknown and malformed frames. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "tests/unit/check.h"
#include "tests/unit/proto_check.h"


static int expect_exec_error(const void *payload, uint32_t len, const char *needle)
{
	struct proto_exec x;
	struct perr e = { 0 };
	if (proto_exec_parse(payload, len, &x, &e) != -1) {
		fprintf(stderr, "exec parse accepted a bad payload (want \"%s\")\n", needle);
		proto_exec_free(&x);
		return 0;
	}
	if (!strstr(e.msg, needle)) {
		fprintf(stderr, "exec error \"%s\" lacks \"%s\"\n", e.msg, needle);
		return 0;
	}
	/* A failed parse leaves nothing behind to free. */
	return x.argv == NULL && x.env == NULL && x.user == NULL && x.cwd == NULL;
}

/* A small writer for hand-made EXEC payloads. */
struct w {
	uint8_t b[512];
	size_t n;
};
static void w8(struct w *w, uint8_t v)
{
	w->b[w->n++] = v;
}
static void w16(struct w *w, uint16_t v)
{
	w8(w, (uint8_t)(v >> 8));
	w8(w, (uint8_t)v);
}
static void w32(struct w *w, uint32_t v)
{
	w16(w, (uint16_t)(v >> 16));
	w16(w, (uint16_t)v);
}
static void wstr(struct w *w, const char *s, size_t n)
{
	w32(w, (uint32_t)n);
	memcpy(w->b + w->n, s, n);
	w->n += n;
}
static void wfixed(struct w *w, uint16_t version, uint8_t flags)
{
	w16(w, version);
	w8(w, flags);
	w16(w, 24);
	w16(w, 80);
}

/* ---- encoders round-trip ------------------------------------------------ */

static void test_exec_roundtrip(void)
{
	char *argv[] = { "sh", "-c", "echo hi; exit 3", "", NULL };
	char *env[] = { "LANG=C.UTF-8", "EMPTY=", "A==b", NULL };
	struct proto_exec in = { .tty = true, .want_stdin = true, .rows = 50, .cols = 132,
				 .argv = argv, .env = env, .user = "app:staff", .cwd = "/srv" };
	struct strbuf b = { 0 };
	CHECK(proto_put_exec(&b, &in) == 0);
	check_prefixes(b.s, b.len);

	struct proto_frame f;
	struct perr e = { 0 };
	CHECK(decode_one(b.s, b.len, &f, &e) == 1);
	CHECK(f.kind == PK_EXEC);
	struct proto_exec out;
	CHECK(proto_exec_parse(f.payload, f.len, &out, &e) == 0);
	CHECK(out.version == PROTO_VERSION); /* version 0 in the struct: the newest */
	CHECK(out.tty && out.want_stdin);
	CHECK(out.rows == 50 && out.cols == 132);
	for (int i = 0; argv[i]; i++)
		CHECK_STREQ(out.argv[i], argv[i]);
	CHECK(out.argv[4] == NULL);
	for (int i = 0; env[i]; i++)
		CHECK_STREQ(out.env[i], env[i]);
	CHECK(out.env[3] == NULL);
	CHECK_STREQ(out.user, "app:staff");
	CHECK_STREQ(out.cwd, "/srv");
	proto_exec_free(&out);
	CHECK(out.argv == NULL && out.user == NULL);
	proto_exec_free(&out); /* twice is harmless */
	sb_free(&b);
}

/* exec -d: flag 0x04, version 3 only, never with a tty or stdin. */
static void test_exec_detach(void)
{
	char *argv[] = { "sleep", "9", NULL };
	char *env[] = { NULL };
	struct proto_exec in = { .detach = true, .argv = argv, .env = env, .user = "", .cwd = "" };
	struct strbuf b = { 0 };
	CHECK(proto_put_exec(&b, &in) == 0);
	CHECK(b.len > 7 && (uint8_t)b.s[7] == 0x04);
	struct proto_frame f;
	struct perr e = { 0 };
	CHECK(decode_one(b.s, b.len, &f, &e) == 1);
	struct proto_exec out;
	CHECK(proto_exec_parse(f.payload, f.len, &out, &e) == 0);
	CHECK(out.detach && !out.tty && !out.want_stdin);
	proto_exec_free(&out);
	b.len = 0;
	in.version = 2;
	CHECK(proto_put_exec(&b, &in) == -1 && errno == EPROTO && b.len == 0);
	in.version = 3;
	in.tty = true;
	CHECK(proto_put_exec(&b, &in) == -1 && errno == EPROTO && b.len == 0);
	sb_free(&b);
}

static void test_exec_minimal(void)
{
	/* NULL env, user and cwd encode as empty; flags off. */
	char *argv[] = { "", NULL };
	struct proto_exec in = { .argv = argv };
	struct strbuf b = { 0 };
	CHECK(proto_put_exec(&b, &in) == 0);
	CHECK(b.len == PROTO_HDR + 7 + 4 + 4 + 4 + 4 + 4);
	struct proto_frame f;
	struct perr e = { 0 };
	struct proto_exec out;
	CHECK(decode_one(b.s, b.len, &f, &e) == 1);
	CHECK(proto_exec_parse(f.payload, f.len, &out, &e) == 0);
	CHECK(!out.tty && !out.want_stdin);
	CHECK_STREQ(out.argv[0], "");
	CHECK(out.argv[1] == NULL);
	CHECK(out.env && out.env[0] == NULL);
	CHECK_STREQ(out.user, "");
	CHECK_STREQ(out.cwd, "");
	proto_exec_free(&out);
	sb_free(&b);

	/* No command: the encoder refuses rather than emit an invalid frame. */
	char *none[] = { NULL };
	struct proto_exec bad = { .argv = none };
	errno = 0;
	CHECK(proto_put_exec(&b, &bad) == -1 && errno == EINVAL);
	bad.argv = NULL;
	CHECK(proto_put_exec(&b, &bad) == -1 && errno == EINVAL);
	CHECK(b.len == 0);
}

static void test_exec_too_big(void)
{
	size_t n = PROTO_MAX_FRAME;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = 0;
	char *argv[] = { big, NULL };
	struct proto_exec in = { .argv = argv };
	struct strbuf b = { 0 };
	sb_append(&b, "keep", 4);
	errno = 0;
	CHECK(proto_put_exec(&b, &in) == -1 && errno == EMSGSIZE);
	CHECK(b.len == 4); /* untouched */

	/* The largest argument that still fits makes a frame of exactly the limit. */
	size_t fixed = 7 + 4 + 4 + 4 + 4 + 4;
	big[PROTO_MAX_FRAME - 1 - fixed] = 0;
	b.len = 0;
	CHECK(proto_put_exec(&b, &in) == 0);
	CHECK(b.len == PROTO_HDR - 1 + PROTO_MAX_FRAME);
	struct proto_frame f;
	struct perr e = { 0 };
	CHECK(decode_one(b.s, b.len, &f, &e) == 1);
	struct proto_exec out;
	CHECK(proto_exec_parse(f.payload, f.len, &out, &e) == 0);
	CHECK(strlen(out.argv[0]) == PROTO_MAX_FRAME - 1 - fixed);
	proto_exec_free(&out);
	/* One byte more does not fit. */
	big[PROTO_MAX_FRAME - 1 - fixed] = 'x';
	big[PROTO_MAX_FRAME - fixed] = 0;
	b.len = 0;
	CHECK(proto_put_exec(&b, &in) == -1 && errno == EMSGSIZE);
	free(big);
	sb_free(&b);
}

static void test_data_roundtrip(void)
{
	/* STDIN up to PROTO_MAX_DATA, the output kinds up to PROTO_MAX_OUTPUT
	 * (version 2); the stateless decoder takes the larger in any session. */
	static const uint8_t kinds[] = { PK_STDIN, PK_STDOUT, PK_STDERR };
	static uint8_t payload[PROTO_MAX_OUTPUT + 1];
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < sizeof kinds; k++) {
		size_t max = kinds[k] == PK_STDIN ? PROTO_MAX_DATA : PROTO_MAX_OUTPUT;
		size_t sizes[] = { 1, 2, 4096, PROTO_MAX_DATA, max };
		for (size_t s = 0; s < 5; s++) {
			struct strbuf b = { 0 };
			CHECK(proto_put_data(&b, kinds[k], payload, sizes[s]) == 0);
			struct proto_frame f;
			struct perr e = { 0 };
			CHECK(decode_one(b.s, b.len, &f, &e) == 1);
			CHECK(f.kind == kinds[k] && f.len == sizes[s]);
			CHECK(memcmp(f.payload, payload, sizes[s]) == 0);
			if (sizes[s] < 8)
				check_prefixes(b.s, b.len);
			sb_free(&b);
		}
	}
	/* Refused: empty data, oversized data, a kind that is not a data kind. */
	struct strbuf b = { 0 };
	errno = 0;
	CHECK(proto_put_data(&b, PK_STDOUT, payload, 0) == -1 && errno == EINVAL);
	CHECK(proto_put_data(&b, PK_STDIN, payload, PROTO_MAX_DATA + 1) == -1 && errno == EMSGSIZE);
	CHECK(proto_put_data(&b, PK_STDOUT, payload, PROTO_MAX_OUTPUT + 1) == -1 &&
	      errno == EMSGSIZE);
	CHECK(proto_put_data(&b, PK_STDERR, payload, PROTO_MAX_OUTPUT + 1) == -1 &&
	      errno == EMSGSIZE);
	CHECK(proto_put_data(&b, PK_EXIT, payload, 5) == -1 && errno == EINVAL);
	CHECK(b.len == 0);
	sb_free(&b);
}

static void test_fixed_roundtrip(void)
{
	struct strbuf b = { 0 };
	struct proto_frame f;
	struct perr e = { 0 };
	uint32_t v;

	CHECK(proto_put_u32(&b, PK_STARTED, 4242) == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_STARTED);
	CHECK(proto_get_u32(&f, &v) == 0 && v == 4242);
	b.len = 0;

	CHECK(proto_put_u32(&b, PK_SIGNAL, SIGTERM) == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_SIGNAL);
	CHECK(proto_get_u32(&f, &v) == 0 && v == SIGTERM);
	b.len = 0;
	CHECK(proto_put_u32(&b, PK_EXIT, 1) == -1 && errno == EINVAL);
	CHECK(proto_put_u32(&b, PK_STDOUT, 1) == -1 && errno == EINVAL);
	CHECK(b.len == 0);

	uint16_t rows, cols;
	CHECK(proto_put_resize(&b, 65535, 1) == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_RESIZE);
	CHECK(proto_get_resize(&f, &rows, &cols) == 0 && rows == 65535 && cols == 1);
	CHECK(proto_get_u32(&f, &v) == 0); /* same size, generic reader */
	b.len = 0;

	bool sig;
	CHECK(proto_put_exit(&b, false, 42) == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_EXIT);
	CHECK(proto_get_exit(&f, &sig, &v) == 0 && !sig && v == 42);
	CHECK(proto_get_resize(&f, &rows, &cols) == -1);
	CHECK(proto_get_u32(&f, &v) == -1);
	b.len = 0;
	CHECK(proto_put_exit(&b, true, SIGKILL) == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1);
	CHECK(proto_get_exit(&f, &sig, &v) == 0 && sig && v == SIGKILL);
	b.len = 0;

	uint32_t t;
	CHECK(proto_put_stop(&b, 90) == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_STOP);
	CHECK(proto_get_stop(&f, &t) == 0 && t == 90);
	CHECK(proto_get_exit(&f, &sig, &v) == -1);
	b.len = 0;

	CHECK(proto_put_status(&b) == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_STATUS && f.len == 2);
	b.len = 0;

	CHECK(proto_put_error(&b, 2, 127, PE_NOT_FOUND, "sh: no such command") == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_ERROR && f.len == 4 + 19);
	CHECK(memcmp(f.payload, "\0\0\0\x7f" "sh: no such command", f.len) == 0);
	b.len = 0;
	CHECK(proto_put_error(&b, 1, 255, PE_NONE, "") == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.len == 4);
	b.len = 0;
	CHECK(proto_put_started(&b, 42) == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_STARTED);
	CHECK(proto_get_u32(&f, &v) == 0 && v == 42);
	b.len = 0;
	CHECK(proto_put_empty(&b, PK_STOP_ACK) == 0 && b.len == PROTO_HDR);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_STOP_ACK && f.len == 0);
	b.len = 0;
	CHECK(proto_put_empty(&b, PK_STDIN_EOF) == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_STDIN_EOF);
	b.len = 0;
	errno = 0;
	CHECK(proto_put_empty(&b, PK_STATUS) == -1 && errno == EINVAL && b.len == 0);
	CHECK(proto_put_status_reply(&b, "state=running\n", 14) == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_STATUS_REPLY && f.len == 14);
	b.len = 0;
	CHECK(proto_put_status_reply(&b, "a\0b", 3) == -1 && errno == EINVAL && b.len == 0);
	CHECK(proto_put_status_reply(&b, "", 0) == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.len == 0);
	b.len = 0;

	/* Zero-payload frames. */
	uint8_t hdr[PROTO_HDR];
	proto_header(hdr, PK_STDIN_EOF, 0);
	CHECK(memcmp(hdr, "\0\0\0\1\3", 5) == 0);
	check_prefixes(hdr, sizeof hdr);
	CHECK(decode_one(hdr, sizeof hdr, &f, &e) == 1 && f.kind == PK_STDIN_EOF && f.len == 0);
	proto_header(hdr, PK_STOP_ACK, 0);
	CHECK(decode_one(hdr, sizeof hdr, &f, &e) == 1 && f.kind == PK_STOP_ACK);
	sb_free(&b);
}

static void test_status_reply(void)
{
	const char *text = "state=running\nsessions=2\n";
	uint8_t buf[64];
	size_t n = raw(buf, PK_STATUS_REPLY, text, (uint32_t)strlen(text));
	struct proto_frame f;
	struct perr e = { 0 };
	CHECK(decode_one(buf, n, &f, &e) == 1 && f.kind == PK_STATUS_REPLY);
	CHECK(f.len == strlen(text) && memcmp(f.payload, text, f.len) == 0);
	n = raw(buf, PK_STATUS_REPLY, "a=1\0b", 5);
	CHECK(expect_error(buf, n, "NUL"));
	n = raw(buf, PK_ERROR, "\0\0\0\1bad\0", 8);
	CHECK(expect_error(buf, n, "NUL"));
}

/* ---- the example session in docs/PROTOCOL.md ----------------------------- */

static void check_bytes(const struct strbuf *b, const uint8_t *want, size_t n)
{
	CHECK(b->len == n);
	if (b->len == n)
		CHECK(memcmp(b->s, want, n) == 0);
}

static void test_documented_bytes(void)
{
	/* planet exec -i -u app -e LANG=C -w /tmp -- sh -c 'read l; echo $l; exit 3' */
	char *argv[] = { "sh", "-c", "read l; echo $l; exit 3", NULL };
	char *env[] = { "LANG=C", NULL };
	struct proto_exec x = { .want_stdin = true, .argv = argv, .env = env, .user = "app",
				.cwd = "/tmp" };
	static const uint8_t exec_bytes[] = {
		0x00, 0x00, 0x00, 0x50, 0x01,				/* len 80, EXEC */
		0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00,		/* v3, stdin, 0x0 */
		0x00, 0x00, 0x00, 0x03,					/* argc 3 */
		0x00, 0x00, 0x00, 0x02, 's', 'h',			/* "sh" */
		0x00, 0x00, 0x00, 0x02, '-', 'c',			/* "-c" */
		0x00, 0x00, 0x00, 0x17, 'r', 'e', 'a', 'd', ' ', 'l', ';', ' ', 'e', 'c', 'h',
		'o', ' ', '$', 'l', ';', ' ', 'e', 'x', 'i', 't', ' ', '3',
		0x00, 0x00, 0x00, 0x01,					/* envc 1 */
		0x00, 0x00, 0x00, 0x06, 'L', 'A', 'N', 'G', '=', 'C',
		0x00, 0x00, 0x00, 0x03, 'a', 'p', 'p',			/* user */
		0x00, 0x00, 0x00, 0x04, '/', 't', 'm', 'p',		/* cwd */
	};
	struct strbuf b = { 0 };
	CHECK(proto_put_exec(&b, &x) == 0);
	check_bytes(&b, exec_bytes, sizeof exec_bytes);
	b.len = 0;
	/* The same request asking for version 2, then 1 (the client's
	 * further tries with older servers) differs only there. */
	for (uint16_t v = 2; v >= 1; v--) {
		x.version = v;
		CHECK(proto_put_exec(&b, &x) == 0);
		CHECK(b.len == sizeof exec_bytes && b.s[6] == v &&
		      memcmp(b.s + 7, exec_bytes + 7, sizeof exec_bytes - 7) == 0);
		b.len = 0;
	}
	/* Section 10's size: 84 bytes. */
	CHECK(sizeof exec_bytes == 84);
	/* Section 10's ERROR frames, in both layouts. */
	static const uint8_t err_v3[] = { 0, 0, 0, 0x1a, 0x85, 0, 0, 0, 0xff, 0, 0x06,
					  't', 'h', 'e', ' ', 'b', 'o', 'x', ' ', 'i', 's', ' ',
					  's', 't', 'o', 'p', 'p', 'i', 'n', 'g' };
	CHECK(proto_put_error(&b, 3, 255, PE_STOPPING, "the box is stopping") == 0);
	check_bytes(&b, err_v3, sizeof err_v3);
	b.len = 0;
	static const uint8_t err_v2[] = { 0, 0, 0, 0x18, 0x85, 0, 0, 0, 0xff, 't', 'h', 'e', ' ',
					  'b', 'o', 'x', ' ', 'i', 's', ' ', 's', 't', 'o', 'p',
					  'p', 'i', 'n', 'g' };
	CHECK(proto_put_error(&b, 2, 255, PE_STOPPING, "the box is stopping") == 0);
	check_bytes(&b, err_v2, sizeof err_v2);
	b.len = 0;
	/* Section 10's login-shell request: version 3, tty and stdin, 24x80. */
	char *shell[] = { "", NULL };
	char *term[] = { "TERM=xterm", NULL };
	struct proto_exec t = { .tty = true, .want_stdin = true, .rows = 24, .cols = 80,
				.argv = shell, .env = term, .user = "", .cwd = "" };
	static const uint8_t tty_bytes[] = {
		0, 0, 0, 0x2a, 0x01, 0, 3, 3, 0, 0x18, 0, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 0, 1, 0, 0, 0, 0x0a, 'T', 'E', 'R', 'M', '=', 'x', 't', 'e', 'r', 'm',
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	CHECK(proto_put_exec(&b, &t) == 0);
	check_bytes(&b, tty_bytes, sizeof tty_bytes);
	b.len = 0;

	static const uint8_t started[] = { 0, 0, 0, 5, 0x81, 0, 0, 0, 0x2a };
	CHECK(proto_put_started(&b, 42) == 0);
	check_bytes(&b, started, sizeof started);
	b.len = 0;
	static const uint8_t in[] = { 0, 0, 0, 4, 0x02, 'h', 'i', '\n' };
	CHECK(proto_put_data(&b, PK_STDIN, "hi\n", 3) == 0);
	check_bytes(&b, in, sizeof in);
	b.len = 0;
	static const uint8_t eof[] = { 0, 0, 0, 1, 0x03 };
	uint8_t hdr[PROTO_HDR];
	proto_header(hdr, PK_STDIN_EOF, 0);
	CHECK(memcmp(hdr, eof, sizeof eof) == 0);
	static const uint8_t out[] = { 0, 0, 0, 4, 0x82, 'h', 'i', '\n' };
	CHECK(proto_put_data(&b, PK_STDOUT, "hi\n", 3) == 0);
	check_bytes(&b, out, sizeof out);
	b.len = 0;
	static const uint8_t ex[] = { 0, 0, 0, 6, 0x84, 0, 0, 0, 0, 3 };
	CHECK(proto_put_exit(&b, false, 3) == 0);
	check_bytes(&b, ex, sizeof ex);
	b.len = 0;
	static const uint8_t stop[] = { 0, 0, 0, 7, 0x06, 0, 1, 0, 0, 0, 0x1e };
	CHECK(proto_put_stop(&b, 30) == 0);
	check_bytes(&b, stop, sizeof stop);
	b.len = 0;
	static const uint8_t status[] = { 0, 0, 0, 3, 0x07, 0, 1 };
	CHECK(proto_put_status(&b) == 0);
	check_bytes(&b, status, sizeof status);
	b.len = 0;
	static const uint8_t resize[] = { 0, 0, 0, 5, 0x04, 0, 0x32, 0, 0x84 };
	CHECK(proto_put_resize(&b, 50, 132) == 0);
	check_bytes(&b, resize, sizeof resize);
	b.len = 0;
	static const uint8_t sig[] = { 0, 0, 0, 5, 0x05, 0, 0, 0, 0x0f };
	CHECK(proto_put_u32(&b, PK_SIGNAL, 15) == 0);
	check_bytes(&b, sig, sizeof sig);
	b.len = 0;
	static const uint8_t killed[] = { 0, 0, 0, 6, 0x84, 1, 0, 0, 0, 9 };
	CHECK(proto_put_exit(&b, true, 9) == 0);
	check_bytes(&b, killed, sizeof killed);
	sb_free(&b);
}

/* ---- a stream of frames ------------------------------------------------ */

static void test_stream(void)
{
	struct strbuf b = { 0 };
	CHECK(proto_put_u32(&b, PK_STARTED, 7) == 0);
	CHECK(proto_put_data(&b, PK_STDOUT, "abc", 3) == 0);
	CHECK(proto_put_data(&b, PK_STDERR, "E", 1) == 0);
	CHECK(proto_put_exit(&b, false, 0) == 0);
	static const uint8_t want[] = { PK_STARTED, PK_STDOUT, PK_STDERR, PK_EXIT };
	size_t off = 0, i = 0;
	struct proto_frame f;
	struct perr e = { 0 };
	size_t used;
	while (off < b.len && proto_decode((uint8_t *)b.s + off, b.len - off, &f, &used, &e) == 1) {
		CHECK(i < 4 && f.kind == want[i]);
		off += used;
		i++;
	}
	CHECK(i == 4 && off == b.len);
	/* Decoding a frame that is followed by half of another consumes one. */
	CHECK(proto_decode((uint8_t *)b.s, 9 + 3, &f, &used, &e) == 1 && used == 9);
	sb_free(&b);
}

/* ---- malformed frames ------------------------------------------------- */

static void test_bad_lengths(void)
{
	uint8_t buf[16];
	memcpy(buf, "\0\0\0\0\x01", 5);
	CHECK(expect_error(buf, 4, "frame length 0"));
	/* 2000000: rejected from the four length bytes alone. */
	memcpy(buf, "\x00\x1e\x84\x80", 4);
	CHECK(expect_error(buf, 4, "frame length 2000000 exceeds limit 1048576"));
	memcpy(buf, "\xff\xff\xff\xff\x82", 5);
	CHECK(expect_error(buf, 5, "frame length 4294967295 exceeds limit 1048576"));
	/* Exactly the limit is allowed for text kinds (needs the bytes, so 0). */
	proto_header(buf, PK_STATUS_REPLY, PROTO_MAX_FRAME - 1);
	struct proto_frame f;
	size_t used;
	struct perr e = { 0 };
	CHECK(proto_decode(buf, PROTO_HDR, &f, &used, &e) == 0);
	proto_header(buf, PK_STATUS_REPLY, PROTO_MAX_FRAME);
	CHECK(expect_error(buf, PROTO_HDR, "exceeds limit"));
	/* A data frame over its limit is refused from its header. */
	proto_header(buf, PK_STDOUT, PROTO_MAX_OUTPUT + 1);
	CHECK(expect_error(buf, PROTO_HDR, "STDOUT frame payload is 524289 bytes, limit 524288"));
	proto_header(buf, PK_STDERR, PROTO_MAX_OUTPUT + 1);
	CHECK(expect_error(buf, PROTO_HDR, "STDERR frame payload is 524289 bytes, limit 524288"));
	proto_header(buf, PK_STDOUT, PROTO_MAX_OUTPUT);
	CHECK(proto_decode(buf, PROTO_HDR, &f, &used, &e) == 0);
	proto_header(buf, PK_STDIN, PROTO_MAX_DATA + 1);
	CHECK(expect_error(buf, PROTO_HDR, "STDIN frame payload is 65537 bytes, limit 65536"));
	proto_header(buf, PK_STDIN, PROTO_MAX_DATA);
	CHECK(proto_decode(buf, PROTO_HDR, &f, &used, &e) == 0);
	proto_header(buf, PK_STDIN, 0);
	CHECK(expect_error(buf, PROTO_HDR, "STDIN frame is empty"));
	proto_header(buf, PK_STDERR, 0);
	CHECK(expect_error(buf, PROTO_HDR, "STDERR frame is empty"));
}

static void test_unknown_kinds(void)
{
	int bad = 0, known = 0;
	for (unsigned k = 0; k < 256; k++) {
		uint8_t buf[PROTO_HDR + 8] = { 0 };
		proto_header(buf, (uint8_t)k, 0);
		struct proto_frame f;
		size_t used;
		struct perr e = { 0 };
		int r = proto_decode(buf, PROTO_HDR, &f, &used, &e);
		if (r == -1 && strstr(e.msg, "unknown frame kind"))
			bad++;
		else
			known++;
	}
	CHECK(known == 17); /* 0x01-0x09, 0x81-0x88 */
	CHECK(bad == 256 - 17);
	uint8_t buf[PROTO_HDR];
	proto_header(buf, 0x42, 0);
	CHECK(expect_error(buf, sizeof buf, "unknown frame kind 0x42"));
	proto_header(buf, 0x00, 3);
	CHECK(expect_error(buf, sizeof buf, "unknown frame kind 0x00"));
}

static void test_wrong_fixed_sizes(void)
{
	static const struct {
		uint8_t kind;
		uint32_t size;
		const char *name;
	} fixed[] = {
		{ PK_STDIN_EOF, 0, "STDIN_EOF" }, { PK_RESIZE, 4, "RESIZE" },
		{ PK_SIGNAL, 4, "SIGNAL" },	  { PK_STOP, 6, "STOP" },
		{ PK_STATUS, 2, "STATUS" },	  { PK_STARTED, 4, "STARTED" },
		{ PK_EXIT, 5, "EXIT" },		  { PK_STOP_ACK, 0, "STOP_ACK" },
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		uint8_t buf[PROTO_HDR];
		char want[80];
		uint32_t sizes[] = { fixed[i].size + 1, fixed[i].size ? fixed[i].size - 1 : 7 };
		for (int s = 0; s < 2; s++) {
			proto_header(buf, fixed[i].kind, sizes[s]);
			snprintf(want, sizeof want, "%s frame payload is %u bytes, expected %u",
				 fixed[i].name, sizes[s], fixed[i].size);
			/* Rejected on the header: no payload bytes needed. */
			CHECK(expect_error(buf, sizeof buf, want));
		}
	}
	uint8_t buf[PROTO_HDR + 4];
	size_t n = raw(buf, PK_ERROR, "\0\0\0", 3);
	CHECK(expect_error(buf, n, "ERROR frame payload is 3 bytes, at least 4 needed"));
	n = raw(buf, PK_EXEC, "\0", 1);
	CHECK(expect_error(buf, n, "EXEC frame payload is 1 bytes, at least 2 needed"));
}

static void test_bad_values(void)
{
	uint8_t buf[32];
	size_t n = raw(buf, PK_SIGNAL, "\0\0\0\0", 4);
	CHECK(expect_error(buf, n, "SIGNAL 0 is out of range 1..64"));
	n = raw(buf, PK_SIGNAL, "\0\0\0\x41", 4);
	CHECK(expect_error(buf, n, "SIGNAL 65"));
	n = raw(buf, PK_SIGNAL, "\0\0\0\x40", 4);
	struct proto_frame f;
	struct perr e = { 0 };
	CHECK(decode_one(buf, n, &f, &e) == 1);
	n = raw(buf, PK_EXIT, "\2\0\0\0\0", 5);
	CHECK(expect_error(buf, n, "EXIT how=2"));
	n = raw(buf, PK_EXIT, "\0\0\0\1\0", 5);
	CHECK(expect_error(buf, n, "EXIT code 256"));
	n = raw(buf, PK_EXIT, "\1\0\0\0\0", 5);
	CHECK(expect_error(buf, n, "EXIT signal 0"));
	n = raw(buf, PK_EXIT, "\0\0\0\0\xff", 5);
	CHECK(decode_one(buf, n, &f, &e) == 1);
	n = raw(buf, PK_STOP, "\0\4\0\0\0\0", 6);
	CHECK(expect_error(buf, n,
			   "STOP: protocol version 4 is not supported (this side speaks 1 to 3)"));
	n = raw(buf, PK_STOP, "\0\3\0\0\0\0", 6);
	CHECK(decode_one(buf, n, &f, &e) == 1);
	n = raw(buf, PK_STOP, "\0\2\0\0\0\0", 6);
	CHECK(decode_one(buf, n, &f, &e) == 1);
	n = raw(buf, PK_STATUS, "\0\2", 2);
	CHECK(decode_one(buf, n, &f, &e) == 1);
	n = raw(buf, PK_STATUS, "\0\0", 2);
	CHECK(expect_error(buf, n, "STATUS: protocol version 0"));
	n = raw(buf, PK_EXEC, "\x01\x00", 2);
	CHECK(expect_error(buf, n, "EXEC: protocol version 256"));
	/* The getters refuse what they do not understand, too. */
	struct proto_frame g = { PK_STOP, (const uint8_t *)"\0\4\0\0\0\0", 6 };
	uint32_t t;
	CHECK(proto_get_stop(&g, &t) == -1);
	g.payload = (const uint8_t *)"\0\2\0\0\0\x1e";
	CHECK(proto_get_stop(&g, &t) == 0 && t == 30);
	struct proto_frame h = { PK_EXIT, (const uint8_t *)"\3\0\0\0\0", 5 };
	bool sig;
	CHECK(proto_get_exit(&h, &sig, &t) == -1);
}

static void test_exec_malformed(void)
{
	struct w w;
	/* A valid baseline, to make sure the writer is right. */
	w.n = 0;
	wfixed(&w, 1, 3);
	w32(&w, 1);
	wstr(&w, "id", 2);
	w32(&w, 0);
	wstr(&w, "", 0);
	wstr(&w, "", 0);
	struct proto_exec x;
	struct perr e = { 0 };
	CHECK(proto_exec_parse(w.b, (uint32_t)w.n, &x, &e) == 0);
	proto_exec_free(&x);
	/* Every truncation of it is an error, never a crash or a success. */
	int ok = 0;
	for (size_t i = 0; i < w.n; i++)
		ok += expect_exec_error(w.b, (uint32_t)i, "EXEC");
	CHECK(ok == (int)w.n);
	/* Trailing garbage. */
	w.b[w.n++] = 'z';
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "EXEC: 1 unexpected bytes after cwd"));

	w.n = 0;
	wfixed(&w, 1, 0x04);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "EXEC: unknown flags 0x04"));
	w.n = 0;
	wfixed(&w, 2, 0x04); /* detach is version 3's */
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "EXEC: unknown flags 0x04"));
	w.n = 0;
	wfixed(&w, 3, 0x08);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "EXEC: unknown flags 0x08"));
	w.n = 0;
	wfixed(&w, 3, 0x05);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "EXEC: detach with tty or stdin wanted"));
	w.n = 0;
	wfixed(&w, 3, 0x06);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "EXEC: detach with tty or stdin wanted"));
	w.n = 0;
	wfixed(&w, 9, 0);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "protocol version 9"));
	w.n = 0;
	wfixed(&w, 0, 0);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "protocol version 0"));

	/* argc 0. */
	w.n = 0;
	wfixed(&w, 1, 0);
	w32(&w, 0);
	w32(&w, 0);
	wstr(&w, "", 0);
	wstr(&w, "", 0);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "argc is 0"));

	/* A count no payload could hold: refused before any allocation. */
	w.n = 0;
	wfixed(&w, 1, 0);
	w32(&w, 0xffffffffu);
	wstr(&w, "x", 1);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "argc 4294967295 exceeds"));
	w.n = 0;
	wfixed(&w, 1, 0);
	w32(&w, 1);
	wstr(&w, "x", 1);
	w32(&w, 3); /* envc 3, but room for 2 lengths */
	w32(&w, 0);
	w32(&w, 0);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "envc 3 exceeds what the remaining 8 bytes"));

	/* A string length that overruns the payload, including wrap-around sizes. */
	uint32_t lens[] = { 3, 0x7fffffffu, 0xffffffffu, 0xfffffffcu };
	for (size_t i = 0; i < 4; i++) {
		w.n = 0;
		wfixed(&w, 1, 0);
		w32(&w, 1);
		w32(&w, lens[i]);
		w.b[w.n++] = 'a';
		w.b[w.n++] = 'b';
		CHECK(expect_exec_error(w.b, (uint32_t)w.n, "argument 0 length"));
	}

	/* An embedded NUL in each kind of string. */
	const char *where[] = { "argument 1", "env entry 0", "user", "cwd" };
	for (int k = 0; k < 4; k++) {
		w.n = 0;
		wfixed(&w, 1, 0);
		w32(&w, 2);
		wstr(&w, "ls", 2);
		wstr(&w, k == 0 ? "a\0b" : "ab", k == 0 ? 3 : 2);
		w32(&w, 1);
		wstr(&w, k == 1 ? "A=\0" : "A=1", 3);
		wstr(&w, k == 2 ? "ro\0t" : "root", 4);
		wstr(&w, k == 3 ? "/t\0p" : "/tmp", 4);
		char want[64];
		snprintf(want, sizeof want, "%s contains a NUL byte", where[k]);
		CHECK(expect_exec_error(w.b, (uint32_t)w.n, want));
	}

	/* env entries must be NAME=VALUE. */
	const char *bad_env[] = { "NOEQUALS", "=value", "" };
	for (int k = 0; k < 3; k++) {
		w.n = 0;
		wfixed(&w, 1, 0);
		w32(&w, 1);
		wstr(&w, "ls", 2);
		w32(&w, 2);
		wstr(&w, "OK=1", 4);
		wstr(&w, bad_env[k], strlen(bad_env[k]));
		wstr(&w, "", 0);
		wstr(&w, "", 0);
		CHECK(expect_exec_error(w.b, (uint32_t)w.n, "env entry 1 is not NAME=VALUE"));
	}

	/* cwd relative. */
	w.n = 0;
	wfixed(&w, 1, 0);
	w32(&w, 1);
	wstr(&w, "ls", 2);
	w32(&w, 0);
	wstr(&w, "", 0);
	wstr(&w, "tmp", 3);
	CHECK(expect_exec_error(w.b, (uint32_t)w.n, "cwd must be empty or an absolute path"));

	/* The decoder passes an EXEC with garbage after the version: the
	 * structure is proto_exec_parse's job. */
	uint8_t buf[PROTO_HDR + 8];
	size_t n = raw(buf, PK_EXEC, "\0\1zzzzzz", 8);
	struct proto_frame f;
	CHECK(decode_one(buf, n, &f, &e) == 1);
	CHECK(expect_exec_error(f.payload, f.len, "EXEC"));
}

int main(void)
{
	test_exec_roundtrip();
	test_exec_detach();
	test_exec_minimal();
	test_exec_too_big();
	test_data_roundtrip();
	test_fixed_roundtrip();
	test_status_reply();
	test_documented_bytes();
	test_stream();
	test_bad_lengths();
	test_unknown_kinds();
	test_wrong_fixed_sizes();
	test_bad_values();
	test_exec_malformed();
	return check_done("test_proto");
}
