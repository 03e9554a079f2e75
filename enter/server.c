/* The enter server: the unix socket on the supervisor's loop, accepting
 * (who may connect is access.c's), and the server's close. A connection's
 * own life is conn.c's. */
#include "enter/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "cgroupns/cgroupns.h"
#include "config/config.h"


#define KILL_WAIT_MS 1000     /* enter_server_close: reaping budget, all sessions */
#define CONN_SLACK 32	      /* connections beyond max_sessions (status, stop, new) */
#define DEFAULT_MAX_SESSIONS 256
#define RETRY_ACCEPT_MS 100

/* ---- accepting ---------------------------------------------------------- */

static void refuse(struct enter_conn *c)
{
	char msg[256];
	enter_peer_refusal(msg, sizeof msg, c->peer.uid, c->srv->box->cfg->enter_group,
			   c->srv->box->cfg->monitor_group);
	enter_audit("enter: refused uid=%u pid=%d", (unsigned)c->peer.uid, (int)c->peer.pid);
	conn_refuse(c, PE_DENIED, msg);
}

static void on_connection(uv_stream_t *l, int status);

static void retry_accept(uv_timer_t *t)
{
	struct enter_server *srv = t->data;
	on_connection((uv_stream_t *)&srv->listener, 0);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct enter_server *srv = l->data;
	if (status < 0 || srv->closing)
		return;
	struct enter_conn *c = conn_new(srv);
	if (!c) {
		/* libuv holds the pending connection until we accept it; try again
		 * when memory may be back rather than drop the listener. */
		uv_timer_start(&srv->retry, retry_accept, RETRY_ACCEPT_MS, 0);
		return;
	}
	int fd = -1;
	socklen_t len = sizeof c->peer;
	if (uv_accept(l, (uv_stream_t *)&c->sock) < 0 ||
	    uv_fileno((uv_handle_t *)&c->sock, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len) < 0) {
		conn_close_sock(c);
		return;
	}
	c->right = enter_peer_right(fd, c->peer.uid, c->peer.gid, &srv->group, &srv->monitor);
	if (c->right == RIGHT_NONE) {
		refuse(c);
		return;
	}
	if (srv->n_conns > srv->max_sessions + CONN_SLACK) {
		conn_refuse(c, PE_LIMIT, "too many connections");
		return;
	}
	conn_begin(c);
}

/* ---- the listening socket ----------------------------------------------- */

static void srv_handle_closed(uv_handle_t *h)
{
	server_unref(h->data);
}

/* The server's record with its socket bound (fd, not yet listening). */
static struct enter_server *server_new(struct uv_loop_s *loop, const struct enter_box *box,
				       int *fd, struct perr *e)
{
	struct enter_server *srv = calloc(1, sizeof *srv);
	if (!srv || !(srv->path = strdup(box->cfg->socket_path))) {
		free(srv);
		perr_set(e, ENOMEM, "enter server");
		return NULL;
	}
	srv->loop = loop;
	srv->box = box;
	/* Without memory for it the box runs on, without an event stream. */
	srv->events = enter_events_new();
	srv->max_sessions = box->cfg->max_sessions ? box->cfg->max_sessions : DEFAULT_MAX_SESSIONS;
	*fd = -1;
	if (enter_group_resolve(box->cfg->enter_group, &srv->group, e) == 0 &&
	    enter_group_resolve_as("monitor group", box->cfg->monitor_group, &srv->monitor, e) == 0)
		*fd = enter_socket_bind(srv->path, &srv->group, &srv->monitor, &srv->sock_dev,
					&srv->sock_ino, e);
	if (*fd < 0) {
		enter_events_free(srv->events);
		free(srv->path);
		free(srv);
		return NULL;
	}
	return srv;
}

int enter_server_start(struct uv_loop_s *loop, const struct enter_box *box,
		       struct enter_server **out, struct perr *e)
{
	/* Writes to a client or a stdin pipe whose reader left must fail with
	 * EPIPE, not kill the supervisor. */
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigaction(SIGPIPE, &ign, NULL);

