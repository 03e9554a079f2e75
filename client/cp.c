/* planet cp: files in and out of the running box, as tar streams over the
 * enter socket (a COPY request; docs/PROTOCOL.md). One side is box:PATH,
 * the other a host path or "-" (the tar itself on stdin or stdout, as
 * docker cp does it). The box's half runs in a session process inside the
 * box (enter/copy.c); this is the host's half: the same copy/ routines,
 * with the socket as the tar's other end.
 *
 * The socket is blocking and one direction carries the bulk: into the box
 * the client only writes (STDIN frames) until the tar ends, then reads the
 * end of the session; out of it the client only reads. When the box's
 * side fails it exits, the server closes, and a blocked write fails: what
 * the box said is then read from what is left on the socket. */
#include "client/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "copy/copy.h"

#define PROGRESS_AFTER_NS 1000000000ull /* silent for copies quicker than 1 s */
#define PROGRESS_EVERY_NS 250000000ull

struct cp {
	const char *path; /* the socket's */
	int sock;
	struct client_rx rx;
	bool tty_progress, progress_shown;
	unsigned long long t0, t_shown, bytes;
	int status;	     /* -1 until EXIT or a failure */
	struct strbuf box_msg; /* the box's stderr: one line, its own word */
	char *buf;	     /* OUT to "-" / IN from "-": staging */
};

/* ---- progress (stderr a terminal, copies over a second) ------------------ */

static void progress(struct cp *c, size_t n, bool last)
{
	c->bytes += n;
	if (!c->tty_progress)
		return;
	unsigned long long t = now_ns();
	if (!last && (t - c->t0 < PROGRESS_AFTER_NS || t - c->t_shown < PROGRESS_EVERY_NS))
		return;
	if (last && !c->progress_shown)
		return;
	double sec = (double)(t - c->t0) / 1e9;
	fprintf(stderr, "\rplanet cp: %.1f MiB, %.1f MiB/s%s", (double)c->bytes / 1048576.0,
		sec > 0 ? (double)c->bytes / 1048576.0 / sec : 0.0, last ? "\n" : "  ");
	c->progress_shown = true;
	c->t_shown = t;
}

/* ---- frames ---------------------------------------------------------------- */

