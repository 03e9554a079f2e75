/*
 * relay: a stand-alone model of the enter API's stdout path, to show what it
 * costs and what splice(2) would save. Not planet code; evidence for
 * docs/BENCHMARKS.md ("stdout throughput").
 *
 *   producer | relay MODE [PIPE_BYTES] | consumer
 *
 * A "server" process reads stdin (a pipe, like a session's stdout pipe) and
 * sends 64 KiB frames (5-byte header + data, like planet's STDOUT frames)
 * over a unix stream socketpair to a "client" process, which writes the data
 * to stdout (a pipe).
 *   MODE copy    read() + writev() on the server, recv() + write() on the
 *                client: what planet does (4 copies more than a plain pipe)
 *   MODE splice  the server sends the header (MSG_MORE) and splice()s the
 *                data pipe -> socket; the client reads the header and
 *                splice()s socket -> stdout pipe (no copy through user space)
 *   PIPE_BYTES   optional F_SETPIPE_SZ for stdin and stdout (e.g. 1048576)
 *
 * Example (1 GiB in the page cache; compare the CPU times):
 *   time sh -c 'busybox cat BIG | relay copy | cat >/dev/null'
 *   time sh -c 'busybox cat BIG | relay splice 1048576 | cat >/dev/null'
 *   time sh -c 'busybox cat BIG | cat >/dev/null'
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXD 65536

static int read_full(int fd, void *b, size_t n)
{
	for (size_t o = 0; o < n;) {
		ssize_t r = read(fd, (char *)b + o, n - o);
		if (r <= 0)
			return -1;
		o += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *b, size_t n)
{
	for (size_t o = 0; o < n;) {
		ssize_t w = write(fd, (const char *)b + o, n - o);
		if (w <= 0)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

static void header(uint8_t h[5], size_t n)
{
	h[0] = (uint8_t)(n >> 24);
	h[1] = (uint8_t)(n >> 16);
	h[2] = (uint8_t)(n >> 8);
	h[3] = (uint8_t)n;
	h[4] = 0x82; /* STDOUT */
}

static void server(int sock, int spl)
{
	static char buf[MAXD];
	uint8_t h[5];
	for (;;) {
		if (spl) {
			struct pollfd p = { .fd = 0, .events = POLLIN };
			int avail = 0;
			if (poll(&p, 1, -1) < 0 || ioctl(0, FIONREAD, &avail) < 0)
				exit(1);
			if (avail == 0)
				break; /* EOF */
			size_t n = avail > MAXD ? MAXD : (size_t)avail;
			header(h, n);
			if (send(sock, h, 5, MSG_MORE) != 5)
				exit(1);
			while (n > 0) {
				ssize_t m = splice(0, NULL, sock, NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);
				if (m <= 0)
					exit(1);
				n -= (size_t)m;
			}
		} else {
			ssize_t n = read(0, buf, sizeof buf);
			if (n <= 0)
				break;
			header(h, (size_t)n);
			if (write_full(sock, h, 5) < 0 || write_full(sock, buf, (size_t)n) < 0)
				exit(1);
		}
	}
}

static void client(int sock, int spl)
{
	static char buf[MAXD];
	uint8_t h[5];
	while (read_full(sock, h, 5) == 0) {
		size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		if (n > MAXD)
			exit(1);
		if (spl) {
			while (n > 0) {
				ssize_t m = splice(sock, NULL, 1, NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);
				if (m <= 0)
					exit(1);
				n -= (size_t)m;
			}
		} else if (read_full(sock, buf, n) < 0 || write_full(1, buf, n) < 0) {
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "copy") && strcmp(argv[1], "splice"))) {
		fprintf(stderr, "usage: producer | relay copy|splice [PIPE_BYTES] | consumer\n");
		return 2;
	}
	int spl = strcmp(argv[1], "splice") == 0, sv[2];
	if (argc > 2) {
		fcntl(0, F_SETPIPE_SZ, atoi(argv[2]));
		fcntl(1, F_SETPIPE_SZ, atoi(argv[2]));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	pid_t p = fork();
	if (p == 0) {
		close(sv[1]);
		server(sv[0], spl);
		_exit(0);
	}
	close(sv[0]);
	close(0);
	client(sv[1], spl);
	waitpid(p, NULL, 0);
	return 0;
}
