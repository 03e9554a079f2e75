/* The client commands: planet exec, planet enter, planet stop, planet status.
 *
 * One connection per command, framed as docs/PROTOCOL.md says. exec/enter run
 * a blocking poll() loop over the socket, stdin and a signalfd. The socket is
 * non-blocking with a bounded outgoing queue, and stdin is only read while
 * that queue has room: a client that blocked on the socket while the box's
 * process blocked on its stdout would deadlock. Writes to our own stdout and
 * stderr are blocking, which is the backpressure the server expects: while
 * fd 1 cannot take more we read nothing from the socket.
 *
 * Every status planet makes up itself is 255, so a script can tell it from
 * the process's own codes; a lost connection is never reported as success. */
#include "enter/enter.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/planet/enter.sock"
#define EXIT_PLANET 255
#define EXIT_NOT_RUNNING 3 /* planet status: LSB "program is not running" */
#define OUTQ_HIGH (256 * 1024) /* stop reading stdin above this much unsent */
#define RX_CAP (4 + (size_t)PROTO_MAX_FRAME) /* one whole frame of the largest size */

extern char **environ;

/* ---- small helpers -------------------------------------------------------- */

static const char *socket_path(const char *opt)
{
	const char *env = getenv("PLANET_SOCKET");
	if (opt)
		return opt;
	return env && *env ? env : DEFAULT_SOCKET;
}

/* Messages from the server go to a terminal: never let them carry control
 * sequences. */
static void print_clean(FILE *out, const uint8_t *s, size_t n, bool keep_newlines)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7f)
			c = '?';
		fputc(c, out);
	}
}

