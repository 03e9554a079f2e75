/* One exec session: a process in the box, relayed over one connection.
 *
 * Handles, each with one job:
 *   pid_watch     the leader's pidfd: readable once it exited; we reap it
 *                 at once (a zombie of ours would keep a halting box's init
 *                 from finishing its exit)
 *   status_watch  the spawn status pipe: the in-box pid, or why exec failed
 *   relay         stdout and stderr to the client (relay.c): the pipes, or
 *                 the pty master with a tty
 *   in            the stdin pipe (no tty, stdin requested); with a tty a
 *                 dup of the pty master, written for input
 *   timer         the exit grace, or the hangup grace after a disconnect
 *
 * The session ends when the leader has exited, the status pipe is done and
 * the output is drained. "Drained" means: what was buffered in the pipes
 * when the leader exited (FIONREAD) has been relayed, and then either EOF or
 * EXIT_GRACE_MS more, so a background child that keeps stdout open cannot
 * hold the session. A client that reads slowly only slows this down.
 *
 * Frames the client sends before the process has exec'd are held by the
 * connection (conn_hold) and handled once STARTED is out, so STARTED is
 * always the first frame and a protocol error can only follow it.
 *
 * Flow control, both ways bounded: the relay stops reading the process
 * while the client does not keep up; reading the client stops while more
 * than IN_HIGH bytes wait for the process's stdin.
 *
 * Client gone (EOF, error, protocol error): SIGHUP to the session's process
 * group, SIGKILL to it HANGUP_GRACE_MS later; the leader is reaped whatever
 * happens, and the session's memory goes when its last handle has closed.
 * A detached session (exec -d, detached.c) has no relay and no stdin, and
 * its client's going is no hangup. The record is in internal.h. */
#include "enter/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#define IN_HIGH (128 * 1024)
#define IN_LOW (32 * 1024)
#define EXIT_GRACE_MS 200
#define HANGUP_GRACE_MS 2000
#define TIMEOUT_GRACE_MS 2000 /* exec --timeout: SIGTERM, then this, then SIGKILL */

static void maybe_finish(struct enter_session *s);
static void drain_begin(struct enter_session *s);
static void spawn_abandon(struct enter_session *s);

/* It never ran, or its output will not be waited for: fail with why. */
static void fail(struct enter_session *s, uint32_t status, enum proto_err code, const char *msg)
{
	s->phase = S_FAILED;
	s->fail_status = status;
	s->fail_code = code;
	s->fail_msg = msg;
}

/* ---- handle bookkeeping ------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
	struct enter_session *s = h->data;
	if (h == (uv_handle_t *)&s->pid_watch)
		close(s->pidfd);
	else if (h == (uv_handle_t *)&s->status_watch)
		close(s->status_fd);
	conn_unref(s->c);
}

static void handle_close(struct enter_session *s, void *h, bool *open)
{
	if (!*open)
		return;
	*open = false;
	uv_close(h, handle_closed);
}

static void handle_opened(struct enter_session *s, void *h, bool *open)
{
	((uv_handle_t *)h)->data = s;
	*open = true;
	conn_ref(s->c);
}

/* A uv_pipe_t around one of our pipe (or pty master) ends; the handle owns
 * the fd from here on, even when opening it fails. */
static int pipe_wrap(struct enter_session *s, uv_pipe_t *p, bool *open, int fd, const char *what,
		     struct perr *e)
{
	int err = uv_pipe_init(conn_loop(s->c), p, 0);
	if (err == 0) {
		handle_opened(s, p, open);
		err = uv_pipe_open(p, fd);
	}
	if (err < 0) {
		close(fd);
		return perr_set(e, -err, "%s", what); /* libuv's own error */
	}
	return 0;
}

static int poll_wrap(struct enter_session *s, uv_poll_t *p, bool *open, int fd, const char *what,
		     struct perr *e)
{
	int err = uv_poll_init(conn_loop(s->c), p, fd);
	if (err < 0) {
		close(fd);
		return perr_set(e, -err, "%s", what);
	}
	handle_opened(s, p, open);
	return 0;
}

/* ---- audit -------------------------------------------------------------- */

