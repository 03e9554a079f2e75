/* The enter wire protocol: framing, validation and encoding.
 *
 * Everything that arrives here is untrusted. proto_decode() only looks at
 * bytes and never allocates; proto_exec_parse() validates the whole request
 * in a first pass that allocates nothing, so no count read off the wire is
 * ever used to size an allocation before the payload is known to hold it.
 * docs/PROTOCOL.md is the normative description; keep the two in step. */
#include "proto/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EXEC_FLAG_TTY 0x01
#define EXEC_FLAG_STDIN 0x02
#define EXEC_FLAG_DETACH 0x04 /* version 3 */
#define EXEC_FLAGS_KNOWN (EXEC_FLAG_TTY | EXEC_FLAG_STDIN | EXEC_FLAG_DETACH)
#define PROTO_MAX_SIGNAL 64 /* Linux: SIGRTMAX */


/* ---- what each kind may carry ------------------------------------------ */

enum shape {
	SHAPE_UNKNOWN,
	SHAPE_FIXED, /* exactly `size` bytes */
	SHAPE_DATA,  /* 1..`size` bytes */
	SHAPE_TEXT,  /* at least `size` bytes, up to the frame limit, no NUL */
	SHAPE_EXEC,  /* validated by proto_exec_parse; version checked here */
};

struct kind_info {
	const char *name;
	enum shape shape;
	uint32_t size;
};

static struct kind_info kind_info(uint8_t kind)
{
	switch (kind) {
	case PK_EXEC: return (struct kind_info){ "EXEC", SHAPE_EXEC, 2 };
	case PK_STDIN: return (struct kind_info){ "STDIN", SHAPE_DATA, PROTO_MAX_DATA };
	case PK_STDIN_EOF: return (struct kind_info){ "STDIN_EOF", SHAPE_FIXED, 0 };
	case PK_RESIZE: return (struct kind_info){ "RESIZE", SHAPE_FIXED, 4 };
	case PK_SIGNAL: return (struct kind_info){ "SIGNAL", SHAPE_FIXED, 4 };
	case PK_STOP: return (struct kind_info){ "STOP", SHAPE_FIXED, 6 };
	case PK_STATUS: return (struct kind_info){ "STATUS", SHAPE_FIXED, 2 };
	case PK_STARTED: return (struct kind_info){ "STARTED", SHAPE_FIXED, 4 };
	/* The decoder keeps no state, so it allows the version 2 limit in
	 * every session; a server never exceeds PROTO_MAX_DATA in version 1. */
	case PK_STDOUT: return (struct kind_info){ "STDOUT", SHAPE_DATA, PROTO_MAX_OUTPUT };
	case PK_STDERR: return (struct kind_info){ "STDERR", SHAPE_DATA, PROTO_MAX_OUTPUT };
	case PK_EXIT: return (struct kind_info){ "EXIT", SHAPE_FIXED, 5 };
	case PK_ERROR: return (struct kind_info){ "ERROR", SHAPE_TEXT, 4 };
	case PK_STATUS_REPLY: return (struct kind_info){ "STATUS_REPLY", SHAPE_TEXT, 0 };
	case PK_STOP_ACK: return (struct kind_info){ "STOP_ACK", SHAPE_FIXED, 0 };
	case PK_OP: return (struct kind_info){ "OP", SHAPE_TEXT, 3 };
	case PK_OP_REPLY: return (struct kind_info){ "OP_REPLY", SHAPE_TEXT, 0 };
	case PK_COPY: return (struct kind_info){ "COPY", SHAPE_TEXT, 5 };
	default: return (struct kind_info){ NULL, SHAPE_UNKNOWN, 0 };
	}
}

const char *proto_kind_name(uint8_t kind)
{
	const char *n = kind_info(kind).name;
	return n ? n : "UNKNOWN";
}

/* Checks that need only the header: they let a reader reject a frame that
 * announces 1 GiB without waiting for (or buffering) any of it. */
