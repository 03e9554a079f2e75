/* Unit tests for version 3 of the enter protocol (proto/proto.c): the
 * ERROR code and its layout next to the older one, the in-box codes, and
 * the request's version as the server reads it off the first 7 bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "tests/unit/check.h"
#include "tests/unit/proto_check.h"


/* ---- version 3: ERROR with a code ------------------------------------- */

static void test_error_v3(void)
{
	struct strbuf b = { 0 };
	struct proto_frame f;
	struct proto_error pe;
	struct perr e = { 0 };
	/* Version 3 and later: u32 status, u16 code, message. */
	CHECK(proto_put_error(&b, 3, 255, PE_DENIED, "permission denied") == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_ERROR && f.len == 6 + 17);
	CHECK(memcmp(f.payload, "\0\0\0\xff\0\x01permission denied", f.len) == 0);
	CHECK(proto_get_error(&f, &pe) == 0 && pe.status == 255 && pe.code == PE_DENIED &&
	      pe.msg_len == 17 && memcmp(pe.msg, "permission denied", 17) == 0);
	b.len = 0;
	/* An empty message; the in-box codes. */
	CHECK(proto_put_error(&b, 3, 127, PE_NOT_FOUND, "") == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.len == 6);
	CHECK(proto_get_error(&f, &pe) == 0 && pe.code == PE_NOT_FOUND && pe.msg_len == 0);
	b.len = 0;
	/* Versions 1 and 2 keep their layout: the code is not sent. */
	CHECK(proto_put_error(&b, 2, 255, PE_VERSION, "EXEC: x") == 0);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.len == 4 + 7);
	CHECK(proto_get_error(&f, &pe) == 0 && pe.code == PE_NONE && pe.msg_len == 7 &&
	      pe.status == 255 && memcmp(pe.msg, "EXEC: x", 7) == 0);
	b.len = 0;
	/* Version 0 (not known yet): the oldest layout. */
	CHECK(proto_put_error(&b, 0, 255, PE_TIMEOUT, "late") == 0 && b.len == PROTO_HDR + 8);
	b.len = 0;
	/* A code must be 1..255 in version 3: its first byte is what tells
	 * the layouts apart. */
	errno = 0;
	CHECK(proto_put_error(&b, 3, 255, PE_NONE, "x") == -1 && errno == EINVAL && b.len == 0);
	CHECK(proto_put_error(&b, 3, 255, (enum proto_err)256, "x") == -1 && b.len == 0);
	/* The decoder: a 0 byte after the status starts a code, which must be
	 * whole and not 0; the message holds no NUL in either layout. */
	uint8_t buf[32];
	size_t n = raw(buf, PK_ERROR, "\0\0\0\xff\0", 5);
	CHECK(expect_error(buf, n, "ERROR code is cut short"));
	n = raw(buf, PK_ERROR, "\0\0\0\xff\0\0ab", 8);
	CHECK(expect_error(buf, n, "ERROR code is 0"));
	n = raw(buf, PK_ERROR, "\0\0\0\xff\0\x04a\0b", 9);
	CHECK(expect_error(buf, n, "NUL"));
	n = raw(buf, PK_ERROR, "\0\0\0\xff" "a\0b", 7);
	CHECK(expect_error(buf, n, "NUL"));
	/* A code this side does not know is still an ERROR. */
	n = raw(buf, PK_ERROR, "\0\0\0\xff\0\xc8hi", 8);
	CHECK(decode_one(buf, n, &f, &e) == 1);
	CHECK(proto_get_error(&f, &pe) == 0 && pe.code == 200 && pe.msg_len == 2);
	CHECK(strcmp(proto_err_name(200), "unknown") == 0);
	CHECK(strcmp(proto_err_name(PE_BAD_REQUEST), "bad-request") == 0);
	CHECK(strcmp(proto_err_name(PE_EXEC_FAILED), "exec-failed") == 0);
	CHECK(strcmp(proto_err_name(0), "unknown") == 0);
	struct proto_frame g = { PK_EXIT, (const uint8_t *)"\0\0\0\0\0", 5 };
	CHECK(proto_get_error(&g, &pe) == -1);
	/* What the session process reports, by its status. */
	CHECK(proto_err_in_box(127) == PE_NOT_FOUND);
	CHECK(proto_err_in_box(126) == PE_NOT_EXECUTABLE);
	CHECK(proto_err_in_box(255) == PE_EXEC_FAILED);
	CHECK(proto_err_in_box(1) == PE_EXEC_FAILED);
	sb_free(&b);
}