static void audit_result(struct enter_session *s, bool failed)
{
	char r[64], name[32];
	if (failed)
		snprintf(r, sizeof r, "error:%u", s->fail_status);
	else if (!s->exited)
		snprintf(r, sizeof r, "killed:box-stopping");
	else if (s->signaled)
		snprintf(r, sizeof r, "signal:%s", signal_name(s->code, name, sizeof name));
	else
		snprintf(r, sizeof r, "exit:%d", s->code);
	session_audit(&s->audit, s->c, r, s->gone);
}

/* ---- output: process -> client ------------------------------------------ */

static bool outputs_open(const struct enter_session *s)
{
	return s->relay && (relay_open(s->relay, RELAY_OUT) || relay_open(s->relay, RELAY_ERR));
}

/* With a tty the input is the same terminal: it goes with the output, so
 * that what still holds the terminal gets its hangup. */
static void outputs_close(struct enter_session *s)
{
	if (s->relay)
		relay_close(s->relay, -1);
	if (s->tty)
		handle_close(s, &s->in, &s->in_open);
}

static void grace_expired(uv_timer_t *t)
{
	struct enter_session *s = t->data;
	outputs_close(s);
	maybe_finish(s);
}

/* Once what the leader left in the pipes is relayed, give stragglers
 * EXIT_GRACE_MS more to reach EOF. */
static void grace_check(struct enter_session *s)
{
	if (!s->exited || s->gone || s->grace_armed || s->owed[RELAY_OUT] || s->owed[RELAY_ERR])
		return;
	if (!outputs_open(s))
		return;
	s->grace_armed = true;
	uv_timer_start(&s->timer, grace_expired, EXIT_GRACE_MS, 0);
}

static void relayed(void *ctx, int i, size_t n)
{
	struct enter_session *s = ctx;
	if (n) {
		s->owed[i] -= n < s->owed[i] ? n : s->owed[i];
		grace_check(s);
		return;
	}
	s->owed[i] = 0; /* EOF; EIO on a pty master whose slave is gone */
	if (s->tty)
		outputs_close(s);
	grace_check(s);
	maybe_finish(s);
}

void session_client_drained(struct enter_session *s)
{
	if (s->relay && s->phase == S_RUNNING)
		relay_drained(s->relay);
}

/* ---- input: client -> process ------------------------------------------- */

static uv_stream_t *stdin_stream(struct enter_session *s)
{
	return s->in_open && !s->in_eof ? (uv_stream_t *)&s->in : NULL;
}

/* Pause the client while the process is behind on its stdin. */
static void stdin_flow(struct enter_session *s)
{
	uv_stream_t *st = stdin_stream(s);
	size_t q = st ? uv_stream_get_write_queue_size(st) : 0;
	if (q > IN_HIGH)
		conn_pause(s->c, true);
	else if (q <= IN_LOW)
		conn_pause(s->c, false);
}

static void stdin_sent(void *data, int status)
{
	struct enter_session *s = data;
	/* The process closed its stdin (EPIPE): what the client still sends is
	 * dropped, as a pipe would. */
	if (status < 0 && status != UV_ECANCELED && !s->tty)
		handle_close(s, &s->in, &s->in_open);
	stdin_flow(s);
}

static void stdin_write(struct enter_session *s, const uint8_t *p, size_t n)
{
	uv_stream_t *st = stdin_stream(s);
	if (!s->want_stdin || !st)
		return;
	if (enter_stream_send(st, p, n, NULL, 0, stdin_sent, s) < 0 && !s->tty)
		handle_close(s, &s->in, &s->in_open);
	stdin_flow(s);
}

static void stdin_shut(uv_shutdown_t *req, int status)
{
	struct enter_session *s = req->data;
	handle_close(s, &s->in, &s->in_open);
}

/* EOF reaches a pipe reader as EOF; a tty reader gets the EOF character. */
static void stdin_eof(struct enter_session *s)
{
	if (s->tty) {
		struct termios t;
		int fd = -1;
		if (s->in_open && uv_fileno((uv_handle_t *)&s->in, &fd) == 0 && tcgetattr(fd, &t) == 0)
			stdin_write(s, (const uint8_t *)&t.c_cc[VEOF], 1);
		return;
	}
	if (!s->in_open || s->in_eof)
		return;
	s->in_eof = true;
	s->in_shut.data = s;
	/* uv_shutdown lets queued stdin reach the process first. */
	if (uv_shutdown(&s->in_shut, (uv_stream_t *)&s->in, stdin_shut) < 0)
		handle_close(s, &s->in, &s->in_open);
	conn_pause(s->c, false);
}