/* Write everything, also when someone left fd non-blocking. */
static int write_full(int fd, const void *buf, size_t len)
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
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int dial(const char *path, struct perr *e)
{
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

/* Received bytes: frames are decoded in place, consumed from `off`, and the
 * remainder moved to the front before the next read. Never more than one
 * maximal frame is held. */
struct rx {
	uint8_t *buf;
	size_t len, off;
};

static void rx_compact(struct rx *r)
{
	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
}

/* 1: a frame; 0: need more bytes; -1: protocol error (message in e). */
static int rx_next(struct rx *r, struct proto_frame *f, struct perr *e)
{
	size_t used;
	int n = proto_decode(r->buf + r->off, r->len - r->off, f, &used, e);
	if (n == 1)
		r->off += used;
	return n;
}

/* Read what the socket has. Returns bytes read, 0 at EOF, -1 on error
 * (EAGAIN included, which callers treat as "nothing yet"). */
static ssize_t rx_fill(struct rx *r, int fd)
{
	rx_compact(r);
	ssize_t n;
	do
		n = recv(fd, r->buf + r->len, RX_CAP - r->len, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		r->len += (size_t)n;
	return n;
}

/* Blocking: the next whole frame. 1 frame, 0 EOF, -1 error (message in e). */
static int rx_wait(struct rx *r, int fd, struct proto_frame *f, struct perr *e)
{
	for (;;) {
		int n = rx_next(r, f, e);
		if (n)
			return n < 0 ? perr_wrap(e, "protocol error") : 1;
		ssize_t got = rx_fill(r, fd);
		if (got == 0)
			return r->len ? perr_set(e, 0, "connection closed inside a frame") : 0;
		if (got < 0)
			return perr_set(e, errno, "read from the socket");
	}
}

/* Print an ERROR frame and turn its suggested status into ours: never 0. */
static int report_error(const struct proto_frame *f)
{
	uint32_t status = (uint32_t)f->payload[0] << 24 | (uint32_t)f->payload[1] << 16 |
			  (uint32_t)f->payload[2] << 8 | f->payload[3];
	fputs("planet: ", stderr);
	print_clean(stderr, f->payload + 4, f->len - 4, false);
	fputc('\n', stderr);
	return status >= 1 && status <= 255 ? (int)status : EXIT_PLANET;
}

static int unexpected(const struct proto_frame *f, const char *when)
{
	fprintf(stderr, "planet: protocol error: unexpected %s frame from the server %s\n",
		proto_kind_name(f->kind), when);
	return EXIT_PLANET;
}

/* ---- option parsing ---------------------------------------------------- */

struct opts {
	const char *cmd; /* "exec", ... for messages */
	const char *socket;
	bool tty, interactive, json;
	const char *user, *workdir;
	uint32_t timeout;
	struct strbuf envs; /* NUL-separated K=V entries */
	size_t nenv;
	char **argv; /* the command, into the caller's argv */
	int argc;
};

static int usage_error(const struct opts *o, const char *fmt, const char *arg)
{
	fprintf(stderr, "planet %s: ", o->cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see planet %s --help)\n", o->cmd);
	return -1;
}

static int add_env(struct opts *o, const char *kv, size_t n)
{
	if (sb_append(&o->envs, kv, n) < 0 || sb_append(&o->envs, "", 1) < 0) {
		fprintf(stderr, "planet %s: out of memory\n", o->cmd);
		return -1;
	}
	o->nenv++;
	return 0;
}

/* -e K=V sets; -e K passes the client's own K, if set. */
static int opt_env(struct opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (eq == arg || !*arg)
		return usage_error(o, "--env '%s': expected NAME=VALUE or NAME", arg);
	if (eq)
		return add_env(o, arg, strlen(arg));
	const char *v = getenv(arg);
	if (!v)
		return 0;
	struct strbuf kv = { 0 };
	int r = sb_printf(&kv, "%s=%s", arg, v) < 0 ? -1 : add_env(o, kv.s, kv.len);
	sb_free(&kv);
	return r;
}

static int opt_timeout(struct opts *o, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (!*arg || *end || errno || arg[0] == '-' || v > UINT32_MAX)
		return usage_error(o, "--timeout '%s': expected a number of seconds", arg);
	o->timeout = (uint32_t)v;
	return 0;
}

enum { OPT_SOCKET = 0x100, OPT_TIMEOUT, OPT_JSON };

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "tty", no_argument, NULL, 't' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "user", required_argument, NULL, 'u' },
	{ "env", required_argument, NULL, 'e' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Is option c one that command `allowed` (a list of option chars, with
 * S=socket T=timeout J=json) accepts? */
static bool allowed(const char *accepts, int c)
{
	char k = c == OPT_SOCKET ? 'S' : c == OPT_TIMEOUT ? 'T' : c == OPT_JSON ? 'J' : (char)c;
	return strchr(accepts, k) != NULL;
}

static int apply_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_SOCKET:
		if (!*arg)
			return usage_error(o, "--socket%s: empty path", "");
		o->socket = arg;
		return 0;
	case 't': o->tty = true; return 0;
	case 'i': o->interactive = true; return 0;
	case 'u':
		if (!*arg)
			return usage_error(o, "--user%s: empty user", "");
		o->user = arg;
		return 0;
	case 'e': return opt_env(o, arg);
	case 'w':
		if (arg[0] != '/')
			return usage_error(o, "--workdir '%s': must be an absolute path", arg);
		o->workdir = arg;
		return 0;
	case OPT_TIMEOUT: return opt_timeout(o, arg);
	case OPT_JSON: o->json = true; return 0;
	}
	return -1;
}

