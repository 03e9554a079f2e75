/* The supervisor's loop. One libuv loop owns everything that happens while
 * the box runs: the supervisor's own signals, init's exit (a pidfd), the
 * console relay, init's readiness notifications, the enter server and the
 * staged halt. Every handle has one job. */
#include "box/box.h"
#include "enter/enter.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#define CONSOLE_CHUNK 16384
#define CONSOLE_QUEUE_MAX (256 * 1024)
#define CONSOLE_LINE_MAX 4096	/* longer console lines are passed on in pieces */
#define CONSOLE_PARTIAL_MS 200	/* an unfinished line (a prompt) waits this long */
#define CONSOLE_PREFIX "console: " /* docs/LOGGING.md */
#define LOG_QUEUE_MAX (1024 * 1024) /* log lines beyond this are dropped and counted */

struct sup {
	uv_loop_t loop;
	struct box_run *run;
	const struct box_plan *plan;
	uv_signal_t sigs[3];
	uv_poll_t init_watch;
	uv_poll_t console_watch;
	uv_poll_t notify_watch;
	struct box_memwatch *memwatch;
	uv_timer_t stop_timer;
	uv_timer_t partial_timer;
	char partial[CONSOLE_LINE_MAX]; /* console text after the last newline */
	struct strbuf cout;		/* prefixed console lines being built */
	size_t n_partial;
	unsigned long log_dropped;
	uv_stream_t *out; /* stdout as a stream, NULL when it is a plain file */
	union {
		uv_pipe_t pipe;
		uv_tty_t tty;
	} out_handle;
	bool console_paused;
	bool ready_sent;
	unsigned halt_timeout; /* of the halt under way, for the deadline's message */
	struct enter_server *server;
	struct enter_box ebox;
	int status;
	enum box_end end;
};

static void sup_console_resume(struct sup *s);

/* ---- console relay: pty master -> stdout, never blocking the loop ---- */
struct out_req {
	uv_write_t req;
	struct sup *sup;
	char data[];
};

static void console_written(uv_write_t *req, int status)
{
	struct out_req *w = (struct out_req *)req;
	struct sup *s = w->sup;
	free(w);
	if (s->console_paused && uv_stream_get_write_queue_size(s->out) < CONSOLE_QUEUE_MAX / 2)
		sup_console_resume(s);
}

static void console_emit(struct sup *s, const char *buf, size_t n)
{
	if (!s->out) {
		(void)write_all(STDOUT_FILENO, buf, n);
		return;
	}
	struct out_req *w = malloc(sizeof *w + n);
	if (!w)
		return; /* console output is best effort; init is never blocked on it */
	w->sup = s;
	memcpy(w->data, buf, n);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, s->out, &b, 1, console_written) < 0) {
		free(w);
		return;
	}
	/* Backpressure: stop reading the pty while stdout is behind; init's
	 * console writes then wait in the pty, not in our memory. */
	if (uv_stream_get_write_queue_size(s->out) > CONSOLE_QUEUE_MAX && !s->console_paused) {
		uv_poll_stop(&s->console_watch);
		s->console_paused = true;
	}
}

/* The console is a tty: systemd ends its lines with "\r\n" (and the line
 * discipline adds another \r once systemd has reset the terminal), busybox
 * init starts its messages with "\r". Our stdout is a file or the journal,
 * where a \r inside a line makes journald store the line as binary
 * ("[30B blob data]"): drop every \r. */
static size_t console_drop_cr(char *buf, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (buf[i] != '\r')
			buf[j++] = buf[i];
	return j;
}

/* One console line for stdout: the prefix, which planet's own lines never
 * carry, then the line with the box's control characters escaped, so that
 * nothing the box prints passes for planet's word or moves the reader's
 * terminal. Appended to s->cout, written by console_out_flush. */