static void resize(struct enter_session *s, uint16_t rows, uint16_t cols)
{
	int fd;
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (s->tty && s->in_open && uv_fileno((uv_handle_t *)&s->in, &fd) == 0)
		(void)ioctl(fd, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH */
}

/* To the session's process group; before exec it may not be a group leader
 * yet, so then to the process itself (its signals are blocked until exec).
 * Only while the leader is unreaped: then its pid, and so its group's id,
 * cannot name anything else. */
static void forward_signal(struct enter_session *s, int sig)
{
	if (s->exited || s->pid <= 0)
		return;
	if (s->phase == S_RUNNING)
		kill(-s->pid, sig);
	else
		(void)pidfd_send_signal(s->pidfd, sig, NULL, 0);
}

int session_frame(struct enter_session *s, const struct proto_frame *f, struct perr *e)
{
	uint32_t v;
	uint16_t rows, cols;
	if (s->phase != S_RUNNING || s->gone)
		return 0;
	switch (f->kind) {
	case PK_STDIN:
	case PK_STDIN_EOF:
		if (!s->want_stdin)
			return perr_set(e, 0, "protocol error: %s without stdin wanted",
					f->kind == PK_STDIN ? "STDIN" : "STDIN_EOF");
		if (s->eof_rcvd)
			return perr_set(e, 0, "protocol error: %s after STDIN_EOF",
					f->kind == PK_STDIN ? "STDIN" : "STDIN_EOF");
		if (f->kind == PK_STDIN) {
			stdin_write(s, f->payload, f->len);
		} else {
			s->eof_rcvd = true;
			stdin_eof(s);
		}
		return 0;
	case PK_RESIZE:
		if (proto_get_resize(f, &rows, &cols) == 0)
			resize(s, rows, cols);
		return 0;
	case PK_SIGNAL:
		if (proto_get_u32(f, &v) == 0 && v >= 1 && v <= (uint32_t)SIGRTMAX)
			forward_signal(s, (int)v);
		return 0;
	default:
		return perr_set(e, 0, "protocol error: unexpected frame kind 0x%02x in a session",
				f->kind);
	}
}

/* ---- the process -------------------------------------------------------- */

/* What the session process said before it failed, marked as the box's
 * word, escaped to one line of ASCII: it can never pass for the server's
 * own (a version refusal), nor break the line it is shown on. */
static const char *box_message(struct enter_session *s, const char *text)
{
	static const char mark[] = "in the box: ";
	char esc[PERR_MSG_MAX];
	str_escape(esc, sizeof esc, text, strlen(text), ESC_BACKSLASH | ESC_HIGH);
	sb_append(&s->box_msg, mark, sizeof mark - 1);
	sb_append(&s->box_msg, esc, strlen(esc));
	return s->box_msg.s ? s->box_msg.s : "in the box: the process failed before exec";
}

static void send_started(struct enter_session *s, uint32_t pid)
{
	struct strbuf b = { 0 };
	if (proto_put_started(&b, pid) == 0)
		conn_send_frame(s->c, &b);
	sb_free(&b);
}

static void status_done(struct enter_session *s)
{
	handle_close(s, &s->status_watch, &s->status_open);
	uint32_t v;
	if (s->status_len >= 4)
		memcpy(&v, s->status_buf, 4);
	if (s->status_len == 4) {
		s->phase = S_RUNNING;
		if (!s->gone) {
			send_started(s, v);
			if (s->detached)
				detached_started(s);
			if (s->relay)
				relay_reading(s->relay, true);
			if (s->exited) /* its exit was seen first */
				drain_begin(s);
			/* Now the client's early frames, in order. */
			conn_hold(s->c, false);
		}
	} else {
		fail(s, EXIT_PLANET, PE_EXEC_FAILED, "the process died while entering the box");
		if (s->status_len >= 8) {
			memcpy(&v, s->status_buf + 4, 4);
			/* The documented statuses only: the process is in the box. */
			v = v == 126 || v == 127 ? v : EXIT_PLANET;
			s->status_buf[s->status_len] = 0;
			fail(s, v, proto_err_in_box(v),
			     box_message(s, (const char *)s->status_buf + 8));
		}
		/* It never ran: nothing of its output to wait for. */
		outputs_close(s);
		handle_close(s, &s->in, &s->in_open);
	}
	maybe_finish(s);
}

static void status_readable(uv_poll_t *h, int status, int events)
{
	struct enter_session *s = h->data;
	while (s->status_len < INBOX_STATUS_MAX) {
		ssize_t n = read(s->status_fd, s->status_buf + s->status_len,
				 INBOX_STATUS_MAX - s->status_len);
		if (n > 0) {
			s->status_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break; /* EOF (or an error: same meaning, the child is past exec) */
	}
	status_done(s);
}

/* Record how much output the leader left behind: that much is relayed
 * before the exit grace starts counting. */
static void drain_begin(struct enter_session *s)
{
	for (int i = 0; i < 2 && s->relay; i++)
		s->owed[i] = relay_buffered(s->relay, i);
	grace_check(s);
}

static void reaped(struct enter_session *s, const siginfo_t *si)
{
	s->exited = true;
	s->signaled = si->si_code != CLD_EXITED;
	s->code = si->si_status;
	handle_close(s, &s->pid_watch, &s->pid_open);
	if (s->phase == S_RUNNING && !s->gone)
		drain_begin(s);
	maybe_finish(s);
}

static void pid_readable(uv_poll_t *h, int status, int events)
{
	struct enter_session *s = h->data;
	siginfo_t si = { 0 };
	if (waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR)
			return;
		/* ECHILD: someone reaped it behind our back; it is gone anyway. */
		si.si_code = CLD_KILLED;
		si.si_status = SIGKILL;
	} else if (si.si_pid == 0) {
		return;
	}
	reaped(s, &si);
}

/* ---- end ---------------------------------------------------------------- */

/* EXIT, or ERROR in the layout of the request's version. */
static void send_end(struct enter_session *s, bool failed)
{
	struct strbuf b = { 0 };
	int rc = failed ? proto_put_error(&b, conn_version(s->c), s->fail_status, s->fail_code,
					  s->fail_msg)
			: proto_put_exit(&b, s->signaled, (uint32_t)s->code);
	if (rc == 0)
		conn_send_frame(s->c, &b);
	sb_free(&b);
}

static void close_all(struct enter_session *s)
{
	outputs_close(s);
	handle_close(s, &s->in, &s->in_open);
	handle_close(s, &s->timer, &s->timer_open);
	handle_close(s, &s->deadline, &s->deadline_open);
	handle_close(s, &s->status_watch, &s->status_open);
	handle_close(s, &s->pid_watch, &s->pid_open);
}

static void finish(struct enter_session *s)
{
	bool failed = s->phase == S_FAILED;
	if (s->timed_out && !failed) {
		/* as timeout(1): 124, whatever the process said on its way out */
		snprintf(s->spawn_err, sizeof s->spawn_err, "timed out after %u s", s->timeout_sec);
		s->fail_status = 124;
		s->fail_code = PE_TIMEOUT;
		s->fail_msg = s->spawn_err;
		failed = true;
	}
	s->phase = S_ENDED;
	close_all(s);
	if (!s->gone)
		send_end(s, failed);
	audit_result(s, failed);
	conn_end(s->c);
}

static void maybe_finish(struct enter_session *s)
{
	if (s->phase == S_STARTING || s->phase == S_ENDED || !s->exited)
		return;
	if (outputs_open(s) || s->hangup_pending)
		return;
	finish(s);
}

/* exec --timeout: the grace after SIGTERM is over. */
/* SIGKILL to everything of the session: its group (or the leader) while
 * the leader is unreaped, and every member of its session (the sid is the
 * leader's, a verified child of ours: while any member lives, the number
 * names nothing else). */
static void kill_all(struct enter_session *s)
{
	forward_signal(s, SIGKILL);
	if (s->phase == S_RUNNING)
		kill_session(s->pid, SIGKILL);
}

static void deadline_kill(uv_timer_t *t)
{
	kill_all(t->data);
}

static void deadline_expired(uv_timer_t *t)
{
	struct enter_session *s = t->data;
	s->timed_out = true;
	forward_signal(s, SIGTERM);
	uv_timer_start(&s->deadline, deadline_kill, TIMEOUT_GRACE_MS, 0);
}

static void hangup_expired(uv_timer_t *t)
{
	struct enter_session *s = t->data;
	s->hangup_pending = false;
	kill_all(s);
	maybe_finish(s);
}

void session_client_gone(struct enter_session *s)
{
	if (s->phase == S_ENDED || s->gone)
		return;
	s->gone = true;
	if (s->detached) /* it runs on: nobody waits for it (detached.c) */
		return;
	outputs_close(s);
	handle_close(s, &s->in, &s->in_open);
	spawn_abandon(s);
	if (!s->exited) {
		s->hangup_pending = true;
		forward_signal(s, SIGHUP);
		uv_timer_stop(&s->timer);
		uv_timer_start(&s->timer, hangup_expired, HANGUP_GRACE_MS, 0);
	}
	maybe_finish(s);
}

void session_kill(struct enter_session *s, unsigned long long deadline_ns)
{
	if (s->phase == S_ENDED)
		return;
	bool running = s->phase == S_RUNNING;
	spawn_abandon(s);
	s->phase = S_ENDED;
	if (!s->exited) {
		if (running)
			kill(-s->pid, SIGKILL);
		(void)pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
		/* Bounded: a process stuck in the kernel is left to the exit of
		 * the supervisor rather than hanging the halt. */
		unsigned long long now = now_ns();
		struct pollfd pfd = { .fd = s->pidfd, .events = POLLIN };
		if (now < deadline_ns)
			(void)poll(&pfd, 1, (int)((deadline_ns - now) / 1000000ull) + 1);
		siginfo_t si = { 0 };
		if (waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
			s->exited = true;
			s->signaled = si.si_code != CLD_EXITED;
			s->code = si.si_status;
		}
	}
	if (!s->gone) {
		fail(s, EXIT_PLANET, PE_STOPPING, "the box is stopping");
		send_end(s, true);
		s->phase = S_ENDED;
	}
	close_all(s);
	session_audit(&s->audit, s->c, "killed:box-stopping", s->gone);
}

bool session_open(const struct enter_session *s)
{
	return s->phase != S_ENDED && (!s->gone || s->detached);
}

void session_free(struct enter_session *s)
{
	session_audit_free(&s->audit);
	sb_free(&s->box_msg);
	relay_free(s->relay);
	free(s);
}

/* ---- start -------------------------------------------------------------- */

static size_t max_frame(const struct proto_exec *x)
{
	return x->version >= 2 ? PROTO_MAX_OUTPUT : PROTO_MAX_DATA;
}

/* The child's stdio ends and the supervisor's, wrapped in handles. */
static int stdio_make(struct enter_session *s, const struct proto_exec *x, int child[3],
		      struct perr *e)
{
	int fds[2] = { -1, -1 };
	if (x->detach) /* no relay: the child's stdio is the box's /dev/null */
		return 0;
	if (x->tty) {
		int slave;
		if (inbox_open_pty(s->box, x->rows, x->cols, &fds[0], &slave, e) < 0)
			return -1;
		child[0] = child[1] = child[2] = slave;
		int in = fcntl(fds[0], F_DUPFD_CLOEXEC, 3);
		if (in < 0) {
			perr_set(e, errno, "dup pty");
			close(fds[0]);
			return -1;
		}
		if (relay_new(&s->relay, s->c, fds, true, max_frame(x), relayed, s, e) < 0) {
			close(in);
			return -1;
		}
		return pipe_wrap(s, &s->in, &s->in_open, in, "pty handle", e);
	}
	int p[2];
	for (int i = 0; i < 2; i++) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			perr_set(e, errno, "pipe");
			if (fds[0] >= 0)
				close(fds[0]);
			return -1;
		}
		child[1 + i] = p[1];
		fds[i] = p[0];
	}
	if (relay_new(&s->relay, s->c, fds, false, max_frame(x), relayed, s, e) < 0)
		return -1;
	if (!x->want_stdin)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return perr_set(e, errno, "pipe");
	child[0] = p[0];
	return pipe_wrap(s, &s->in, &s->in_open, p[1], "pipe handle", e);
}