/* Returns 1 for --help, 0 to go on, -1 on a usage error. */
static int parse_opts(struct opts *o, int argc, char **argv, const char *shorts,
		      const char *accepts)
{
	optind = 0; /* glibc: full re-initialisation; main may have used getopt */
	opterr = 0;
	int c;
	while ((optopt = 0, c = getopt_long(argc, argv, shorts, long_opts, NULL)) != -1) {
		/* A short option inside a group ("-tz") is named by optopt;
		 * argv[optind - 1] would be the word before it. */
		char shortname[3] = { '-', (char)optopt, 0 };
		const char *prev = argv[optind - 1];
		bool is_long = strncmp(prev, "--", 2) == 0;
		const char *name = optopt > 0 && optopt < 0x100 && !is_long ? shortname : prev;
		if (c == 'h' && allowed(accepts, c))
			return 1;
		if (c == ':')
			return usage_error(o, "option '%s' needs a value", name);
		if (c == '?' || !allowed(accepts, c))
			return usage_error(o, "unknown option '%s'", c == '?' ? name : prev);
		if (apply_opt(o, c, optarg) < 0)
			return -1;
	}
	o->argv = argv + optind;
	o->argc = argc - optind;
	return 0;
}

static const char exec_help[] =
	"usage: planet exec [OPTIONS] [--] CMD [ARG...]\n"
	"Run CMD inside the running box; CMD is found on the box's PATH.\n"
	"\n"
	"  -t, --tty              allocate a terminal (raw mode here when -i is given too)\n"
	"  -i, --interactive      send stdin to the process until EOF (default: /dev/null)\n"
	"  -u, --user USER[:GROUP] run as a user of the box's /etc/passwd (default root)\n"
	"  -e, --env NAME=VALUE   set a variable (repeatable); -e NAME passes ours\n"
	"  -w, --workdir DIR      working directory (default: the user's home)\n"
	"      --socket PATH      enter socket (default $PLANET_SOCKET or " DEFAULT_SOCKET ")\n"
	"\n"
	"Exit status: the process's; 128+N if killed by signal N; 126 not executable;\n"
	"127 not found; 255 if planet itself failed (connection, refusal, protocol).\n";

static const char enter_help[] =
	"usage: planet enter [OPTIONS] [--] [CMD [ARG...]]\n"
	"Open a terminal session in the running box: CMD, or the user's login shell\n"
	"from the box's /etc/passwd (else /bin/sh).\n"
	"\n"
	"  -u, --user USER[:GROUP] run as a user of the box (default root)\n"
	"  -e, --env NAME=VALUE   set a variable (repeatable); -e NAME passes ours\n"
	"  -w, --workdir DIR      working directory (default: the user's home)\n"
	"      --socket PATH      enter socket (default $PLANET_SOCKET or " DEFAULT_SOCKET ")\n"
	"\n"
	"Exit status as for planet exec.\n";

static const char stop_help[] =
	"usage: planet stop [--socket PATH] [--timeout SEC]\n"
	"Halt the box (init's halt signal, then SIGKILL after the timeout) and wait\n"
	"until it is gone. --timeout 0 or none: the box's configured timeout.\n"
	"Exit status: 0 when the box is gone or was not running, 255 on failure.\n";

static const char status_help[] =
	"usage: planet status [--socket PATH] [--json]\n"
	"Show whether the box runs, its id, init pid, uptime, rootfs and open\n"
	"sessions, as key=value lines or one JSON object.\n"
	"Exit status: 0 running, 3 not running, 255 on failure.\n";

/* ---- the exec/enter session ------------------------------------------------ */

struct sess {
	const char *path;
	int sock, sigfd;
	bool tty, want_stdin, stdin_open, sock_writable, started;
	struct strbuf outq; /* frames not yet sent */
	size_t outq_off;
	struct rx rx;
	int status; /* -1 while running */
};

static void get_winsize(uint16_t *rows, uint16_t *cols)
{
	struct winsize ws;
	*rows = *cols = 0; /* unknown: the server leaves the pty's default */
	for (int fd = 0; fd <= 2; fd++)
		if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
			*rows = ws.ws_row;
			*cols = ws.ws_col;
			return;
		}
}

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

