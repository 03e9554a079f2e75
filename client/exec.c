/* The exec/enter session on the client side: the request, then a blocking
 * poll() loop over the socket, stdin and a signalfd. The socket is
 * non-blocking with a bounded outgoing queue, and stdin is only read while
 * that queue has room: a client that blocked on the socket while the box's
 * process blocked on its stdout would deadlock. Writes to our own stdout and
 * stderr are blocking, which is the backpressure the server expects: while
 * fd 1 cannot take more we read nothing from the socket. A lost connection
 * is never reported as success.
 *
 * When fd 1 or 2 is a pipe, the payload of a large STDOUT/STDERR frame is
 * not read at all: once its header is in, splice() moves the payload from
 * the socket into the pipe (the server spliced it into the socket from the
 * process's pipe, so the bytes are never copied on the way; docs/
 * BENCHMARKS.md, finding 2). To leave payloads in the socket, reads are then
 * small (RX_PEEK): they take headers and small frames, whose payloads are
 * written as before. */
#include "client/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTQ_HIGH (256 * 1024) /* stop reading stdin above this much unsent */
#define RX_PEEK 4096	       /* a read while fd 1 or 2 is a pipe */
#define RX_SPLICE_MIN 4096     /* payload bytes left in the socket worth a splice */

struct sess {
	const char *path;
	int sock, sigfd;
	bool tty, want_stdin, stdin_open, sock_writable, started;
	bool detach; /* exec -d: STARTED is the end */
	uint16_t version; /* asked for in EXEC */
	bool retry;	  /* the server refused that version */
	struct strbuf outq; /* frames not yet sent */
	size_t outq_off;
	struct client_rx rx;
	bool pipe_out[3];   /* fd 1, fd 2: a pipe we may splice into */
	int spl_fd;	    /* a frame's payload is being spliced to this fd */
	size_t spl_left;    /* bytes of it still in the socket */
	bool spl_copy;	    /* the fd refused splice: read and write the rest */
	bool spl_grown[3];  /* F_SETPIPE_SZ tried on fd 1, fd 2 */
	bool spl_last;	    /* the last payload was spliced: expect another */
	int status; /* -1 while running */
	bool ended_by_signal; /* EXIT said a signal: did the box go away? */
};

static int fail(struct sess *s, const char *fmt, const char *arg)
{
	fputs("planet: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	s->status = EXIT_PLANET;
	return -1;
}

static int queue_failed(struct sess *s)
{
	return fail(s, "cannot queue a frame: %s", strerror(errno));
}

static void flush_out(struct sess *s)
{
	while (s->sock_writable && s->outq_off < s->outq.len) {
		ssize_t n = send(s->sock, s->outq.s + s->outq_off, s->outq.len - s->outq_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* The server closed its end; whatever it said last (ERROR,
			 * EXIT) is still readable, so keep reading, stop sending. */
			s->sock_writable = false;
			s->stdin_open = false;
			break;
		}
		s->outq_off += (size_t)n;
	}
	if (s->outq_off == s->outq.len || !s->sock_writable)
		s->outq.len = s->outq_off = 0;
}

/* ---- what we send: signals and stdin --------------------------------------- */

static int on_signals(struct sess *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		int r;
		enum client_sig act = client_tty_signal((int)si.ssi_signo);
		if (act == CSIG_NONE)
			continue;
		if (act == CSIG_RESIZE) {
			if (!s->tty)
				continue;
			uint16_t rows, cols;
			client_winsize(&rows, &cols);
			r = proto_put_resize(&s->outq, rows, cols);
		} else {
			r = proto_put_u32(&s->outq, PK_SIGNAL, si.ssi_signo);
		}
		if (r < 0)
			return queue_failed(s);
	}
	return 0;
}

static int on_stdin(struct sess *s)
{
	static char buf[PROTO_MAX_DATA];
	ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n > 0)
		return proto_put_data(&s->outq, PK_STDIN, buf, (size_t)n) < 0 ? queue_failed(s) : 0;
	/* EOF, or an error that ends our input (EIO on a hung-up terminal):
	 * either way the process sees end of input. */
	s->stdin_open = false;
	return proto_put_empty(&s->outq, PK_STDIN_EOF) < 0 ? queue_failed(s) : 0;
}

/* ---- what we receive: the server's frames ---------------------------------- */

/* Output for fd 1 or 2. A reader that went away (EPIPE) on stdout ends the
 * session as it would end any program writing into a closed pipe: quietly,
 * with 128+SIGPIPE; closing the connection makes the server hang up the
 * process. Errors on stderr are ignored: there is nowhere to report them. */