static void fds_close(int child[3])
{
	for (int i = 0; i < 3; i++) {
		if (child[i] >= 0 && (i == 0 || child[i] != child[i - 1]))
			close(child[i]);
		child[i] = -1;
	}
}

/* The spawner's answer: the process exists (watch it and its status
 * pipe), or it never will (the session fails with why). */
static void spawned(void *ctx, pid_t pid, int pidfd, const struct perr *e)
{
	struct enter_session *s = ctx;
	s->wait = NULL;
	if (e) {
		snprintf(s->spawn_err, sizeof s->spawn_err, "%s", e->msg);
		fail(s, EXIT_PLANET, PE_INTERNAL, s->spawn_err);
		s->exited = true;
		handle_close(s, &s->status_watch, &s->status_open);
		outputs_close(s);
		handle_close(s, &s->in, &s->in_open);
		maybe_finish(s);
		return;
	}
	s->pid = pid;
	s->pidfd = pidfd;
	/* From here the child exists: only the pidfd watch may fail, and then
	 * it is killed and reaped right here rather than left unreaped. */
	struct perr pe = { 0 };
	if (poll_wrap(s, &s->pid_watch, &s->pid_open, s->pidfd, "pidfd handle", &pe) < 0 ||
	    uv_poll_start(&s->pid_watch, UV_READABLE, pid_readable) < 0) {
		/* unreaped, so the pid is still this child's (the pidfd may be
		 * closed with the failed handle) */
		cleanup_childp(&pid);
		s->exited = true;
	}
	uv_poll_start(&s->status_watch, UV_READABLE, status_readable);
}