static int on_signals(struct sess *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		int r;
		if (si.ssi_signo == SIGWINCH) {
			if (!s->tty)
				continue;
			uint16_t rows, cols;
			get_winsize(&rows, &cols);
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
	uint8_t hdr[PROTO_HDR];
	proto_header(hdr, PK_STDIN_EOF, 0);
	return sb_append(&s->outq, (const char *)hdr, sizeof hdr) < 0 ? queue_failed(s) : 0;
}

/* Output for fd 1 or 2. A reader that went away (EPIPE) on stdout ends the
 * session as it would end any program writing into a closed pipe: quietly,
 * with 128+SIGPIPE; closing the connection makes the server hang up the
 * process. Errors on stderr are ignored: there is nowhere to report them. */
static int on_output(struct sess *s, int fd, const struct proto_frame *f)
{
	if (write_full(fd, f->payload, f->len) == 0 || fd == STDERR_FILENO)
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

/* Handle one frame from the server. -1 ends the session (status set). */
static int on_frame(struct sess *s, const struct proto_frame *f)
{
	switch (f->kind) {
	case PK_STARTED:
		if (s->started)
			break;
		s->started = true;
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
		return -1;
	case PK_ERROR:
		s->status = report_error(f);
		return -1;
	}
	s->status = unexpected(f, s->started ? "during the session" : "before STARTED");
	return -1;
}

static int on_socket(struct sess *s)
{
	ssize_t n = rx_fill(&s->rx, s->sock);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0)
		return fail(s, "connection to the box lost: %s", strerror(errno));
	struct proto_frame f;
	struct perr e = { 0 };
	int r;
	while ((r = rx_next(&s->rx, &f, &e)) == 1)
		if (on_frame(s, &f) < 0)
			return -1;
	if (r < 0)
		return fail(s, "protocol error: %s", e.msg);
	if (n == 0)
		return fail(s, "connection to %s closed before the process exited", s->path);
	return 0;
}

static int poll_once(struct sess *s)
{
	bool pending = s->outq.len > s->outq_off;
	bool read_stdin = s->want_stdin && s->stdin_open && s->outq.len - s->outq_off < OUTQ_HIGH;
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

/* ---- terminal handling ------------------------------------------------- */

struct term {
	bool raw;
	struct termios saved;
};

static void term_raw(struct term *t)
{
	struct termios raw;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		t->raw = true;
}

static void term_restore(struct term *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &t->saved);
	t->raw = false;
}

/* The signals a session forwards, plus WINCH. They are taken through a
 * signalfd so none of them can kill the client while the terminal is raw;
 * the mask stays as it is: the process exits when the command returns. */
static int signals_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* ---- exec / enter ------------------------------------------------------ */

static int build_request(const struct opts *o, struct strbuf *out)
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
		.tty = o->tty,
		.want_stdin = o->interactive,
		.argv = o->argc ? o->argv : login_shell,
		.env = env,
		.user = (char *)(o->user ? o->user : ""),
		.cwd = (char *)(o->workdir ? o->workdir : ""),
	};
	if (o->tty)
		get_winsize(&x.rows, &x.cols);
	int r = proto_put_exec(out, &x);
	sb_free(&term);
	return r;
}

static int exec_session(struct opts *o)
{
	struct sess s = { .path = socket_path(o->socket), .sock = -1, .sigfd = -1,
			  .tty = o->tty, .want_stdin = o->interactive, .stdin_open = true,
			  .sock_writable = true, .status = -1 };
	if (build_request(o, &s.outq) < 0) {
		fprintf(stderr, "planet %s: cannot build the request: %s%s\n", o->cmd,
			strerror(errno), errno == EMSGSIZE ? " (the limit is 1 MiB)" : "");
		sb_free(&s.outq);
		return EXIT_PLANET;
	}
	signal(SIGPIPE, SIG_IGN);
	s.sigfd = signals_fd();
	struct perr e = { 0 };
	s.sock = dial(s.path, &e);
	if (s.sigfd < 0 || s.sock < 0 || fcntl(s.sock, F_SETFL, O_NONBLOCK) < 0 ||
	    !(s.rx.buf = malloc(RX_CAP))) {
		fprintf(stderr, "planet: %s\n", s.sock < 0 ? e.msg : strerror(errno));
		s.status = EXIT_PLANET;
	} else {
		struct term t = { 0 };
		if (o->tty && o->interactive)
			term_raw(&t);
		run_session(&s);
		term_restore(&t);
	}
	if (s.sock >= 0)
		close(s.sock);
	if (s.sigfd >= 0)
		close(s.sigfd);
	free(s.rx.buf);
	sb_free(&s.outq);
	return s.status;
}