/* The request's version, read off its first 7 bytes. */
static void test_request_version(void)
{
	uint16_t v = 0;
	size_t total = 0;
	static const uint8_t exec_v3[] = { 0, 0, 0, 9, PK_EXEC, 0, 3, 0, 0 };
	for (size_t i = 0; i < 7; i++)
		CHECK(proto_request_version(exec_v3, i, &v) == 0);
	CHECK(proto_request_version(exec_v3, 7, &v) == 1 && v == 3);
	static const uint8_t status_v9[] = { 0, 0, 0, 3, PK_STATUS, 0, 9 };
	CHECK(proto_request_version(status_v9, 7, &v) == 1 && v == 9);
	static const uint8_t stdin_first[] = { 0, 0, 0, 3, PK_STDIN, 0, 1 };
	CHECK(proto_request_version(stdin_first, 7, &v) == -1);
	static const uint8_t short_stop[] = { 0, 0, 0, 3, PK_STOP, 0, 1 }; /* STOP is 6 */
	CHECK(proto_request_version(short_stop, 7, &v) == -1);
	static const uint8_t zero[] = { 0, 0, 0, 0, PK_EXEC, 0, 1 };
	CHECK(proto_request_version(zero, 4, &v) == -1);
	CHECK(proto_request_version((const uint8_t *)"garbage", 7, &v) == -1);
	CHECK(proto_reply_version(1) == 1 && proto_reply_version(2) == 2 &&
	      proto_reply_version(3) == 3);
	CHECK(proto_reply_version(0) == PROTO_VERSION && proto_reply_version(4) == PROTO_VERSION);
	CHECK(proto_frame_total(exec_v3, 3, &total) == 0);
	CHECK(proto_frame_total(exec_v3, 4, &total) == 1 && total == 13);
}

/* OP: a verb and key=value lines; the verb a lowercase word; new in 3. */
static void test_op(void)
{
	struct strbuf b = { 0 };
	CHECK(proto_put_op(&b, "stats", NULL) == 0);
	struct proto_frame f;
	size_t used;
	struct perr e = { 0 };
	CHECK(proto_decode((const uint8_t *)b.s, b.len, &f, &used, &e) == 1 && f.kind == PK_OP);
	struct proto_op op;
	CHECK(proto_op_parse(&f, &op, &e) == 0);
	CHECK_STREQ(op.verb, "stats");
	CHECK_STREQ(op.args, "");
	CHECK(op.version == PROTO_VERSION);
	proto_op_free(&op);
	sb_free(&b);
	CHECK(proto_put_op(&b, "kill", "signal=9\nall=1\n") == 0);
	CHECK(proto_decode((const uint8_t *)b.s, b.len, &f, &used, &e) == 1);
	CHECK(proto_op_parse(&f, &op, &e) == 0);
	CHECK_STREQ(op.verb, "kill");
	CHECK_STREQ(op.args, "signal=9\nall=1\n");
	proto_op_free(&op);
	sb_free(&b);
	/* a verb that is not one lowercase word */
	CHECK(proto_put_op(&b, "Stats now", NULL) == 0);
	CHECK(proto_decode((const uint8_t *)b.s, b.len, &f, &used, &e) == 1);
	CHECK(proto_op_parse(&f, &op, &e) < 0 && strstr(e.msg, "lowercase word"));
	sb_free(&b);
	/* version 2 has no OP */
	uint8_t raw[PROTO_HDR + 8];
	proto_header(raw, PK_OP, 8);
	memcpy(raw + PROTO_HDR, "\0\2stats\n", 8);
	CHECK(proto_decode(raw, PROTO_HDR + 8, &f, &used, &e) == -1 && strstr(e.msg, "has no OP"));
}