/* The session ends before the spawner answered: no process will be
 * watched (the spawner side kills one that comes after all). */
static void spawn_abandon(struct enter_session *s)
{
	if (!s->wait)
		return;
	inbox_spawn_cancel(s->wait);
	s->wait = NULL;
	s->exited = true;
	fail(s, EXIT_PLANET, PE_INTERNAL, "the session ended before its process started");
	handle_close(s, &s->status_watch, &s->status_open);
}

static int spawn(struct enter_session *s, const struct proto_exec *x, struct perr *e)
{
	int child[3] = { -1, -1, -1 };
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0)
		return perr_set(e, errno, "pipe");
	s->status_fd = sp[0];
	if (poll_wrap(s, &s->status_watch, &s->status_open, sp[0], "status handle", e) < 0) {
		close(sp[1]);
		return -1;
	}
	if (stdio_make(s, x, child, e) < 0) {
		fds_close(child);
		close(sp[1]);
		return -1;
	}
	struct inbox_req r = {
		.box = s->box,
		.x = x,
		.spawner = conn_spawner(s->c),
		.stdio = { child[0], child[1], child[2] },
		.tty = x->tty,
		.status_w = sp[1],
	};
	int rc = inbox_spawn(conn_loop(s->c), &r, spawned, s, &s->wait, e);
	fds_close(child);
	close(sp[1]);
	return rc;
}