#define GO_ON (-1) /* client_main: options parsed, run the command */

/* Parse options; answer --help and usage errors. Returns an exit status, or
 * GO_ON. */
static int client_main(struct opts *o, int argc, char **argv, const char *shorts,
		       const char *accepts, const char *help)
{
	int r = parse_opts(o, argc, argv, shorts, accepts);
	if (r == 1) {
		fputs(help, stdout);
		return 0;
	}
	if (r < 0)
		return EXIT_PLANET;
	return GO_ON;
}

int planet_exec_main(int argc, char **argv)
{
	struct opts o = { .cmd = "exec" };
	int r = client_main(&o, argc, argv, "+:htiu:e:w:", "Stiuewh", exec_help);
	if (r == GO_ON && o.argc == 0) {
		usage_error(&o, "a command is required%s", "");
		r = EXIT_PLANET;
	}
	if (r == GO_ON)
		r = exec_session(&o);
	sb_free(&o.envs);
	return r;
}

int planet_enter_main(int argc, char **argv)
{
	struct opts o = { .cmd = "enter" };
	int r = client_main(&o, argc, argv, "+:hu:e:w:", "Suewh", enter_help);
	if (r == GO_ON) {
		o.tty = o.interactive = true;
		r = exec_session(&o);
	}
	sb_free(&o.envs);
	return r;
}

/* ---- stop / status --------------------------------------------------------- */

/* Connect and send one control request. Returns the socket, or -1 with a
 * message in e; *not_running tells "no box there" from other failures. */
static int control_request(const char *path, const struct strbuf *req, bool *not_running,
			   struct perr *e)
{
	*not_running = false;
	signal(SIGPIPE, SIG_IGN);
	_cleanup_fd_ int fd = dial(path, e);
	if (fd < 0) {
		*not_running = e->errnum == ENOENT || e->errnum == ECONNREFUSED;
		return -1;
	}
	if (write_full(fd, req->s, req->len) < 0)
		return perr_set(e, errno, "send to %s", path);
	return take_fd(&fd);
}

static int stop_box(const struct opts *o)
{
	const char *path = socket_path(o->socket);
	struct strbuf req = { 0 };
	struct perr e = { 0 };
	bool not_running;
	if (proto_put_stop(&req, o->timeout) < 0) {
		sb_free(&req);
		return EXIT_PLANET;
	}
	_cleanup_fd_ int fd = control_request(path, &req, &not_running, &e);
	sb_free(&req);
	if (fd < 0 && not_running) {
		fprintf(stderr, "planet: no box is running at %s (nothing to stop)\n", path);
		return 0;
	}
	if (fd < 0) {
		fprintf(stderr, "planet: %s\n", e.msg);
		return EXIT_PLANET;
	}
	struct rx rx = { .buf = malloc(RX_CAP) };
	if (!rx.buf)
		return EXIT_PLANET;
	struct proto_frame f;
	int status = EXIT_PLANET;
	int r = rx_wait(&rx, fd, &f, &e);
	if (r < 0)
		fprintf(stderr, "planet: %s\n", e.msg);
	else if (r == 0)
		fprintf(stderr, "planet: connection to %s closed before the halt began\n", path);
	else if (f.kind == PK_ERROR)
		status = report_error(&f);
	else if (f.kind != PK_STOP_ACK)
		unexpected(&f, "in answer to STOP");
	/* The halt has begun; the server holds the connection until the box is
	 * gone, so EOF is our "done". */
	else if ((r = rx_wait(&rx, fd, &f, &e)) == 0)
		status = 0;
	else if (r < 0)
		fprintf(stderr, "planet: %s\n", e.msg);
	else
		unexpected(&f, "after STOP_ACK");
	free(rx.buf);
	return status;
}

