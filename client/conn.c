/* The client's side of a connection: dialing the socket, blocking writes,
 * the receive buffer that frames are decoded from, and printing what the
 * server says (ERROR frames, unexpected frames) safely on a terminal. Shared
 * by the exec/enter session (client_exec.c) and stop/status
 * (client_control.c). With -H ssh:// the connection is ssh's socketpair
 * (remote.c), which hears here what the server sent. */
#include "client/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RX_CAP (4 + (size_t)PROTO_MAX_FRAME) /* one whole frame of the largest size */

/* Messages from the server go to a terminal: never let them carry control
 * sequences. */
void client_print_clean(FILE *out, const uint8_t *s, size_t n, bool keep_newlines)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7f)
			c = '?';
		fputc(c, out);
	}
}

/* Write everything, also when someone left fd non-blocking. */
int client_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			client_remote_lost(fd); /* ssh's end, when it never answered */
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int client_dial(const char *path, struct perr *e)
{
	if (client_remote_active()) /* -H ssh://: path is the URL */
		return client_remote_dial(e);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return perr_set(e, ENAMETOOLONG, "cannot connect to %s", path);
	memcpy(sa.sun_path, path, strlen(path));
	_cleanup_fd_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return perr_set(e, errno, "socket");
	int r;
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int err = errno;
		perr_set(e, err, "cannot connect to %s", path);
		if (err == ENOENT || err == ECONNREFUSED)
			snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
				 " (is the box running?)");
		return -1;
	}
	return take_fd(&fd);
}

/* ---- received bytes -------------------------------------------------------- */

int client_rx_init(struct client_rx *r)
{
	r->len = r->off = 0;
	r->buf = malloc(RX_CAP);
	return r->buf ? 0 : -1;
}

void client_rx_free(struct client_rx *r)
{
	free(r->buf);
	r->buf = NULL;
}

static void rx_compact(struct client_rx *r)
{
	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
}

/* 1: a frame; 0: need more bytes; -1: protocol error (message in e). */
int client_rx_next(struct client_rx *r, struct proto_frame *f, struct perr *e)
{
	size_t used;
	int n = proto_decode(r->buf + r->off, r->len - r->off, f, &used, e);
	if (n == 1)
		r->off += used;
	return n;
}

int client_rx_begun(const struct client_rx *r, struct proto_frame *f, size_t *total)
{
	const uint8_t *p = r->buf + r->off;
	size_t held = r->len - r->off;
	if (held < PROTO_HDR || proto_frame_total(p, held, total) != 1)
		return 0;
	*total -= PROTO_HDR; /* the payload's */
	f->kind = p[4];
	f->payload = p + PROTO_HDR;
	f->len = (uint32_t)(held - PROTO_HDR);
	return 1;
}

void client_rx_drop(struct client_rx *r)
{
	r->off = r->len;
}

ssize_t client_rx_fill_upto(struct client_rx *r, int fd, size_t max)
{
	rx_compact(r);
	size_t room = RX_CAP - r->len;
	ssize_t n;
	do
		n = recv(fd, r->buf + r->len, room < max ? room : max, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		r->len += (size_t)n;
		client_remote_heard(fd);
	} else if (n == 0 || errno != EAGAIN) {
		client_remote_lost(fd);
	}
	return n;
}

/* Read what the socket has. Returns bytes read, 0 at EOF, -1 on error
 * (EAGAIN included, which callers treat as "nothing yet"). */
ssize_t client_rx_fill(struct client_rx *r, int fd)
{
	return client_rx_fill_upto(r, fd, RX_CAP);
}

/* Blocking: the next whole frame. 1 frame, 0 EOF, -1 error (message in e). */
int client_rx_wait(struct client_rx *r, int fd, struct proto_frame *f, struct perr *e)
{
	for (;;) {
		int n = client_rx_next(r, f, e);
		if (n)
			return n < 0 ? perr_wrap(e, "protocol error") : 1;
		ssize_t got = client_rx_fill(r, fd);
		if (got == 0)
			return r->len ? perr_set(e, 0, "connection closed inside a frame") : 0;
		if (got < 0)
			return perr_set(e, errno, "read from the socket");
	}
}

/* ---- what the server says -------------------------------------------------- */

/* Print an ERROR frame and turn its suggested status into ours: never 0. */
int client_report_error(const struct proto_frame *f)
{
	struct proto_error pe;
	if (proto_get_error(f, &pe) < 0)
		return EXIT_PLANET;
	fputs("planet: ", stderr);
	client_print_clean(stderr, (const uint8_t *)pe.msg, pe.msg_len, false);
	fputc('\n', stderr);
	return pe.status >= 1 && pe.status <= 255 ? (int)pe.status : EXIT_PLANET;
}

int client_unexpected(const struct proto_frame *f, const char *when)
{
	fprintf(stderr, "planet: protocol error: unexpected %s frame from the server %s\n",
		proto_kind_name(f->kind), when);
	return EXIT_PLANET;
}