static int send_all(struct cp *c, const void *hdr, size_t hlen, const void *p, size_t len)
{
	struct iovec iov[2] = { { (void *)hdr, hlen }, { (void *)p, len } };
	int k = 0;
	while (k < 2) {
		ssize_t n = writev(c->sock, iov + k, 2 - k);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		while (k < 2 && (size_t)n >= iov[k].iov_len)
			n -= (ssize_t)iov[k++].iov_len;
		if (k < 2) {
			iov[k].iov_base = (char *)iov[k].iov_base + n;
			iov[k].iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* The tar's bytes as STDIN frames of at most PROTO_MAX_DATA. */
static int send_data(void *ctx, const void *buf, size_t len)
{
	struct cp *c = ctx;
	const char *p = buf;
	while (len) {
		size_t n = len < PROTO_MAX_DATA ? len : PROTO_MAX_DATA;
		uint8_t hdr[PROTO_HDR];
		proto_header(hdr, PK_STDIN, (uint32_t)n);
		if (send_all(c, hdr, sizeof hdr, p, n) < 0)
			return -1;
		progress(c, n, false);
		p += n;
		len -= n;
	}
	return 0;
}

/* What the box's side wrote on its stderr: kept (the first 1 KiB) and
 * printed as its word once the session is over. */
static void box_said(struct cp *c, const struct proto_frame *f)
{
	if (c->box_msg.len < 1024)
		(void)sb_append(&c->box_msg, (const char *)f->payload, f->len);
}

/* A frame that ends the session, or STDERR: 1 when the session is over. */
static int session_frame(struct cp *c, const struct proto_frame *f)
{
	bool sig;
	uint32_t v;
	switch (f->kind) {
	case PK_STDERR:
		box_said(c, f);
		return 0;
	case PK_EXIT:
		if (proto_get_exit(f, &sig, &v) < 0)
			v = EXIT_PLANET, sig = false;
		c->status = sig ? 128 + (int)v : (int)v;
		return 1;
	case PK_ERROR:
		c->status = client_report_error(f);
		return 1;
	default:
		c->status = client_unexpected(f, "during a copy");
		return 1;
	}
}

/* The session's next frame; false, the status set, if the connection
 * failed or closed first. */
static bool rx_frame(struct cp *c, struct proto_frame *f)
{
	struct perr e = { 0 };
	int r = client_rx_wait(&c->rx, c->sock, f, &e);
	if (r > 0)
		return true;
	fprintf(stderr, "planet cp: %s\n",
		r < 0 ? e.msg : "the connection closed before the copy ended");
	c->status = EXIT_PLANET;
	return false;
}

/* Read frames until the session is over (after the data, or after a
 * failed write). */
static void session_end(struct cp *c)
{
	struct proto_frame f;
	while (c->status < 0 && rx_frame(c, &f)) {
		if (f.kind == PK_STDOUT)
			continue; /* a tar's trailing padding the reader did not want */
		session_frame(c, &f);
	}
}

/* The answer to COPY: STARTED, or an ERROR. An old server knows no COPY. */
static int started(struct cp *c)
{
	struct proto_frame f;
	struct perr e = { 0 };
	int r = client_rx_wait(&c->rx, c->sock, &f, &e);
	if (r <= 0) {
		fprintf(stderr, "planet cp: %s\n", r < 0 ? e.msg : "the connection closed");
		return EXIT_PLANET;
	}
	if (f.kind == PK_STARTED)
		return 0;
	struct proto_error pe;
	if (f.kind == PK_ERROR && proto_get_error(&f, &pe) == 0 && pe.code == PE_BAD_REQUEST &&
	    memmem(pe.msg, pe.msg_len, "unexpected frame kind 0x09", 26)) {
		fprintf(stderr, "planet cp: the box's planet does not know planet cp (COPY came "
				"with protocol version 3): update planet on the box's host\n");
		return EXIT_PLANET;
	}
	return f.kind == PK_ERROR ? client_report_error(&f) : client_unexpected(&f, "before STARTED");
}

/* ---- into the box ------------------------------------------------------------ */

static int stdin_to_box(struct cp *c)
{
	for (;;) {
		ssize_t n = read(STDIN_FILENO, c->buf, PROTO_MAX_DATA);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;
		if (send_data(c, c->buf, (size_t)n) < 0)
			return -1;
	}
}

static void copy_in(struct cp *c, const char *src, unsigned flags)
{
	struct perr e = { 0 };
	struct copy_io io = { .write = send_data, .ctx = c };
	int rc = strcmp(src, "-") == 0 ? stdin_to_box(c) : copy_pack(src, flags, &io, &e);
	if (rc < 0 && !e.msg[0])
		perr_set(&e, errno, "%s", strcmp(src, "-") == 0 ? "stdin" : src);
	uint8_t eof[PROTO_HDR];
	proto_header(eof, PK_STDIN_EOF, 0);
	/* A failed write is the box's side gone: session_end reads why. */
	int err = e.errnum ? e.errnum : errno;
	bool sock_failed = rc < 0 && (err == EPIPE || err == ECONNRESET);
	if (rc == 0)
		(void)send_all(c, eof, sizeof eof, NULL, 0);
	progress(c, 0, true);
	if (rc < 0 && !sock_failed) {
		fprintf(stderr, "planet cp: %s\n", e.msg);
		c->status = 1;
		return; /* closing the socket ends the box's side: nothing is left there */
	}
	session_end(c);
}

/* ---- out of the box ------------------------------------------------------------ */

/* The next STDOUT payload, in place in the receive buffer (valid until the
 * next call); 0 once EXIT or ERROR came. */
static ssize_t recv_data(void *ctx, const void **buf)
{
	struct cp *c = ctx;
	struct proto_frame f;
	while (c->status < 0 && rx_frame(c, &f)) {
		if (f.kind == PK_STDOUT) {
			progress(c, f.len, false);
			*buf = f.payload;
			return f.len;
		}
		session_frame(c, &f);
	}
	return 0;
}

static int box_to_stdout(struct cp *c)
{
	const void *p;
	ssize_t n;
	while ((n = recv_data(c, &p)) > 0)
		if (client_write_full(STDOUT_FILENO, p, (size_t)n) < 0)
			return -1;
	return 0;
}

static void copy_out(struct cp *c, const char *dst, unsigned flags)
{
	struct perr e = { 0 };
	struct copy_io io = { .read = recv_data, .ctx = c };
	int rc = strcmp(dst, "-") == 0 ? box_to_stdout(c) : copy_unpack(dst, flags, &io, &e);
	if (rc < 0 && !e.msg[0])
		perr_set(&e, errno, "stdout");
	progress(c, 0, true);
	/* The box's failure explains a cut tar better than the cut itself. */
	if (rc == 0 || c->status < 0)
		session_end(c);
	if (rc < 0 && !(c->status > 0 && c->box_msg.len)) {
		fprintf(stderr, "planet cp: %s\n", e.msg);
		if (c->status <= 0)
			c->status = 1;
	}
}

/* ---- the command ------------------------------------------------------------- */

static const char *box_side(const char *arg)
{
	return strncmp(arg, "box:", 4) == 0 ? arg + 4 : NULL;
}

static int request(struct cp *c, const struct proto_copy *pc)
{
	_cleanup_strbuf_ struct strbuf b = { 0 };
	struct perr e = { 0 };
	if (proto_put_copy(&b, pc) < 0) {
		fprintf(stderr, "planet cp: cannot build the request: %s\n", strerror(errno));
		return EXIT_PLANET;
	}
	c->sock = client_dial(c->path, &e);
	if (c->sock < 0) {
		fprintf(stderr, "planet: %s\n", e.msg);
		return EXIT_PLANET;
	}
	if (client_write_full(c->sock, b.s, b.len) < 0) {
		fprintf(stderr, "planet cp: send the request: %s\n", strerror(errno));
		return EXIT_PLANET;
	}
	return started(c);
}

/* The box's own line, marked as such (it may say anything). */
static void report_box(struct cp *c)
{
	if (!c->box_msg.len)
		return;
	while (c->box_msg.len && c->box_msg.s[c->box_msg.len - 1] == '\n')
		c->box_msg.len--;
	fputs("planet cp: in the box: ", stderr);
	client_print_clean(stderr, (const uint8_t *)c->box_msg.s, c->box_msg.len, false);
	fputc('\n', stderr);
}

int client_cp(const struct client_opts *o)
{
	const char *src = o->argv[0], *dst = o->argv[1];
	const char *bsrc = box_side(src), *bdst = box_side(dst);
	unsigned flags = (o->archive ? COPY_ARCHIVE : 0) | (o->follow ? COPY_FOLLOW : 0);
	struct proto_copy pc = { .dir = bdst ? PCOPY_IN : PCOPY_OUT, .path = (char *)(bdst ? bdst : bsrc) };
	pc.flags = (uint8_t)(flags | (bdst && strcmp(src, "-") == 0 ? COPY_STREAM : 0));
	struct cp c = { .path = client_socket_path(o->socket), .sock = -1, .status = -1,
			.tty_progress = isatty(STDERR_FILENO) == 1, .t0 = now_ns() };
	copy_signals_catch();
	if (client_rx_init(&c.rx) < 0 || !(c.buf = malloc(PROTO_MAX_DATA))) {
		fprintf(stderr, "planet cp: %s\n", strerror(errno));
		client_rx_free(&c.rx);
		return EXIT_PLANET;
	}
	int r = request(&c, &pc);
	if (r == 0) {
		if (bdst)
			copy_in(&c, src, flags);
		else
			copy_out(&c, dst, flags);
		report_box(&c);
		r = c.status < 0 ? EXIT_PLANET : c.status;
	}
	if (c.sock >= 0)
		close(c.sock);
	client_rx_free(&c.rx);
	sb_free(&c.box_msg);
	free(c.buf);
	return r;
}