static int on_output(struct sess *s, int fd, const struct proto_frame *f)
{
	if (client_write_full(fd, f->payload, f->len) == 0 || fd == STDERR_FILENO)
		return 0;
	if (errno == EPIPE) {
		s->status = 128 + SIGPIPE;
		return -1;
	}
	return fail(s, "write to stdout: %s", strerror(errno));
}

static int exit_status(const struct proto_frame *f)
{
	bool signaled;
	uint32_t v;
	proto_get_exit(f, &signaled, &v); /* proto_decode checked the ranges */
	return signaled ? 128 + (int)v : (int)v;
}

/* The server's refusal of our version, asked for before anything started.
 * A server of version 3 or later says so with the code PE_VERSION, which
 * only the server itself sets (what a process in the box said has codes of
 * its own). An older server has no codes: its ERROR 255 message starts
 * "EXEC: protocol version N is not supported", as the protocol prescribes.
 * At the start only: such a server marks what a process in the box said
 * ("in the box: ..."), so the box cannot make us run a command twice. */
static bool version_refused(const struct sess *s, const struct proto_frame *f)
{
	struct proto_error pe;
	if (s->version <= PROTO_VERSION_MIN || proto_get_error(f, &pe) < 0 ||
	    pe.status != EXIT_PLANET)
		return false;
	if (pe.code != PE_NONE)
		return pe.code == PE_VERSION;
	char needle[64];
	int n = snprintf(needle, sizeof needle, "EXEC: protocol version %u is not supported",
			 (unsigned)s->version);
	return pe.msg_len >= (size_t)n && memcmp(pe.msg, needle, (size_t)n) == 0;
}

/* A version 3 server from before exec -d refuses its flag as it refuses
 * any unknown bit: that ERROR, by its code and the start of its message,
 * which only the server writes before STARTED. */
static bool detach_refused(const struct proto_frame *f)
{
	static const char needle[] = "EXEC: unknown flags 0x04";
	struct proto_error pe;
	return proto_get_error(f, &pe) == 0 && pe.code == PE_BAD_REQUEST &&
	       pe.msg_len >= sizeof needle - 1 && memcmp(pe.msg, needle, sizeof needle - 1) == 0;
}

/* Handle one frame from the server. -1 ends the session (status set, or
 * retry). */
static int on_frame(struct sess *s, const struct proto_frame *f)
{
	switch (f->kind) {
	case PK_STARTED:
		if (s->started)
			break;
		s->started = true;
		if (s->detach) { /* it runs on without us: done */
			s->status = 0;
			return -1;
		}
		return 0;
	case PK_STDOUT:
	case PK_STDERR:
		if (!s->started)
			break;
		return on_output(s, f->kind == PK_STDOUT ? STDOUT_FILENO : STDERR_FILENO, f);
	case PK_EXIT:
		if (!s->started)
			break;
		s->status = exit_status(f);
		s->ended_by_signal = s->status > 128;
		return -1;
	case PK_ERROR:
		if (!s->started && version_refused(s, f)) {
			s->retry = true;
			return -1;
		}
		if (!s->started && s->detach && detach_refused(f)) {
			return fail(s, "the box's server is older than this client: it cannot run a "
				       "command detached (%s)", "EXEC flag 0x04");
		}
		s->status = client_report_error(f);
		return -1;
	}
	s->status = client_unexpected(f, s->started ? "during the session" : "before STARTED");
	return -1;
}

/* Wait until a full pipe has room again; false when it has room now. */
static bool pipe_full_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, 0) != 0)
		return false;
	p.revents = 0;
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	return true;
}

