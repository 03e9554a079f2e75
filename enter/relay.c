/* A session's output, process -> client: its stdout and stderr pipes, or
 * the pty master of a tty session, sent as STDOUT/STDERR frames.
 *
 * Pipes are spliced. Copying every byte through the supervisor (read, then
 * write to the socket) cost four copies more than a plain pipe and 5x its
 * CPU per GiB (docs/BENCHMARKS.md, finding 2). Instead, for each frame:
 * FIONREAD says how much the pipe holds, the 5-byte header goes with
 * send(MSG_MORE), and splice() moves that many bytes from the pipe into the
 * socket: the kernel hands the pipe's pages to the socket, nothing passes
 * through user space.
 *
 * Order on the socket is what must never break. A splice only starts while
 * the connection's libuv write queue is empty, and it is sized to the room
 * the socket has (SIOCOUTQ against SO_SNDBUF), so it normally goes whole.
 * When it does not (a header or payload only partly taken), the rest of that
 * frame is read from the pipe (it is there: we are its only reader and
 * FIONREAD counted it) and queued through the libuv write path like any
 * other frame; splicing resumes only once that queue is empty again.
 *
 * Waiting: while the socket has no room we stop watching the pipes and
 * watch a dup of the socket for POLLOUT instead (libuv owns the socket's
 * own fd, and one fd cannot have two watchers on one loop). The process then
 * blocks in write once its pipe is full, which is the flow control: a client
 * that stops reading stalls only its own session. Small amounts (below
 * RELAY_SPLICE_MIN), EOF and a pty master take the read path: read into the
 * loop's scratch buffer and conn_send_data, paused while more than OUT_HIGH bytes
 * wait for the client, resumed at OUT_LOW.
 *
 * Pipes start at the kernel's default size and grow to PROTO_PIPE_BIG the first
 * time one is seen full: bulk output then moves in few large frames, while
 * the pipe buffers that an idle or chatty session pins (accounted to root's
 * pipe-user-pages, which the box's own root processes share) stay small. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define OUT_HIGH (128 * 1024) /* read path: stop reading above this much queued */
#define OUT_LOW (32 * 1024)
#define RELAY_SPLICE_MIN (16 * 1024) /* less than this in the pipe: read and copy */
#define ROOM_MIN (64 * 1024)   /* less room in the socket: wait for POLLOUT */
#define SKB_SLACK 1024	       /* the kernel's per-skb overhead, per 64 KiB sent */
#define SNDBUF PROTO_PIPE_BIG	       /* asked for; the kernel doubles it */

struct relay_src {
	uv_poll_t poll;
	struct enter_relay *r;
	int fd;
	uint8_t kind;
	bool open, active, grown;
};

struct enter_relay {
	struct enter_conn *c;
	relay_cb cb;
	void *ctx;
	struct relay_src src[2];
	uv_poll_t sockw; /* a dup of the client socket, watched for POLLOUT */
	int sockw_fd;
	bool sockw_open;
	size_t sndbuf;
	size_t max_frame;
	size_t room_min;
	bool splice; /* pipes, and the kernel has not refused a splice */
	bool on, sock_full, paused;
};

/* ---- handles -------------------------------------------------------------- */

static void src_closed(uv_handle_t *h)
{
	struct relay_src *s = h->data;
	close(s->fd);
	conn_unref(s->r->c);
}

static void sockw_closed(uv_handle_t *h)
{
	struct enter_relay *r = h->data;
	close(r->sockw_fd);
	conn_unref(r->c);
}

void relay_close(struct enter_relay *r, int i)
{
	for (int k = 0; k < 2; k++) {
		struct relay_src *s = &r->src[k];
		if ((i < 0 || i == k) && s->open) {
			s->open = s->active = false;
			uv_close((uv_handle_t *)&s->poll, src_closed);
		}
	}
	if (i < 0)
		r->on = false;
	/* The socket's watch serves the pipes only. */
	if (r->sockw_open && !r->src[RELAY_OUT].open && !r->src[RELAY_ERR].open) {
		r->sockw_open = false;
		uv_close((uv_handle_t *)&r->sockw, sockw_closed);
	}
}

bool relay_open(const struct enter_relay *r, int i)
{
	return r->src[i].open;
}