static void console_line(struct sup *s, const char *p, size_t n)
{
	static char esc[4 * CONSOLE_LINE_MAX + 2];
	size_t m = str_escape(esc, sizeof esc - 1, p, n, ESC_BACKSLASH);
	esc[m++] = '\n';
	/* best effort, as console_emit: a line that finds no memory is lost */
	size_t len = s->cout.len;
	if (sb_append(&s->cout, CONSOLE_PREFIX, sizeof CONSOLE_PREFIX - 1) < 0 ||
	    sb_append(&s->cout, esc, m) < 0)
		s->cout.len = len;
}

static void console_out_flush(struct sup *s)
{
	if (s->cout.len)
		console_emit(s, s->cout.s, s->cout.len);
	s->cout.len = 0;
}

static void console_flush_partial(struct sup *s)
{
	if (s->n_partial)
		console_line(s, s->partial, s->n_partial);
	s->n_partial = 0;
	console_out_flush(s);
}

/* An unfinished line that stays so (a login prompt) is passed on after a
 * while, as a line of its own; not while the console is paused: then the
 * rest of the line is still in the pty, unread. */
static void partial_timeout(uv_timer_t *t)
{
	struct sup *s = t->data;
	if (!s->console_paused)
		console_flush_partial(s);
}

/* Keep text of an unfinished line back in s->partial; what does not fit
 * is passed on in pieces of CONSOLE_LINE_MAX, each a line. */
static void console_keep(struct sup *s, const char *buf, size_t len)
{
	while (len) {
		if (s->n_partial == sizeof s->partial) {
			console_line(s, s->partial, s->n_partial);
			s->n_partial = 0;
		}
		size_t k = sizeof s->partial - s->n_partial;
		k = k < len ? k : len;
		memcpy(s->partial + s->n_partial, buf, k);
		s->n_partial += k;
		buf += k;
		len -= k;
	}
}

/* Console bytes -> whole prefixed lines. Text after the last newline is
 * kept back (bounded, and for a short while only). */
static void console_feed(struct sup *s, const char *buf, size_t n)
{
	const char *nl;
	while (n && (nl = memchr(buf, '\n', n))) {
		size_t len = (size_t)(nl - buf);
		if (!s->n_partial && len <= CONSOLE_LINE_MAX) {
			console_line(s, buf, len); /* the common case: no copy */
		} else {
			console_keep(s, buf, len);
			console_line(s, s->partial, s->n_partial);
			s->n_partial = 0;
		}
		buf = nl + 1;
		n -= len + 1;
	}
	console_keep(s, buf, n);
	console_out_flush(s);
	if (s->n_partial)
		uv_timer_start(&s->partial_timer, partial_timeout, CONSOLE_PARTIAL_MS, 0);
	else
		uv_timer_stop(&s->partial_timer);
}

/* A line of the supervisor's own (base/log.c) bound for stderr, when stderr
 * is the same file as stdout: queued behind the console output, never
 * blocking; dropped (and counted) while stdout is far behind. */
static void sup_log_line(void *ctx, const char *line, size_t n)
{
	struct sup *s = ctx;
	if (s->out && uv_stream_get_write_queue_size(s->out) > LOG_QUEUE_MAX) {
		s->log_dropped++;
		return;
	}
	if (s->log_dropped) {
		char m[96];
		int k = snprintf(m, sizeof m, "planet: %lu log lines dropped: stdout was stalled\n",
				 s->log_dropped);
		s->log_dropped = 0;
		console_emit(s, m, (size_t)k);
	}
	console_emit(s, line, n);
}