/* The rest of a payload the fd would not take by splice: read and write. */
static int payload_copy(struct sess *s)
{
	size_t cap = 4 + (size_t)PROTO_MAX_FRAME; /* the receive buffer is empty now */
	ssize_t n = recv(s->sock, s->rx.buf, s->spl_left < cap ? s->spl_left : cap, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		return fail(s, "connection to the box lost: %s", strerror(errno));
	if (n == 0)
		return fail(s, "connection to %s closed before the process exited", s->path);
	s->spl_left -= (size_t)n;
	struct proto_frame f = { .kind = 0, .payload = s->rx.buf, .len = (uint32_t)n };
	return on_output(s, s->spl_fd, &f);
}

/* Move the rest of the current payload from the socket to its pipe. */
static int payload_splice(struct sess *s)
{
	while (s->spl_left) {
		if (s->spl_copy) {
			if (payload_copy(s) < 0)
				return -1;
			if (s->spl_left)
				return 0;
			break;
		}
		ssize_t k = splice(s->sock, NULL, s->spl_fd, NULL, s->spl_left, SPLICE_F_MOVE);
		if (k > 0) {
			s->spl_left -= (size_t)k;
			continue;
		}
		if (k == 0)
			return fail(s, "connection to %s closed before the process exited", s->path);
		if (errno == EINTR)
			continue;
		/* The socket is non-blocking, which makes a splice into a full
		 * pipe fail with EAGAIN too: block on the pipe (as a write
		 * would), or go back to waiting for the socket. */
		if (errno == EAGAIN) {
			if (pipe_full_wait(s->spl_fd))
				continue;
			return 0;
		}
		if (errno == EPIPE && s->spl_fd == STDOUT_FILENO) {
			s->status = 128 + SIGPIPE;
			return -1;
		}
		/* Anything else is the output's doing (stderr's errors are
		 * ignored, as on_output does): from now on read and write. */
		s->pipe_out[s->spl_fd] = false;
		s->spl_copy = true;
	}
	s->spl_copy = false;
	return 0;
}

/* A data frame whose header is in and whose payload mostly is not: write
 * what we hold, splice the rest. 0 when it is not such a frame. */
static int payload_begin(struct sess *s)
{
	struct proto_frame f;
	size_t total;
	if (!s->started || client_rx_begun(&s->rx, &f, &total) != 1 ||
	    (f.kind != PK_STDOUT && f.kind != PK_STDERR))
		return 0;
	int fd = f.kind == PK_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
	if (!s->pipe_out[fd] || total - f.len < RX_SPLICE_MIN)
		return 0;
	if (!s->spl_grown[fd]) {
		/* Fewer, larger wake-ups of whoever reads the pipe; optional. */
		s->spl_grown[fd] = true;
		if (fcntl(fd, F_GETPIPE_SZ) < PROTO_PIPE_BIG)
			(void)fcntl(fd, F_SETPIPE_SZ, PROTO_PIPE_BIG);
	}
	client_rx_drop(&s->rx);
	if (f.len && on_output(s, fd, &f) < 0)
		return -1;
	s->spl_fd = fd;
	s->spl_left = total - f.len;
	s->spl_last = true;
	return payload_splice(s);
}

static int on_socket(struct sess *s)
{
	if (s->spl_left)
		return payload_splice(s);
	bool peek = s->pipe_out[STDOUT_FILENO] || s->pipe_out[STDERR_FILENO];
	size_t max = !peek ? SIZE_MAX : s->spl_last ? PROTO_HDR : RX_PEEK;
	ssize_t n = client_rx_fill_upto(&s->rx, s->sock, max);
	s->spl_last = false;
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0)
		return fail(s, "connection to the box lost: %s", strerror(errno));
	struct proto_frame f;
	struct perr e = { 0 };
	int r;
	while ((r = client_rx_next(&s->rx, &f, &e)) == 1)
		if (on_frame(s, &f) < 0)
			return -1;
	if (r < 0)
		return fail(s, "protocol error: %s", e.msg);
	if (n == 0)
		return fail(s, "connection to %s closed before the process exited", s->path);
	return peek ? payload_begin(s) : 0;
}

/* ---- the loop -------------------------------------------------------------- */

static int poll_once(struct sess *s)
{
	bool pending = s->outq.len > s->outq_off;
	/* Not before STARTED: if the server refuses our version, what we read
	 * must still be there for the next attempt. */
	bool read_stdin = s->want_stdin && s->stdin_open && s->started &&
			  s->outq.len - s->outq_off < OUTQ_HIGH;
	struct pollfd p[3] = {
		{ .fd = s->sock, .events = POLLIN | (pending ? POLLOUT : 0) },
		{ .fd = s->sigfd, .events = POLLIN },
		{ .fd = read_stdin ? STDIN_FILENO : -1, .events = POLLIN },
	};
	if (poll(p, 3, -1) < 0)
		return errno == EINTR ? 0 : fail(s, "poll: %s", strerror(errno));
	if (p[1].revents && on_signals(s) < 0)
		return -1;
	if (p[2].revents && on_stdin(s) < 0)
		return -1;
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR) && on_socket(s) < 0)
		return -1;
	flush_out(s);
	return 0;
}

static int run_session(struct sess *s)
{
	flush_out(s);
	while (poll_once(s) == 0)
		;
	return s->status;
}

/* ---- exec / enter ------------------------------------------------------ */