static int check_header(uint8_t kind, uint32_t plen, struct perr *e)
{
	struct kind_info k = kind_info(kind);
	switch (k.shape) {
	case SHAPE_UNKNOWN:
		return perr_set(e, 0, "unknown frame kind 0x%02x", kind);
	case SHAPE_FIXED:
		if (plen != k.size)
			return perr_set(e, 0, "%s frame payload is %u bytes, expected %u", k.name,
					plen, k.size);
		return 0;
	case SHAPE_DATA:
		if (plen == 0)
			return perr_set(e, 0, "%s frame is empty (end of input is STDIN_EOF)",
					k.name);
		if (plen > k.size)
			return perr_set(e, 0, "%s frame payload is %u bytes, limit %u", k.name, plen,
					k.size);
		return 0;
	case SHAPE_TEXT:
	case SHAPE_EXEC:
		if (plen < k.size)
			return perr_set(e, 0, "%s frame payload is %u bytes, at least %u needed",
					k.name, plen, k.size);
		return 0;
	}
	return 0;
}

static int check_version(const char *what, uint16_t v, struct perr *e)
{
	if (v < PROTO_VERSION_MIN || v > PROTO_VERSION)
		return perr_set(e, 0,
				"%s: protocol version %u is not supported (this side speaks %u to %u)",
				what, v, (unsigned)PROTO_VERSION_MIN, (unsigned)PROTO_VERSION);
	return 0;
}

/* Either ERROR layout (proto.h): after the status, a 0 byte starts the
 * version 3 code; any other byte starts the older layout's message. */
static int check_error(const uint8_t *p, uint32_t len, struct perr *e)
{
	size_t off = 4;
	if (len > 4 && p[4] == 0) {
		if (len < 6 || p[5] == 0)
			return perr_set(e, 0, "ERROR code is %s, expected 1..255",
					len < 6 ? "cut short" : "0");
		off = 6;
	}
	if (memchr(p + off, 0, len - off))
		return perr_set(e, 0, "ERROR message contains a NUL byte");
	return 0;
}

/* Checks on the payload's contents, for kinds whose values have a fixed
 * meaning: a frame that passes proto_decode needs no further range checks
 * except for EXEC, whose structure proto_exec_parse validates. */
static int check_payload(const struct proto_frame *f, struct perr *e)
{
	const uint8_t *p = f->payload;
	switch (f->kind) {
	case PK_EXEC:
	case PK_STOP:
	case PK_STATUS:
		return check_version(kind_info(f->kind).name, be16(p), e);
	case PK_OP:
		if (memchr(p + 2, 0, f->len - 2))
			return perr_set(e, 0, "OP contains a NUL byte");
		if (be16(p) < 3)
			return perr_set(e, 0, "OP: protocol version %u has no OP (it came with 3)",
					be16(p));
		return check_version("OP", be16(p), e);
	case PK_COPY:
		if (memchr(p + 4, 0, f->len - 4))
			return perr_set(e, 0, "COPY: the path contains a NUL byte");
		if (be16(p) < 3)
			return perr_set(e, 0, "COPY: protocol version %u has no COPY (it came with 3)",
					be16(p));
		return check_version("COPY", be16(p), e);
	case PK_SIGNAL: {
		uint32_t sig = be32(p);
		if (sig < 1 || sig > PROTO_MAX_SIGNAL)
			return perr_set(e, 0, "SIGNAL %u is out of range 1..%u", sig,
					(unsigned)PROTO_MAX_SIGNAL);
		return 0;
	}
	case PK_EXIT: {
		uint32_t v = be32(p + 1);
		if (p[0] > 1)
			return perr_set(e, 0, "EXIT how=%u is neither 0 (exited) nor 1 (killed)",
					p[0]);
		if (p[0] == 0 && v > 255)
			return perr_set(e, 0, "EXIT code %u is out of range 0..255", v);
		if (p[0] == 1 && (v < 1 || v > PROTO_MAX_SIGNAL))
			return perr_set(e, 0, "EXIT signal %u is out of range 1..%u", v,
					(unsigned)PROTO_MAX_SIGNAL);
		return 0;
	}
	case PK_ERROR:
		return check_error(p, f->len, e);
	case PK_STATUS_REPLY:
		if (memchr(p, 0, f->len))
			return perr_set(e, 0, "STATUS_REPLY contains a NUL byte");
		return 0;
	default:
		return 0;
	}
}