static void console_readable(uv_poll_t *h, int status, int events)
{
	struct sup *s = h->data;
	char buf[CONSOLE_CHUNK];
	ssize_t n = read(s->run->console_master, buf, sizeof buf);
	if (n > 0) {
		size_t m = console_drop_cr(buf, (size_t)n);
		if (m)
			console_feed(s, buf, m);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		uv_poll_stop(h); /* EIO: no slave open any more */
}

static void sup_console_resume(struct sup *s)
{
	s->console_paused = false;
	if (s->n_partial)
		uv_timer_start(&s->partial_timer, partial_timeout, CONSOLE_PARTIAL_MS, 0);
	uv_poll_start(&s->console_watch, UV_READABLE, console_readable);
}

/* stdout and stderr lead to one file or stream (2>&1, the unit's journal
 * stream): then planet's lines must queue behind the console's. */
static bool same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static void sup_stdout_open(struct sup *s)
{
	uv_handle_type t = uv_guess_handle(STDOUT_FILENO);
	if (t == UV_TTY && uv_tty_init(&s->loop, &s->out_handle.tty, STDOUT_FILENO, 0) == 0)
		s->out = (uv_stream_t *)&s->out_handle.tty;
	else if ((t == UV_NAMED_PIPE || t == UV_TCP) &&
		 uv_pipe_init(&s->loop, &s->out_handle.pipe, 0) == 0) {
		if (uv_pipe_open(&s->out_handle.pipe, STDOUT_FILENO) == 0)
			s->out = (uv_stream_t *)&s->out_handle.pipe;
		else
			uv_close((uv_handle_t *)&s->out_handle.pipe, NULL);
	}
}

/* ---- halting ---- */

/* Which signal halts this init: systemd wants SIGRTMIN+3 (it blocks it for
 * its signalfd, which /proc shows); busybox init powers off on SIGUSR2 but
 * shows no handler, so it is known by its binary; anything else gets
 * SIGTERM. Read at halt time, when init has set itself up. */
static int detect_stop_signal(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	_cleanup_free_ char *st = NULL;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = 0;
		const char *base = strrchr(exe, '/');
		if (strcmp(base ? base + 1 : exe, "busybox") == 0)
			return SIGUSR2;
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (read_file_at(AT_FDCWD, path, 1 << 16, &st, NULL, NULL) < 0)
		return SIGTERM;
	unsigned long long blk = 0, cgt = 0;
	char *p;
	if ((p = strstr(st, "SigBlk:")))
		blk = strtoull(p + 7, NULL, 16);
	if ((p = strstr(st, "SigCgt:")))
		cgt = strtoull(p + 7, NULL, 16);
	if ((blk | cgt) & (1ull << (SIGRTMIN + 3 - 1)))
		return SIGRTMIN + 3;
	return SIGTERM;
}

static void send_init(struct sup *s, int sig)
{
	if (syscall(SYS_pidfd_send_signal, s->run->init_pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		plog(LOG_ERR, "signal init: %s", strerror(errno));
}

static void stop_deadline(uv_timer_t *t)
{
	struct sup *s = t->data;
	plog(LOG_WARNING, "init did not halt within %us: killing the box", s->halt_timeout);
	box_sd_notifyf("STATUS=stopping: init did not halt within %us: killing the box",
		       s->halt_timeout);
	/* The enter server tells `planet stop` (it exits non-zero). */
	s->ebox.killed = true;
	cg_box_kill(&s->run->cg, SIGKILL);
	send_init(s, SIGKILL);
}

static void begin_halt(struct sup *s, unsigned timeout_sec)
{
	/* The enter server reads it too (STATUS: state=stopping). */
	if (s->ebox.halting)
		return;
	s->ebox.halting = true;
	/* A paused box's init cannot run its halt: thaw it first. */
	enter_server_resume(s->server);
	s->halt_timeout = timeout_sec;
	int sig = s->plan->stop_signal ? s->plan->stop_signal : detect_stop_signal(s->run->init_pid);
	char name[32];
	signal_name(sig, name, sizeof name);
	box_sd_notifyf("STOPPING=1\nSTATUS=stopping: %s to init, %us before it is killed", name,
		       timeout_sec);
	plog(LOG_NOTICE, "halting: %s to init, %us before it is killed", name, timeout_sec);
	enter_server_event(s->server, "state", "state", "stopping", EVENT_END);
	send_init(s, sig);
	uv_timer_start(&s->stop_timer, stop_deadline, (uint64_t)timeout_sec * 1000, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
	begin_halt(h->data, ((struct sup *)h->data)->plan->cfg->stop_timeout_sec);
}

static void on_stop_request(void *ctx, unsigned timeout_sec)
{
	struct sup *s = ctx;
	begin_halt(s, timeout_sec ? timeout_sec : s->plan->cfg->stop_timeout_sec);
}

/* ---- init's end ---- */

/* Close every handle but `keep` (stdout keeps its queued console output
 * until it is written; an idle stream does not keep the loop running). */
static void close_all(uv_handle_t *h, void *keep)
{
	if (h != keep && !uv_is_closing(h))
		uv_close(h, NULL);
}

static void map_exit(struct sup *s, const siginfo_t *si)
{
	char name[32], v[16];
	s->end = BOX_END_EXIT;
	snprintf(v, sizeof v, "%d", si->si_status);
	enter_server_event(s->server, "init", si->si_code == CLD_EXITED ? "status" : "signal", v,
			   EVENT_END);
	if (si->si_code == CLD_EXITED) {
		s->status = si->si_status;
		plog(LOG_NOTICE, "init exited with status %d", s->status);
		box_sd_notifyf("STATUS=stopped: init exited with status %d", s->status);
		return;
	}
	int sig = si->si_status;
	/* reboot(2) in a pid namespace ends init with SIGINT (halt, power-off)
	 * or SIGHUP (restart). */
	if (sig == SIGINT || (sig == SIGHUP && s->ebox.halting)) {
		/* A reboot while we asked for a halt is a halt. */
		s->status = 0;
		plog(LOG_NOTICE, "box halted");
		box_sd_notify(s->ebox.killed ? "STATUS=stopped: killed at the halt deadline"
					     : "STATUS=stopped: the box halted");
	} else if (sig == SIGHUP && s->plan->cfg->on_reboot == ON_REBOOT_RESTART) {
		s->status = 0;
		s->end = BOX_END_RESTART;
		plog(LOG_NOTICE, "box rebooting");
		enter_server_event(s->server, "state", "state", "rebooting", EVENT_END);
		box_sd_notify("STATUS=booting: the box asked to reboot");
	} else {
		s->status = 128 + sig;
		plog(LOG_WARNING, "init killed by %s", signal_name(sig, name, sizeof name));
		box_sd_notifyf("STATUS=stopped: init killed by %s%s", name,
			       s->ebox.killed ? " at the halt deadline" : "");
	}
}

static void init_exited(uv_poll_t *h, int status, int events)
{
	struct sup *s = h->data;
	siginfo_t si = { 0 };
	if (waitid(P_PIDFD, (id_t)s->run->init_pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	s->run->init_pid = -1;
	map_exit(s, &si);
	/* Drain what init said last before the console goes away (bounded:
	 * whatever still writes to it is being killed). */
	for (int i = 0; i < 64 && !s->console_paused; i++) {
		char buf[CONSOLE_CHUNK];
		ssize_t n = read(s->run->console_master, buf, sizeof buf);
		if (n <= 0)
			break;
		size_t m = console_drop_cr(buf, (size_t)n);
		if (m)
			console_feed(s, buf, m);
	}
	console_flush_partial(s);
	box_memwatch_stop(s->memwatch);
	if (s->server) {
		enter_server_close(s->server);
		s->server = NULL;
	}
	uv_walk(&s->loop, close_all, s->out);
}

/* ---- readiness ---- */

static void notify_readable(uv_poll_t *h, int status, int events)
{
	struct sup *s = h->data;
	char buf[4096];
	ssize_t n = recv(s->run->notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *l = buf, *nl; l; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		if (strcmp(l, "READY=1") == 0 && !s->ready_sent) {
			s->ready_sent = true;
			box_sd_notify("READY=1\nSTATUS=ready: the system inside reports ready");
			plog(LOG_INFO, "init reports ready");
			enter_server_event(s->server, "state", "state", "ready", EVENT_END);
		}
	}
}

static int sup_watch(struct sup *s, uv_poll_t *h, int fd, uv_poll_cb cb)
{
	h->data = s;
	if (uv_poll_init(&s->loop, h, fd) < 0)
		return -1;
	return uv_poll_start(h, UV_READABLE, cb);
}

static int sup_setup(struct sup *s, struct perr *e)
{
	static const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < 3; i++) {
		s->sigs[i].data = s;
		if (uv_signal_init(&s->loop, &s->sigs[i]) < 0 ||
		    uv_signal_start(&s->sigs[i], on_signal, signums[i]) < 0)
			return perr_set(e, 0, "signal handlers");
	}
	s->stop_timer.data = s;
	uv_timer_init(&s->loop, &s->stop_timer);
	s->partial_timer.data = s;
	uv_timer_init(&s->loop, &s->partial_timer);
	if (sup_watch(s, &s->init_watch, s->run->init_pidfd, init_exited) < 0 ||
	    sup_watch(s, &s->console_watch, s->run->console_master, console_readable) < 0)
		return perr_set(e, 0, "watch init");
	if (s->run->notify_fd >= 0 && sup_watch(s, &s->notify_watch, s->run->notify_fd, notify_readable) < 0)
		return perr_set(e, 0, "watch notify socket");
	sup_stdout_open(s);
	s->ebox = (struct enter_box){
		.cfg = s->plan->cfg,
		.cg = &s->run->cg,
		.init_pid = s->run->init_pid,
		.init_pidfd = s->run->init_pidfd,
		.started_unix = s->run->started_unix,
		.apply_security = box_apply_security,
		.request_stop = on_stop_request,
		.ctx = s,
	};
	snprintf(s->ebox.box_id, sizeof s->ebox.box_id, "%s", s->plan->box_id);
	if (same_file(STDOUT_FILENO, STDERR_FILENO))
		log_set_stderr_sink(sup_log_line, s);
	if (enter_server_start(&s->loop, &s->ebox, &s->server, e) < 0)
		return perr_wrap(e, "enter socket");
	s->memwatch = box_memwatch_start(&s->loop, &s->run->cg, s->server);
	enter_server_event(s->server, "state", "state", "running", EVENT_END);
	return 0;
}

enum box_end box_supervise(struct box_run *r, const struct box_plan *p, int *status)
{
	struct sup s = { .run = r, .plan = p, .status = 1, .end = BOX_END_EXIT };
	struct perr e = { 0 };
	if (uv_loop_init(&s.loop) < 0) {
		*status = 1;
		return BOX_END_EXIT;
	}
	if (sup_setup(&s, &e) < 0) {
		plog(LOG_ERR, "%s", e.msg);
		begin_halt(&s, 0);
	} else if (p->cfg->notify_ready == NOTIFY_START) {
		box_sd_notifyf("READY=1\nSTATUS=running: init pid %d", (int)r->init_pid);
	} else {
		box_sd_notifyf("STATUS=running: init pid %d, waiting for it to report ready",
			       (int)r->init_pid);
	}
	uv_run(&s.loop, UV_RUN_DEFAULT);
	/* Anything left (init died while a write was queued): close and drain. */
	uv_walk(&s.loop, close_all, NULL);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	log_set_stderr_sink(NULL, NULL);
	sb_free(&s.cout);
	uv_loop_close(&s.loop);
	box_memwatch_free(s.memwatch);
	*status = s.status;
	return s.end;
}

void box_sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof a.sun_path)
		return;
	memcpy(a.sun_path, path, len);
	if (a.sun_path[0] == '@')
		a.sun_path[0] = 0; /* abstract socket */
	_cleanup_fd_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&a,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
}

void box_sd_notifyf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* One line per field: a newline in a message (an error text) would
	 * start a field of its own. */
	for (char *c = strchr(msg, '\n'); c; c = strchr(c + 1, '\n'))
		if (strncmp(c + 1, "STATUS=", 7) != 0)
			*c = ' ';
	box_sd_notify(msg);
}