size_t relay_buffered(const struct enter_relay *r, int i)
{
	int n = 0;
	if (!r->src[i].open || ioctl(r->src[i].fd, FIONREAD, &n) < 0 || n < 0)
		return 0;
	return (size_t)n;
}

void relay_free(struct enter_relay *r)
{
	free(r);
}

/* ---- when to read ------------------------------------------------------- */

static void src_readable(uv_poll_t *h, int status, int events);

static bool may_read(struct enter_relay *r)
{
	if (!r->on || r->sock_full)
		return false;
	size_t q = conn_queued(r->c);
	if (r->splice)
		return q == 0; /* a splice must not overtake queued bytes */
	if (q > OUT_HIGH)
		r->paused = true;
	else if (q <= OUT_LOW)
		r->paused = false;
	return !r->paused;
}

static void update(struct enter_relay *r)
{
	bool want = may_read(r);
	for (int i = 0; i < 2; i++) {
		struct relay_src *s = &r->src[i];
		if (!s->open || s->active == want)
			continue;
		s->active = want;
		if (want)
			uv_poll_start(&s->poll, UV_READABLE, src_readable);
		else
			uv_poll_stop(&s->poll);
	}
}

void relay_reading(struct enter_relay *r, bool on)
{
	r->on = on;
	update(r);
}

void relay_drained(struct enter_relay *r)
{
	update(r);
}

static void sock_writable(uv_poll_t *h, int status, int events)
{
	struct enter_relay *r = h->data;
	uv_poll_stop(&r->sockw);
	r->sock_full = false;
	update(r);
}

/* Wait for POLLOUT on the socket (for unix sockets: 3/4 of the send buffer
 * free). Without a watcher we cannot wait, so we stop splicing. */
static void wait_room(struct enter_relay *r)
{
	if (!r->sockw_open) {
		int fd = conn_fd(r->c);
		r->sockw_fd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (r->sockw_fd < 0 || uv_poll_init(conn_loop(r->c), &r->sockw, r->sockw_fd) < 0) {
			if (r->sockw_fd >= 0)
				close(r->sockw_fd);
			r->splice = false;
			update(r);
			return;
		}
		r->sockw.data = r;
		r->sockw_open = true;
		conn_ref(r->c);
	}
	r->sock_full = true;
	uv_poll_start(&r->sockw, UV_WRITABLE, sock_writable);
	update(r);
}

/* ---- moving bytes --------------------------------------------------------- */

static void src_eof(struct enter_relay *r, const struct relay_src *s)
{
	int i = (int)(s - r->src);
	relay_close(r, i);
	r->cb(r->ctx, i, 0);
}

static void sent(struct enter_relay *r, const struct relay_src *s, size_t n)
{
	r->cb(r->ctx, (int)(s - r->src), n);
	update(r);
}

/* The read path: one read into the scratch buffer, one frame. */
static void copy_once(struct enter_relay *r, struct relay_src *s)
{
	size_t len;
	uint8_t *buf = enter_scratch(&len);
	if (len > r->max_frame)
		len = r->max_frame;
	ssize_t n = read(s->fd, buf, len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF; EIO on a pty master whose slave is gone */
		src_eof(r, s);
		return;
	}
	conn_send_data(r->c, s->kind, buf, (size_t)n);
	sent(r, s, (size_t)n);
}

/* A frame went out only in part: read the rest of its payload from the
 * pipe and queue it behind the part of the header still missing. */