static int build_request(const struct client_opts *o, uint16_t version, struct strbuf *out)
{
	/* env: TERM first (a TTY session wants the client's terminal type),
	 * then -e entries in order; the server applies later entries over
	 * earlier ones. */
	_cleanup_free_ char **env = calloc(o->nenv + 2, sizeof *env);
	struct strbuf term = { 0 };
	if (!env)
		return -1;
	size_t n = 0;
	const char *tv = getenv("TERM");
	if (o->tty && tv && *tv) {
		if (sb_printf(&term, "TERM=%s", tv) < 0)
			return -1;
		env[n++] = term.s;
	}
	for (size_t off = 0, i = 0; i < o->nenv; i++) {
		env[n++] = o->envs.s + off;
		off += strlen(o->envs.s + off) + 1;
	}
	static char *login_shell[] = { "", NULL };
	struct proto_exec x = {
		.version = version,
		.tty = o->tty,
		.want_stdin = o->interactive,
		.argv = o->argc ? o->argv : login_shell,
		.env = env,
		.user = (char *)(o->user ? o->user : ""),
		.cwd = (char *)(o->workdir ? o->workdir : ""),
		.timeout_sec = o->timeout,
		.detach = o->detach,
	};
	if (o->tty)
		client_winsize(&x.rows, &x.cols);
	int r = proto_put_exec(out, &x);
	sb_free(&term);
	return r;
}

/* A process killed by a signal may have been killed by the box's halt
 * (init's "kill everything" on the way down): then say that the box went
 * away, as ssh says "Connection to host closed.", once the terminal is
 * back to normal. Asked of the server only after a signal death. */
static void report_box_gone(const struct sess *s)
{
	char state[32];
	int r = client_box_state(s->path, state, sizeof state);
	if (r == 0)
		fprintf(stderr, "planet: the box at %s is gone: the session ended with it\n", s->path);
	else if (r == 1 && strcmp(state, "running") != 0)
		fprintf(stderr, "planet: the box at %s is %s: the session ended with it\n", s->path,
			state);
}

/* One connection: the request, then the session. */
static void attempt(const struct client_opts *o, struct sess *s)
{
	s->outq.len = s->outq_off = 0;
	s->rx.len = s->rx.off = 0;
	s->sock_writable = s->stdin_open = true;
	s->started = s->retry = false;
	s->spl_left = 0;
	if (build_request(o, s->version, &s->outq) < 0) {
		fprintf(stderr, "planet %s: cannot build the request: %s%s\n", o->cmd,
			strerror(errno), errno == EMSGSIZE ? " (the limit is 1 MiB)" : "");
		s->status = EXIT_PLANET;
		return;
	}
	struct perr e = { 0 };
	s->sock = client_dial(s->path, &e);
	if (s->sock < 0 || fcntl(s->sock, F_SETFL, O_NONBLOCK) < 0) {
		fprintf(stderr, "planet: %s\n", s->sock < 0 ? e.msg : strerror(errno));
		s->status = EXIT_PLANET;
	} else {
		if (o->tty && o->interactive)
			client_term_raw();
		s->ended_by_signal = false;
		run_session(s);
		client_term_restore();
		if (s->ended_by_signal)
			report_box_gone(s);
	}
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
}

int client_exec_session(const struct client_opts *o)
{
	struct sess s = { .path = client_socket_path(o->socket), .sock = -1, .sigfd = -1,
			  .tty = o->tty, .want_stdin = o->interactive, .detach = o->detach,
			  .status = -1 };
	signal(SIGPIPE, SIG_IGN);
	for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
		struct stat st;
		s.pipe_out[fd] = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
	}
	s.sigfd = client_signals_fd();
	if (s.sigfd < 0 || client_rx_init(&s.rx) < 0) {
		fprintf(stderr, "planet: %s\n", strerror(errno));
		s.status = EXIT_PLANET;
	}
	/* A server older than this client refuses its version before starting
	 * anything: ask again with the one below (docs/PROTOCOL.md, section 9). */
	for (int v = PROTO_VERSION; s.status < 0 && v >= PROTO_VERSION_MIN; v--) {
		if (o->detach && v < 3) {
			fprintf(stderr, "planet exec: the box's server does not speak protocol "
					"version 3: it cannot run a command detached\n");
			s.status = EXIT_PLANET;
			break;
		}
		s.version = (uint16_t)v;
		attempt(o, &s);
		if (s.retry)
			s.status = -1;
	}
	if (s.sigfd >= 0)
		close(s.sigfd);
	client_rx_free(&s.rx);
	sb_free(&s.outq);
	return s.status;
}