int proto_frame_total(const uint8_t *buf, size_t len, size_t *total)
{
	if (len < 4)
		return 0;
	*total = 4 + (size_t)be32(buf);
	return 1;
}

static bool is_request(uint8_t kind)
{
	return kind == PK_EXEC || kind == PK_STOP || kind == PK_STATUS || kind == PK_OP ||
	       kind == PK_COPY;
}

int proto_request_version(const uint8_t *buf, size_t len, uint16_t *v)
{
	if (len < 4)
		return 0;
	uint32_t flen = be32(buf);
	if (flen == 0 || flen > PROTO_MAX_FRAME)
		return -1;
	if (len < PROTO_HDR)
		return 0;
	if (!is_request(buf[4]) || check_header(buf[4], flen - 1, NULL) < 0)
		return -1;
	if (len < PROTO_HDR + 2)
		return 0;
	*v = be16(buf + PROTO_HDR);
	return 1;
}

uint16_t proto_reply_version(uint16_t asked)
{
	return asked >= PROTO_VERSION_MIN && asked <= PROTO_VERSION ? asked : PROTO_VERSION;
}

const char *proto_err_name(uint16_t code)
{
	static const char *const names[] = {
		[PE_DENIED] = "denied",		[PE_LIMIT] = "limit",
		[PE_BAD_REQUEST] = "bad-request", [PE_VERSION] = "version",
		[PE_TIMEOUT] = "timeout",	[PE_STOPPING] = "stopping",
		[PE_INTERNAL] = "internal",	[PE_NOT_FOUND] = "not-found",
		[PE_NOT_EXECUTABLE] = "not-executable", [PE_EXEC_FAILED] = "exec-failed",
	};
	return code >= 1 && code <= PE_LAST ? names[code] : "unknown";
}

enum proto_err proto_err_in_box(uint32_t status)
{
	return status == 127 ? PE_NOT_FOUND : status == 126 ? PE_NOT_EXECUTABLE : PE_EXEC_FAILED;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_frame *f, size_t *consumed,
		 struct perr *e)
{
	if (len < 4)
		return 0;
	uint32_t flen = be32(buf);
	if (flen == 0)
		return perr_set(e, 0, "frame length 0 is invalid (the kind byte is counted)");
	if (flen > PROTO_MAX_FRAME)
		return perr_set(e, 0, "frame length %u exceeds limit %u", flen,
				(unsigned)PROTO_MAX_FRAME);
	if (len < PROTO_HDR)
		return 0;
	uint8_t kind = buf[4];
	uint32_t plen = flen - 1;
	if (check_header(kind, plen, e) < 0)
		return -1;
	if (len - PROTO_HDR < plen)
		return 0;
	struct proto_frame fr = { .kind = kind, .payload = buf + PROTO_HDR, .len = plen };
	if (check_payload(&fr, e) < 0)
		return -1;
	*f = fr;
	*consumed = PROTO_HDR + (size_t)plen;
	return 1;
}

/* ---- the EXEC request --------------------------------------------------- */

/* A cursor over an untrusted payload. Every read checks what is left. */
struct rd {
	const uint8_t *p;
	size_t left;
};

/* Names a field in messages: "argument 2", "env entry 0", "user". */
struct field {
	const char *what;
	long idx; /* -1: a single field */
};