static void finish_by_copy(struct enter_relay *r, struct relay_src *s, const uint8_t *hdr,
			   size_t hlen, size_t left)
{
	size_t cap;
	uint8_t *buf = enter_scratch(&cap);
	if (hlen && conn_send_raw(r->c, hdr, hlen) < 0)
		return;
	while (left) {
		ssize_t n = read(s->fd, buf, left < cap ? left : cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Cannot happen (FIONREAD counted these bytes and we are
			 * the pipe's only reader); if it did, the frame can never
			 * be completed: end the connection, the client sees it cut
			 * inside a frame and fails. */
			conn_end(r->c);
			return;
		}
		if (conn_send_raw(r->c, buf, (size_t)n) < 0)
			return;
		left -= (size_t)n;
	}
}

/* Room in the socket's send buffer, minus the kernel's overhead for n bytes. */
static size_t sock_room(const struct enter_relay *r, int sock, size_t n)
{
	int q = 0;
	if (ioctl(sock, SIOCOUTQ, &q) < 0 || q < 0)
		return n; /* unknown: try; a short splice is handled */
	size_t used = (size_t)q + SKB_SLACK * (2 + n / 65536);
	return used < r->sndbuf ? r->sndbuf - used : 0;
}

static void splice_frame(struct enter_relay *r, struct relay_src *s, int sock, size_t n)
{
	uint8_t hdr[PROTO_HDR];
	proto_header(hdr, s->kind, (uint32_t)n);
	ssize_t h = send(sock, hdr, sizeof hdr, MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL);
	if (h < 0 && (errno == EAGAIN || errno == EINTR)) {
		wait_room(r);
		return;
	}
	if (h < 0) { /* the client is gone: the read path reports it */
		copy_once(r, s);
		return;
	}
	size_t done = 0;
	while ((size_t)h == sizeof hdr && done < n) {
		ssize_t k = splice(s->fd, NULL, sock, NULL, n - done, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
			r->splice = false; /* this kernel will not: read from now on */
		break;
	}
	if ((size_t)h < sizeof hdr || done < n)
		finish_by_copy(r, s, hdr + h, sizeof hdr - (size_t)h, n - done);
	sent(r, s, n);
}

static void src_readable(uv_poll_t *h, int status, int events)
{
	struct relay_src *s = h->data;
	struct enter_relay *r = s->r;
	int avail = 0, sock = conn_fd(r->c);
	if (!r->splice || sock < 0 || ioctl(s->fd, FIONREAD, &avail) < 0 || avail < RELAY_SPLICE_MIN) {
		copy_once(r, s);
		return;
	}
	if (!s->grown && (size_t)avail >= 65536) {
		s->grown = true;
		(void)fcntl(s->fd, F_SETPIPE_SZ, PROTO_PIPE_BIG); /* an optimisation only */
	}
	size_t n = (size_t)avail < r->max_frame ? (size_t)avail : r->max_frame;
	size_t room = sock_room(r, sock, n);
	if (room < n) {
		if (room < r->room_min) {
			wait_room(r);
			return;
		}
		n = room;
	}
	splice_frame(r, s, sock, n);
}

/* ---- set-up --------------------------------------------------------------- */

static int src_init(struct enter_relay *r, int i, int fd)
{
	struct relay_src *s = &r->src[i];
	s->r = r;
	s->fd = fd;
	s->kind = i == RELAY_ERR ? PK_STDERR : PK_STDOUT;
	if (fd < 0)
		return 0;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    uv_poll_init(conn_loop(r->c), &s->poll, fd) < 0) {
		close(fd);
		return -1;
	}
	s->poll.data = s;
	s->open = true;
	conn_ref(r->c);
	return 0;
}

int relay_new(struct enter_relay **out, struct enter_conn *c, const int fds[2], bool tty,
	      size_t max_frame, relay_cb cb, void *ctx, struct perr *e)
{
	struct enter_relay *r = *out = calloc(1, sizeof *r);
	if (!r) {
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return perr_set(e, ENOMEM, "output relay");
	}
	r->c = c;
	r->cb = cb;
	r->ctx = ctx;
	r->sockw_fd = -1;
	r->max_frame = max_frame;
	int sock = conn_fd(c), sb = SNDBUF;
	socklen_t sl = sizeof sb;
	/* A send buffer of a few frames lets the next frame go whole while the
	 * client drains the previous ones (the default, 208 KiB, cost a third
	 * more CPU). What it holds are the pipe's pages, charged to the box that
	 * wrote them. SO_SNDBUFFORCE: net.core.wmem_max does not bind root. */
	if (!tty && setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof sb) < 0)
		(void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
	if (sock < 0 || getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sb, &sl) < 0 || sb <= 0)
		sb = 0;
	r->sndbuf = (size_t)sb;
	r->room_min = r->sndbuf / 2 < ROOM_MIN ? r->sndbuf / 2 : ROOM_MIN;
	/* Without a known send buffer we could not size a splice. */
	r->splice = !tty && r->sndbuf > 0;
	int rc = 0;
	for (int i = 0; i < 2; i++)
		if (src_init(r, i, fds[i]) < 0)
			rc = -1;
	return rc < 0 ? perr_set(e, ENOMEM, "output relay") : 0;
}