int session_start(struct enter_conn *c, const struct proto_exec *x, struct perr *e)
{
	struct enter_session *s = calloc(1, sizeof *s);
	if (!s)
		return perr_set(e, ENOMEM, "session");
	s->c = c;
	s->box = conn_box(c);
	s->tty = x->tty;
	s->want_stdin = x->want_stdin;
	s->detached = x->detach;
	s->pidfd = s->status_fd = -1;
	conn_attach(c, s);
	if (session_audit_prepare(&s->audit, x) < 0) {
		s->phase = S_ENDED;
		return perr_set(e, ENOMEM, "session");
	}
	uv_timer_init(conn_loop(c), &s->timer);
	handle_opened(s, &s->timer, &s->timer_open);
	if ((s->timeout_sec = x->timeout_sec)) {
		uv_timer_init(conn_loop(c), &s->deadline);
		handle_opened(s, &s->deadline, &s->deadline_open);
		uv_timer_start(&s->deadline, deadline_expired, (uint64_t)s->timeout_sec * 1000, 0);
	}
	if (spawn(s, x, e) < 0) {
		s->phase = S_ENDED;
		close_all(s);
		char r[32];
		snprintf(r, sizeof r, "error:%d", EXIT_PLANET);
		session_audit(&s->audit, c, r, false);
		return -1;
	}
	/* Frames the client sends before STARTED wait until it is sent. */
	conn_hold(c, true);
	return 0;
}