/* EXEC's optional timeout: version 3 only, after cwd. */
static void test_exec_timeout(void)
{
	char *argv[] = { "sleep", "9", NULL }, *env[] = { NULL };
	struct proto_exec x = { .argv = argv, .env = env, .user = "", .cwd = "", .timeout_sec = 5 };
	struct strbuf b = { 0 };
	struct proto_exec y;
	struct perr e = { 0 };
	CHECK(proto_put_exec(&b, &x) == 0);
	CHECK(proto_exec_parse((const uint8_t *)b.s + PROTO_HDR, (uint32_t)(b.len - PROTO_HDR), &y,
			       &e) == 0);
	CHECK(y.version == 3 && y.timeout_sec == 5);
	proto_exec_free(&y);
	sb_free(&b);
	/* asked in version 2: the field is not sent (that version has none) */
	x.version = 2;
	CHECK(proto_put_exec(&b, &x) == 0);
	CHECK(proto_exec_parse((const uint8_t *)b.s + PROTO_HDR, (uint32_t)(b.len - PROTO_HDR), &y,
			       &e) == 0);
	CHECK(y.version == 2 && y.timeout_sec == 0);
	proto_exec_free(&y);
	sb_free(&b);
}

/* COPY (planet cp): encoded, decoded, and its bad forms refused. */
static void test_copy(void)
{
	struct proto_copy c = { .dir = PCOPY_IN, .flags = PCOPY_ARCHIVE | PCOPY_STREAM,
				.path = "/tmp/a b" };
	struct strbuf b = { 0 };
	struct proto_frame f;
	struct perr e = { 0 };
	CHECK(proto_put_copy(&b, &c) == 0);
	check_prefixes(b.s, b.len);
	CHECK(decode_one(b.s, b.len, &f, &e) == 1 && f.kind == PK_COPY);
	uint16_t v = 0;
	CHECK(proto_request_version((const uint8_t *)b.s, b.len, &v) == 1 && v == 3);
	struct proto_copy d;
	CHECK(proto_copy_parse(&f, &d, &e) == 0);
	CHECK(d.version == 3 && d.dir == PCOPY_IN && d.flags == (PCOPY_ARCHIVE | PCOPY_STREAM));
	CHECK_STREQ(d.path, "/tmp/a b");
	proto_copy_free(&d);
	sb_free(&b);
	/* the encoder refuses what the decoder would */
	c.flags = 0x80;
	CHECK(proto_put_copy(&b, &c) < 0);
	/* by hand: a relative path, an unknown direction, stream out, version 2 */
	static const struct {
		const char *p;
		size_t n;
		const char *msg;
	} bad[] = {
		{ "\0\3\1\0tmp", 7, "must be absolute" },
		{ "\0\3\3\0/tmp", 8, "direction 3" },
		{ "\0\3\2\4/tmp", 8, "stream flag" },
		{ "\0\3\1\x10/tmp", 8, "unknown flag" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t fr[PROTO_HDR + 16];
		size_t n = raw(fr, PK_COPY, bad[i].p, (uint32_t)bad[i].n);
		CHECK(decode_one(fr, n, &f, &e) == 1);
		CHECK(proto_copy_parse(&f, &d, &e) < 0 && strstr(e.msg, bad[i].msg));
	}
	uint8_t fr[PROTO_HDR + 16];
	size_t n = raw(fr, PK_COPY, "\0\2\1\0/tmp", 8);
	CHECK(decode_one(fr, n, &f, &e) == -1 && strstr(e.msg, "has no COPY"));
}

int main(void)
{
	test_error_v3();
	test_request_version();
	test_op();
	test_exec_timeout();
	test_copy();
	return check_done("test_proto_v3");
}
