/* planet dial-stdio: the remote end of `planet -H ssh://`. Connects to the
 * enter socket here and relays stdin to it and it to stdout, byte for byte
 * (docker's `system dial-stdio`): the client on the other side of ssh speaks
 * the protocol itself. End of stdin shuts the socket's sending side (the
 * server sees the client's end, as it would locally); end of the socket ends
 * the relay once what it sent is written.
 *
 * Its exit statuses stay clear of ssh's 255 and a shell's 127, so that the
 * client can tell them apart: 0 done, 1 a failure, 2 a bad option, 3 no box
 * answers at the socket. */
#include "client/internal.h"
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BUF 65536 /* one STDIN frame's data: what a read brings at most */

static const char dial_stdio_help[] =
	"usage: planet dial-stdio [OPTIONS]\n"
	"Relay stdin to the box's enter socket and the socket to stdout, until the\n"
	"socket closes: the remote command of planet -H ssh://HOST (the client runs\n"
	"it through ssh). The ssh user's rights at the socket apply.\n"
	"\n"
	"      --socket PATH       the enter socket (default $PLANET_SOCKET, the\n"
	"                          socket of $PLANET_CONFIG, or /run/planet/enter.sock)\n"
	"  -h, --help              show this text\n"
	"\n"
	"Exit status:\n"
	"  0    the socket closed (the session is over)\n"
	"  1    a failure: the socket or stdin/stdout\n"
	"  2    a bad option or configuration\n"
	"  3    no box answers at the socket\n";

/* One direction: read into buf when empty, write it all out before the
 * next read, so that each side's flow control reaches the other. */
struct leg {
	int in, out;
	bool eof;
	size_t len, off;
	char buf[RELAY_BUF];
};

static struct pollfd leg_poll(const struct leg *l)
{
	if (l->off < l->len)
		return (struct pollfd){ .fd = l->out, .events = POLLOUT };
	return (struct pollfd){ .fd = l->eof ? -1 : l->in, .events = POLLIN };
}

/* 0 on, -1 when the out side failed (the reader went away). */
static int leg_step(struct leg *l, short revents)
{
	if (!revents)
		return 0;
	if (l->off < l->len) {
		ssize_t n = write(l->out, l->buf + l->off, l->len - l->off);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		l->off += (size_t)n;
		if (l->off == l->len)
			l->off = l->len = 0;
		return 0;
	}
	ssize_t n = read(l->in, l->buf, sizeof l->buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) /* an error ends the input as EOF does */
		l->eof = true;
	else
		l->len = (size_t)n;
	return 0;
}

static int relay(int sock)
{
	static struct leg up, down; /* stdin -> socket, socket -> stdout */
	up = (struct leg){ .in = STDIN_FILENO, .out = sock };
	down = (struct leg){ .in = sock, .out = STDOUT_FILENO };
	bool shut = false;
	for (;;) {
		if (up.eof && up.len == 0 && !shut) {
			shutdown(sock, SHUT_WR);
			shut = true;
		}
		if (down.eof && down.len == 0)
			return 0;
		struct pollfd p[2] = { leg_poll(&up), leg_poll(&down) };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (leg_step(&up, p[0].revents) < 0 || leg_step(&down, p[1].revents) < 0)
			return -1;
	}
}

/* Non-blocking stdin and stdout for the relay, their flags put back after
 * (they may be a terminal's, shared with a shell). */
static int set_nonblock(int fd, int *saved)
{
	*saved = fcntl(fd, F_GETFL);
	return *saved < 0 ? -1 : fcntl(fd, F_SETFL, *saved | O_NONBLOCK);
}

static int run(const char *socket_opt)
{
	_cleanup_free_ char *path = NULL, *state_dir = NULL;
	struct perr e = { 0 };
	if (config_locate(NULL, NULL, socket_opt, environ, &path, &state_dir, &e) < 0) {
		fprintf(stderr, "planet dial-stdio: %s\n", e.msg);
		return 2;
	}
	_cleanup_fd_ int sock = client_dial(path, &e);
	if (sock < 0) {
		fprintf(stderr, "planet dial-stdio: %s\n", e.msg);
		return e.errnum == ENOENT || e.errnum == ECONNREFUSED ? 3 : 1;
	}
	signal(SIGPIPE, SIG_IGN);
	int fl_in, fl_out;
	if (set_nonblock(STDIN_FILENO, &fl_in) < 0 || set_nonblock(STDOUT_FILENO, &fl_out) < 0 ||
	    fcntl(sock, F_SETFL, O_NONBLOCK) < 0) {
		fprintf(stderr, "planet dial-stdio: %s\n", strerror(errno));
		return 1;
	}
	int r = relay(sock);
	if (r < 0 && errno != EPIPE) /* EPIPE: the client's side went first */
		fprintf(stderr, "planet dial-stdio: relay: %s\n", strerror(errno));
	fcntl(STDIN_FILENO, F_SETFL, fl_in);
	fcntl(STDOUT_FILENO, F_SETFL, fl_out);
	return r < 0 ? 1 : 0;
}

int planet_dial_stdio_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_opt = NULL;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(dial_stdio_help, stdout);
			return 0;
		}
		if (c == 's' && *optarg) {
			socket_opt = optarg;
			continue;
		}
		fprintf(stderr, "planet dial-stdio: %s '%s' (see planet dial-stdio --help)\n",
			c == 's' ? "empty path for" : c == ':' ? "a value is needed for" : "unknown option",
			argv[optind - 1]);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "planet dial-stdio: unexpected argument '%s' (see planet dial-stdio "
				"--help)\n", argv[optind]);
		return 2;
	}
	return run(socket_opt);
}