int planet_stop_main(int argc, char **argv)
{
	struct opts o = { .cmd = "stop" };
	int r = client_main(&o, argc, argv, "+:h", "STh", stop_help);
	if (r == GO_ON && o.argc) {
		usage_error(&o, "unexpected argument '%s'", o.argv[0]);
		r = EXIT_PLANET;
	}
	return r == GO_ON ? stop_box(&o) : r;
}

/* Keys whose values are integers, printed as JSON numbers. */
static bool numeric_key(const char *k, size_t n)
{
	static const char *const keys[] = { "init_pid", "uptime_sec", "sessions" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0)
			return true;
	return false;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void json_string(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The reply is "key=value\n" lines; lines without '=' are skipped. */
static void print_status_json(const char *text, size_t len)
{
	fputs("{\"running\":true", stdout);
	for (const char *line = text, *end = text + len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		const char *eq = memchr(line, '=', n);
		if (eq && eq != line) {
			size_t kn = (size_t)(eq - line), vn = n - kn - 1;
			putchar(',');
			json_string(line, kn);
			putchar(':');
			if (numeric_key(line, kn) && all_digits(eq + 1, vn))
				fwrite(eq + 1, 1, vn, stdout);
			else
				json_string(eq + 1, vn);
		}
		line += n + 1;
	}
	fputs("}\n", stdout);
}

static int print_status(const struct opts *o, const struct proto_frame *f)
{
	if (o->json) {
		print_status_json((const char *)f->payload, f->len);
	} else {
		fputs("running=yes\n", stdout);
		print_clean(stdout, f->payload, f->len, true);
		if (f->len && f->payload[f->len - 1] != '\n')
			putchar('\n');
	}
	return fflush(stdout) == 0 ? 0 : EXIT_PLANET;
}

static int status_box(const struct opts *o)
{
	const char *path = socket_path(o->socket);
	struct strbuf req = { 0 };
	struct perr e = { 0 };
	bool not_running;
	if (proto_put_status(&req) < 0) {
		sb_free(&req);
		return EXIT_PLANET;
	}
	_cleanup_fd_ int fd = control_request(path, &req, &not_running, &e);
	sb_free(&req);
	if (fd < 0 && not_running) {
		fputs(o->json ? "{\"running\":false}\n" : "running=no\n", stdout);
		return EXIT_NOT_RUNNING;
	}
	if (fd < 0) {
		fprintf(stderr, "planet: %s\n", e.msg);
		return EXIT_PLANET;
	}
	struct rx rx = { .buf = malloc(RX_CAP) };
	if (!rx.buf)
		return EXIT_PLANET;
	struct proto_frame f;
	int status = EXIT_PLANET;
	int r = rx_wait(&rx, fd, &f, &e);
	if (r < 0)
		fprintf(stderr, "planet: %s\n", e.msg);
	else if (r == 0)
		fprintf(stderr, "planet: connection to %s closed before the status came\n", path);
	else if (f.kind == PK_ERROR)
		status = report_error(&f);
	else if (f.kind != PK_STATUS_REPLY)
		unexpected(&f, "in answer to STATUS");
	else
		status = print_status(o, &f);
	free(rx.buf);
	return status;
}

int planet_status_main(int argc, char **argv)
{
	struct opts o = { .cmd = "status" };
	int r = client_main(&o, argc, argv, "+:h", "SJh", status_help);
	if (r == GO_ON && o.argc) {
		usage_error(&o, "unexpected argument '%s'", o.argv[0]);
		r = EXIT_PLANET;
	}
	return r == GO_ON ? status_box(&o) : r;
}