	int fd = -1;
	struct enter_server *srv = server_new(loop, box, &fd, e);
	if (!srv)
		return -1;
	srv->refs = 2; /* listener, retry timer */
	srv->listener.data = srv;
	srv->retry.data = srv;
	uv_timer_init(loop, &srv->retry);
	uv_pipe_init(loop, &srv->listener, 0); /* cannot fail without ipc */
	int err = uv_pipe_open(&srv->listener, fd);
	if (err < 0)
		close(fd);
	else
		err = uv_listen((uv_stream_t *)&srv->listener, SOMAXCONN, on_connection);
	if (err < 0) {
		srv->closing = true;
		unlink(srv->path);
		uv_close((uv_handle_t *)&srv->retry, srv_handle_closed);
		uv_close((uv_handle_t *)&srv->listener, srv_handle_closed);
		return perr_set(e, -err, "listen on %s", box->cfg->socket_path);
	}
	/* Now, right after init's cgroup migration, the spawner's own is cheap;
	 * a failure here is retried by the first session, which reports it. */
	struct perr se = { 0 };
	if (!(srv->spawner = inbox_spawner_start(loop, box, &srv->spawner, &se)))
		plog(LOG_ERR, "session spawner: %s", se.msg);
	*out = srv;
	return 0;
}

void enter_server_event(struct enter_server *s, const char *type, ...)
{
	if (!s)
		return;
	va_list ap;
	va_start(ap, type);
	enter_events_emitv(s->events, type, ap);
	va_end(ap);
}

const char *enter_server_state(const struct enter_server *s)
{
	return s->box->halting ? "stopping" : s->box_paused ? "paused" : "running";
}

bool enter_server_paused(const struct enter_server *s)
{
	return s->box_paused;
}

int enter_server_set_paused(struct enter_server *s, bool on, struct perr *e)
{
	if (cg_box_freeze(s->box->cg, on, e) < 0)
		return -1;
	s->box_paused = on;
	return 0;
}

void enter_server_resume(struct enter_server *s)
{
	if (s && s->box_paused)
		(void)enter_server_set_paused(s, false, NULL);
}

unsigned enter_server_sessions(const struct enter_server *s)
{
	unsigned n = 0;
	for (const struct enter_conn *c = s ? s->conns : NULL; c; c = c->next)
		n += c->sess && session_open(c->sess);
	return n;
}

/* `planet stop` returns when its connection closes. Keep a duplicate of a
 * stop waiter's socket open until this process exits, after the supervisor
 * has removed the cgroup, state and lock: a `planet start` right after
 * `planet stop` then never races the old supervisor's clean-up. The
 * duplicate is deliberately never closed; exit closes it. */
static void hold_until_exit(struct enter_conn *c)
{
	uv_os_fd_t fd;
	if (uv_fileno((const uv_handle_t *)&c->sock, &fd) < 0)
		return;
	/* A box killed at the deadline did not halt: say so before the close
	 * (written directly: the stream is closed next, which would cancel a
	 * queued write; the frame is tiny and the waiter's buffer empty). */
	const struct enter_box *box = conn_box(c);
	struct strbuf b = { 0 };
	if (box->killed &&
	    proto_put_error(&b, conn_version(c), EXIT_STOP_KILLED, PE_TIMEOUT,
			    "the box did not halt in time: it was killed at the deadline") == 0)
		(void)send(fd, b.s, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	sb_free(&b);
	(void)fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

void enter_server_close(struct enter_server *srv)
{
	if (!srv || srv->closing)
		return;
	srv->closing = true;
	uv_close((uv_handle_t *)&srv->listener, srv_handle_closed);
	uv_close((uv_handle_t *)&srv->retry, srv_handle_closed);
	/* Only our own socket file: a newer supervisor may own the path now. */
	struct stat st;
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino)
		unlink(srv->path);
	unsigned long long deadline = now_ns() + KILL_WAIT_MS * 1000000ull;
	enter_server_event(srv, "state", "state", "stopped", EVENT_END);
	for (struct enter_conn *c = srv->conns; c; c = c->next) {
		if (c->sess)
			session_kill(c->sess, deadline);
		if (c->state == C_STOP)
			hold_until_exit(c);
		/* an events listener has its "stopped" in the socket already:
		 * a close delivers what was written */
		conn_close_sock(c);
	}
	binds_forget();
	devices_forget();
	/* Before the box's cgroups are removed: it sits in them. */
	inbox_spawner_stop(srv->spawner, srv->box);
	srv->spawner = NULL;
}