static const char *field_name(struct field f, char *buf, size_t len)
{
	if (f.idx < 0)
		return f.what;
	snprintf(buf, len, "%s %ld", f.what, f.idx);
	return buf;
}

static int rd_u32(struct rd *r, uint32_t *v, struct field f, struct perr *e)
{
	char nb[48];
	if (r->left < 4)
		return perr_set(e, 0, "EXEC: payload ends inside the length of %s",
				field_name(f, nb, sizeof nb));
	*v = be32(r->p);
	r->p += 4;
	r->left -= 4;
	return 0;
}

/* One str: u32 length, then that many bytes with no NUL. */
static int rd_str(struct rd *r, const uint8_t **s, uint32_t *n, struct field f, struct perr *e)
{
	char nb[48];
	if (rd_u32(r, n, f, e) < 0)
		return -1;
	if (*n > r->left)
		return perr_set(e, 0, "EXEC: %s length %u overruns the payload (%zu bytes left)",
				field_name(f, nb, sizeof nb), *n, r->left);
	if (memchr(r->p, 0, *n))
		return perr_set(e, 0, "EXEC: %s contains a NUL byte", field_name(f, nb, sizeof nb));
	*s = r->p;
	r->p += *n;
	r->left -= *n;
	return 0;
}

static char *dup_str(const uint8_t *s, uint32_t n)
{
	char *d = malloc((size_t)n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/* An env entry must be NAME=VALUE with a non-empty NAME. */
static bool env_ok(const uint8_t *s, uint32_t n)
{
	const uint8_t *eq = memchr(s, '=', n);
	return eq && eq != s;
}

/* Read a counted list of strings into *out, or only validate when out is
 * NULL. proto_exec_parse always validates the whole payload first, so by the
 * time a count sizes an allocation it is known to fit the payload. */
static int rd_list(struct rd *r, const char *what, bool is_env, char ***out, struct perr *e)
{
	uint32_t count;
	if (rd_u32(r, &count, (struct field){ is_env ? "envc" : "argc", -1 }, e) < 0)
		return -1;
	/* Each str takes at least its 4-byte length. */
	if (count > r->left / 4)
		return perr_set(e, 0, "EXEC: %s %u exceeds what the remaining %zu bytes can hold",
				is_env ? "envc" : "argc", count, r->left);
	if (!is_env && count == 0)
		return perr_set(e, 0, "EXEC: argc is 0 (a command is required)");
	char **list = NULL;
	if (out && !(*out = list = calloc((size_t)count + 1, sizeof *list)))
		return perr_set(e, ENOMEM, "EXEC");
	for (uint32_t i = 0; i < count; i++) {
		struct field f = { what, (long)i };
		const uint8_t *s;
		uint32_t n;
		if (rd_str(r, &s, &n, f, e) < 0)
			return -1;
		if (is_env && !env_ok(s, n)) {
			char nb[48];
			return perr_set(e, 0, "EXEC: %s is not NAME=VALUE",
					field_name(f, nb, sizeof nb));
		}
		if (list && !(list[i] = dup_str(s, n)))
			return perr_set(e, ENOMEM, "EXEC");
	}
	return 0;
}

static int rd_one(struct rd *r, const char *what, char **out, struct perr *e)
{
	const uint8_t *s;
	uint32_t n;
	if (rd_str(r, &s, &n, (struct field){ what, -1 }, e) < 0)
		return -1;
	if (out && !(*out = dup_str(s, n)))
		return perr_set(e, ENOMEM, "EXEC");
	/* cwd: "" (the user's home) or an absolute path. */
	if (strcmp(what, "cwd") == 0 && n && s[0] != '/')
		return perr_set(e, 0, "EXEC: cwd must be empty or an absolute path");
	return 0;
}

/* Walk the payload once. out == NULL: validate only, allocating nothing. */
static int exec_walk(const uint8_t *p, uint32_t len, struct proto_exec *out, struct perr *e)
{
	if (len < 7)
		return perr_set(e, 0, "EXEC: payload is %u bytes, the fixed part alone is 7", len);
	uint16_t version = be16(p);
	uint8_t flags = p[2];
	if (check_version("EXEC", version, e) < 0)
		return -1;
	uint8_t known = version >= 3 ? EXEC_FLAGS_KNOWN : EXEC_FLAGS_KNOWN & ~EXEC_FLAG_DETACH;
	if (flags & ~known)
		return perr_set(e, 0, "EXEC: unknown flags 0x%02x", flags & ~known);
	/* detached: nobody is there to type or read a terminal */
	if ((flags & EXEC_FLAG_DETACH) && (flags & (EXEC_FLAG_TTY | EXEC_FLAG_STDIN)))
		return perr_set(e, 0, "EXEC: detach with tty or stdin wanted");
	if (out) {
		out->version = version;
		out->tty = flags & EXEC_FLAG_TTY;
		out->want_stdin = flags & EXEC_FLAG_STDIN;
		out->detach = flags & EXEC_FLAG_DETACH;
		out->rows = be16(p + 3);
		out->cols = be16(p + 5);
	}
	struct rd r = { p + 7, len - 7 };
	if (rd_list(&r, "argument", false, out ? &out->argv : NULL, e) < 0 ||
	    rd_list(&r, "env entry", true, out ? &out->env : NULL, e) < 0 ||
	    rd_one(&r, "user", out ? &out->user : NULL, e) < 0 ||
	    rd_one(&r, "cwd", out ? &out->cwd : NULL, e) < 0)
		return -1;
	/* version 3: an optional u32 timeout after cwd */
	if (version >= 3 && r.left == 4) {
		if (be32(r.p) == 0)
			return perr_set(e, 0, "EXEC: timeout 0 (leave the field out for none)");
		if (out)
			out->timeout_sec = be32(r.p);
		r.left = 0;
	}
	if (r.left)
		return perr_set(e, 0, "EXEC: %zu unexpected bytes after cwd", r.left);
	return 0;
}

int proto_exec_parse(const uint8_t *p, uint32_t len, struct proto_exec *out, struct perr *e)
{
	memset(out, 0, sizeof *out);
	if (exec_walk(p, len, NULL, e) < 0)
		return -1;
	if (exec_walk(p, len, out, e) < 0) { /* only ENOMEM can get here */
		proto_exec_free(out);
		return -1;
	}
	return 0;
}

static void free_list(char **l)
{
	if (!l)
		return;
	for (char **s = l; *s; s++)
		free(*s);
	free(l);
}

void proto_exec_free(struct proto_exec *x)
{
	if (!x)
		return;
	free_list(x->argv);
	free_list(x->env);
	free(x->user);
	free(x->cwd);
	memset(x, 0, sizeof *x);
}

/* ---- encoders ------------------------------------------------------------ */

void proto_header(uint8_t hdr[PROTO_HDR], uint8_t kind, uint32_t len)
{
	put32(hdr, len + 1);
	hdr[4] = kind;
}

int proto_put_frame(struct strbuf *b, uint8_t kind, const void *head, uint32_t hlen,
		    const void *tail, uint32_t tlen)
{
	size_t mark = b->len;
	uint8_t hdr[PROTO_HDR];
	proto_header(hdr, kind, hlen + tlen);
	if (sb_append(b, (const char *)hdr, sizeof hdr) < 0 ||
	    (hlen && sb_append(b, head, hlen) < 0) || (tlen && sb_append(b, tail, tlen) < 0)) {
		b->len = mark;
		if (b->s)
			b->s[mark] = 0;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static int put_fixed(struct strbuf *b, uint8_t kind, const uint8_t *payload, uint32_t len)
{
	return proto_put_frame(b, kind, payload, len, NULL, 0);
}

int proto_put_data(struct strbuf *b, uint8_t kind, const void *data, size_t len)
{
	struct kind_info k = kind_info(kind);
	if (k.shape != SHAPE_DATA || len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len > k.size) {
		errno = EMSGSIZE;
		return -1;
	}
	return proto_put_frame(b, kind, data, (uint32_t)len, NULL, 0);
}

int proto_put_u32(struct strbuf *b, uint8_t kind, uint32_t v)
{
	struct kind_info k = kind_info(kind);
	if (k.shape != SHAPE_FIXED || k.size != 4) {
		errno = EINVAL;
		return -1;
	}
	uint8_t p[4];
	put32(p, v);
	return put_fixed(b, kind, p, sizeof p);
}

int proto_put_resize(struct strbuf *b, uint16_t rows, uint16_t cols)
{
	uint8_t p[4];
	put16(p, rows);
	put16(p + 2, cols);
	return put_fixed(b, PK_RESIZE, p, sizeof p);
}

int proto_put_exit(struct strbuf *b, bool signaled, uint32_t v)
{
	uint8_t p[5];
	p[0] = signaled ? 1 : 0;
	put32(p + 1, v);
	return put_fixed(b, PK_EXIT, p, sizeof p);
}

int proto_put_started(struct strbuf *b, uint32_t pid)
{
	return proto_put_u32(b, PK_STARTED, pid);
}

int proto_put_error(struct strbuf *b, uint16_t version, uint32_t status, enum proto_err code,
		    const char *msg)
{
	bool coded = version >= PROTO_VERSION_CODES;
	size_t n = msg ? strlen(msg) : 0;
	if (coded && (code < 1 || code > 255)) {
		errno = EINVAL;
		return -1;
	}
	if (n > PROTO_MAX_FRAME - 1 - 6) {
		errno = EMSGSIZE;
		return -1;
	}
	uint8_t p[6];
	put32(p, status);
	put16(p + 4, (uint16_t)code);
	return proto_put_frame(b, PK_ERROR, p, coded ? 6 : 4, msg, (uint32_t)n);
}

int proto_put_empty(struct strbuf *b, uint8_t kind)
{
	struct kind_info k = kind_info(kind);
	if (k.shape != SHAPE_FIXED || k.size != 0) {
		errno = EINVAL;
		return -1;
	}
	return put_fixed(b, kind, NULL, 0);
}

int proto_put_status_reply(struct strbuf *b, const char *text, size_t len)
{
	if (memchr(text, 0, len)) {
		errno = EINVAL;
		return -1;
	}
	if (len > PROTO_MAX_FRAME - 1) {
		errno = EMSGSIZE;
		return -1;
	}
	return proto_put_frame(b, PK_STATUS_REPLY, text, (uint32_t)len, NULL, 0);
}

int proto_put_stop(struct strbuf *b, uint32_t timeout_sec)
{
	uint8_t p[6];
	/* Unchanged since version 1: asking for 1 lets older servers answer. */
	put16(p, PROTO_VERSION_MIN);
	put32(p + 2, timeout_sec);
	return put_fixed(b, PK_STOP, p, sizeof p);
}

int proto_put_status(struct strbuf *b)
{
	uint8_t p[2];
	put16(p, PROTO_VERSION_MIN); /* as STOP */
	return put_fixed(b, PK_STATUS, p, sizeof p);
}

/* ---- EXEC encoder ------------------------------------------------------- */

static size_t list_len(char *const *l)
{
	size_t n = 0;
	while (l && l[n])
		n++;
	return n;
}

/* Size of the payload, or 0 when it would not fit in a frame. Sums are
 * checked against the limit as they go, so they cannot wrap. */
static bool exec_has_timeout(const struct proto_exec *x)
{
	return x->timeout_sec && (x->version ? x->version : PROTO_VERSION) >= 3;
}

static size_t exec_size(const struct proto_exec *x)
{
	const size_t limit = PROTO_MAX_FRAME - 1;
	size_t total = 7 + 4 + 4;
	char *const *lists[2] = { x->argv, x->env };
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			total += 4 + strlen(lists[l][i]);
			if (total > limit)
				return 0;
		}
	total += 4 + (x->user ? strlen(x->user) : 0) + 4 + (x->cwd ? strlen(x->cwd) : 0);
	if (exec_has_timeout(x))
		total += 4;
	return total > limit ? 0 : total;
}

static uint8_t *emit_str(uint8_t *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put32(w, (uint32_t)n);
	if (n)
		memcpy(w + 4, s, n);
	return w + 4 + n;
}

static uint8_t *emit_list(uint8_t *w, char *const *l)
{
	size_t n = list_len(l);
	put32(w, (uint32_t)n);
	w += 4;
	for (size_t i = 0; i < n; i++)
		w = emit_str(w, l[i]);
	return w;
}

int proto_put_exec(struct strbuf *b, const struct proto_exec *x)
{
	uint16_t version = x->version ? x->version : PROTO_VERSION;
	if (x->detach && (version < 3 || x->tty || x->want_stdin)) {
		errno = EPROTO; /* nothing older than version 3 can say it */
		return -1;
	}
	if (list_len(x->argv) == 0) {
		errno = EINVAL;
		return -1;
	}
	size_t size = exec_size(x);
	if (!size) {
		errno = EMSGSIZE;
		return -1;
	}
	_cleanup_free_ uint8_t *p = malloc(size);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	put16(p, version);
	p[2] = (uint8_t)((x->tty ? EXEC_FLAG_TTY : 0) | (x->want_stdin ? EXEC_FLAG_STDIN : 0) |
			 (x->detach ? EXEC_FLAG_DETACH : 0));
	put16(p + 3, x->rows);
	put16(p + 5, x->cols);
	uint8_t *w = emit_list(p + 7, x->argv);
	w = emit_list(w, x->env);
	w = emit_str(w, x->user);
	w = emit_str(w, x->cwd);
	if (exec_has_timeout(x))
		put32(w, x->timeout_sec);
	return proto_put_frame(b, PK_EXEC, p, (uint32_t)size, NULL, 0);
}

/* ---- fixed-payload readers --------------------------------------------- */

int proto_get_u32(const struct proto_frame *f, uint32_t *v)
{
	if (f->len != 4)
		return -1;
	*v = be32(f->payload);
	return 0;
}

int proto_get_resize(const struct proto_frame *f, uint16_t *rows, uint16_t *cols)
{
	if (f->kind != PK_RESIZE || f->len != 4)
		return -1;
	*rows = be16(f->payload);
	*cols = be16(f->payload + 2);
	return 0;
}

int proto_get_exit(const struct proto_frame *f, bool *signaled, uint32_t *v)
{
	if (f->kind != PK_EXIT || f->len != 5 || f->payload[0] > 1)
		return -1;
	*signaled = f->payload[0] == 1;
	*v = be32(f->payload + 1);
	return 0;
}

int proto_get_stop(const struct proto_frame *f, uint32_t *timeout_sec)
{
	if (f->kind != PK_STOP || f->len != 6 || be16(f->payload) < PROTO_VERSION_MIN ||
	    be16(f->payload) > PROTO_VERSION)
		return -1;
	*timeout_sec = be32(f->payload + 2);
	return 0;
}

int proto_get_error(const struct proto_frame *f, struct proto_error *out)
{
	if (f->kind != PK_ERROR || f->len < 4)
		return -1;
	size_t off = f->len > 4 && f->payload[4] == 0 ? 6 : 4;
	if (off > f->len)
		return -1;
	out->status = be32(f->payload);
	out->code = off == 6 ? be16(f->payload + 4) : PE_NONE;
	out->msg = (const char *)f->payload + off;
	out->msg_len = f->len - off;
	return 0;
}
