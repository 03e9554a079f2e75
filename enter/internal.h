/* enter: what only the server's own files share. */
#ifndef PLANET_ENTER_INTERNAL_H
#define PLANET_ENTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>

#include "enter/enter.h"
#include "proto/proto.h"

/* box_user_lookup and struct box_user: base/base.h (passwd.c moved there so
 * that box/ can run init as a user of the box). */

/* child.c, spawner*.c: one process started inside the box. */
struct inbox_spawner;
struct inbox_wait;
struct inbox_req {
	const struct enter_box *box;
	const struct proto_exec *x;
	struct inbox_spawner **spawner; /* the server's; started or replaced here */
	int stdio[3];	/* the child's ends; stdio[0] == -1: the box's /dev/null */
	bool tty;	/* stdio[] is a pty slave: it becomes the controlling tty */
	int status_w;	/* write end of the status pipe (close-on-exec) */
};
/* The status pipe carries, from child to supervisor: the child's pid as seen
 * inside the box (u32, host byte order), then, only when it fails before
 * exec, u32 exit status (126, 127, 255) and a one-line message. EOF right
 * after the pid means execve succeeded. Everything on it comes from inside
 * the box: the server never takes it for its own word. */
#define INBOX_STATUS_MAX (8 + 1024)
/* The spawner's answer to one request: pid > 0 and a pidfd that was
 * checked to be the supervisor's own new child in the box's pid namespace,
 * or e set. */
typedef void (*inbox_spawned_cb)(void *ctx, pid_t pid, int pidfd, const struct perr *e);
/* Have the box's spawner clone the session process (the supervisor's direct
 * child, in the box's pid namespace and cgroups). Never blocks the loop: cb
 * runs later, from the loop, exactly once unless the wait is cancelled. The
 * request's descriptors are duplicated; the caller keeps its own. The
 * child's own errors arrive on the status pipe, never here. */
int inbox_spawn(struct uv_loop_s *loop, const struct inbox_req *r, inbox_spawned_cb cb, void *ctx,
		struct inbox_wait **w, struct perr *e);
/* The session no longer wants its process: cb never runs, and a process
 * the spawner clones for it after all is killed and reaped. */
void inbox_spawn_cancel(struct inbox_wait *w);
/* The spawner (spawner.c): started with the server (right after init's
 * cgroup migration, when its own is cheap); stopped when the server
 * closes: thawed, killed, its pending requests failed. */
struct inbox_spawner *inbox_spawner_start(struct uv_loop_s *loop, const struct enter_box *box,
					  struct inbox_spawner **slot, struct perr *e);
void inbox_spawner_stop(struct inbox_spawner *sp, const struct enter_box *box);
/* spawner_proc.c: the spawner process itself. Forked by the supervisor, it
 * joins the box's cgroups and pid namespace and takes the box's bounding
 * set and seccomp filter, then re-executes itself from memfd (a sealed copy
 * of planet, so that no process the box can see runs a host file) as
 * `planet-spawner BOXID` on sock; it never returns. */
_Noreturn void spawner_proc_start(const struct enter_box *box, int sock, int exe_memfd,
				  pid_t supervisor);
/* What a session process needs, all of it from the request. */
struct inbox_child {
	const struct proto_exec *x;
	const char *env_file; /* the box's proxy env file, a path inside it */
	int stdio[3];
	bool tty;
	int status_w;
};
/* Every signal back to its default disposition (nothing of libuv's). */
void inbox_signals_reset(void);
/* inbox_job.c: a short-lived helper in the running box (bind, device). */
struct inbox_job {
	int pidfd, out; /* the helper and the read end of its message pipe; -1: none */
};
/* Fork the helper: it runs fn(arg, out), out being where it writes its one
 * line on failure; fn must not return (it exits). */
int inbox_job_start(struct inbox_job *h, void (*fn)(void *arg, int out), void *arg,
		    struct perr *e);
/* Whether the helper has ended (*si says how); when it has not and kill_it,
 * it is killed and reaped (and false returned). */
bool inbox_job_ended(struct inbox_job *h, bool kill_it, siginfo_t *si);
/* Its message into msg (NUL-terminated; "" and false when none). */
bool inbox_job_message(struct inbox_job *h, char *msg, size_t len);
void inbox_job_close(struct inbox_job *h);
/* copy.c: a COPY session's process, in place of the command (proto_exec's
 * copy): closes status_w as an exec would, copies, exits 0 or 1. */
_Noreturn void inbox_copy_main(const struct proto_exec *x, int status_w);
/* The session request that runs a COPY frame's copy (x->copy set, argv as
 * above); proto_exec_free frees it. */
int copy_request_exec(const struct proto_frame *f, struct proto_exec *x, struct perr *e);
/* A session process, from its clone to execve; reports on r->status_w. */
_Noreturn void inbox_child_main(const struct inbox_child *r);
/* A pty from the box's own devpts, with the window size already set. The
 * master stays with the supervisor; the slave goes to the child. */
int inbox_open_pty(const struct enter_box *box, uint16_t rows, uint16_t cols, int *master,
		   int *slave, struct perr *e);

/* server.c: one client connection, the socket side of a session. */
struct enter_conn;
struct enter_session;
struct uv_stream_s;
struct uv_loop_s *conn_loop(const struct enter_conn *c);
const struct enter_box *conn_box(const struct enter_conn *c);
struct inbox_spawner **conn_spawner(struct enter_conn *c);
void conn_peer(const struct enter_conn *c, uid_t *uid, pid_t *pid);
/* Queue frames the codec encoded (proto_put_*) for the client. Bytes are
 * copied only when the socket cannot take them at once. A failed write
 * closes the connection; the session learns it through
 * session_client_gone. */
int conn_send_frame(struct enter_conn *c, const struct strbuf *frames);
/* One STDOUT or STDERR frame whose payload is sent from where it lies (the
 * loop's scratch buffer), behind the codec's header; else as above. */
int conn_send_data(struct enter_conn *c, uint8_t kind, const void *payload, size_t len);
/* Bytes that continue a frame whose start went to the socket by other means
 * (relay.c's splice); same queueing and failure handling as above. */
int conn_send_raw(struct enter_conn *c, const void *bytes, size_t len);
/* The client socket, while frames may still be sent on it; else -1. The fd
 * stays the connection's: use it for send/splice/ioctl, never close it. */
int conn_fd(const struct enter_conn *c);
/* Bytes waiting to be written to the client. */
size_t conn_queued(const struct enter_conn *c);
/* Stop / resume reading the client (stdin backpressure). */
void conn_pause(struct enter_conn *c, bool pause);
/* Hold the client's frames while the session starts: they are kept, and
 * handled in order when the hold is lifted (so STARTED always comes first). */
void conn_hold(struct enter_conn *c, bool hold);
/* The session is over: flush what is queued, then close. Idempotent. */
void conn_end(struct enter_conn *c);
/* Send an ERROR frame (status, code, msg) in the layout of the request's
 * version, then end the connection. msg has its quoted values escaped. */
void conn_fail(struct enter_conn *c, uint32_t status, enum proto_err code, const char *msg);
/* The version the connection's request asked for, once known (its ERROR
 * layout); 0 before. */
uint16_t conn_version(const struct enter_conn *c);
/* The connection's memory (and its session's) lives while references are
 * held: one per open libuv handle. */
void conn_ref(struct enter_conn *c);
void conn_unref(struct enter_conn *c);

/* io.c: helpers of the server side; audit.c: audit records, escaping. */
/* Write a then b to st: what the kernel takes at once is not copied; the
 * rest is copied and queued. cb(data, status) runs when a queued rest has
 * been written (or failed); it does not run when everything went at once.
 * Returns 0 or a negative libuv error. */
typedef void (*enter_sent_cb)(void *data, int status);
int enter_stream_send(struct uv_stream_s *st, const void *a, size_t alen, const void *b,
		      size_t blen, enter_sent_cb cb, void *data);
/* One scratch buffer for every read on the loop: libuv calls alloc, read
 * and the read callback back to back, and every read callback consumes or
 * copies what it got before returning. */
void *enter_scratch(size_t *len);
/* One audit record (base/log.c: the journal as planet-audit, or stderr). */
void enter_audit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A session's audit record: its request's values, quoted once. */
struct session_audit {
	char *argv, *user, *cwd;
	bool tty, detached;
	unsigned long long t0;
};
int session_audit_prepare(struct session_audit *a, const struct proto_exec *x);
/* One "enter: ..." record with result ("exit:0", "error:127", ...). */
void session_audit(const struct session_audit *a, const struct enter_conn *c,
		   const char *result, bool gone);
void session_audit_free(struct session_audit *a);

/* Attach a session to its connection: the connection frees it (and counts
 * it in enter_server_sessions) from then on. */
void conn_attach(struct enter_conn *c, struct enter_session *s);

/* access.c: who may connect, and what each may ask: root and the [enter]
 * group everything, the monitor group the read-only requests
 * (enter_group_resolve: enter.h). */
enum enter_right { RIGHT_NONE, RIGHT_READ, RIGHT_ADMIN };
/* Create the socket at path (replacing a stale one, refusing a live one),
 * bound, 0600, or root:group 0660 with a group, plus an ACL entry rw for
 * the monitor group when set. Returns its fd (not yet listening); *dev,
 * *ino identify the socket file. */
int enter_socket_bind(const char *path, const struct enter_group *g,
		      const struct enter_group *monitor, dev_t *dev, ino_t *ino, struct perr *e);
/* The right of the peer on fd (uid, gid from SO_PEERCRED). */
enum enter_right enter_peer_right(int fd, uid_t uid, gid_t gid, const struct enter_group *admin,
				  const struct enter_group *monitor);
/* The message a refused peer gets (the configured group names, or NULL). */
void enter_peer_refusal(char *msg, size_t len, uid_t uid, const char *admin,
			const char *monitor);
/* May the connection's peer make the request f (its first frame)? If not,
 * it gets ERROR code denied naming the request and the right it needs,
 * the refusal is audited, and the connection ends. */
bool enter_request_allowed(struct enter_conn *c, const struct proto_frame *f);

/* control.c: a connection's first frame was STATUS (sessions: how many are
 * open) or STOP (the connection is already in its stop state). */
void control_status(struct enter_conn *c, unsigned sessions);
void control_stop(struct enter_conn *c, const struct proto_frame *f);

/* relay.c: a session's output (stdout and stderr pipes, or the pty master)
 * to its client: spliced from the pipes into the socket, read and copied
 * from a pty. It owns the fds it is given and takes one connection
 * reference per open handle. */
struct enter_relay;
enum { RELAY_OUT, RELAY_ERR };
/* n > 0: n bytes of stream i went to the client (or into its queue);
 * n == 0: stream i reached EOF (or failed) and is closed. Not called for
 * relay_close. */
typedef void (*relay_cb)(void *ctx, int i, size_t n);
/* fds[i] < 0: no such stream. tty: fds[RELAY_OUT] is a pty master (no
 * splice). max_frame: the session's data frame limit. The fds are the relay's from here on, also when it fails; on
 * failure *out may still be set, and is closed and freed as usual. */
int relay_new(struct enter_relay **out, struct enter_conn *c, const int fds[2], bool tty,
	      size_t max_frame, relay_cb cb, void *ctx, struct perr *e);
/* Read the process while on (and while the client keeps up). */
void relay_reading(struct enter_relay *r, bool on);
/* The connection's write queue went down. */
void relay_drained(struct enter_relay *r);
/* Bytes waiting in stream i's pipe (FIONREAD); 0 when closed. */
size_t relay_buffered(const struct enter_relay *r, int i);
bool relay_open(const struct enter_relay *r, int i);
/* Close stream i, or every handle with i < 0. Idempotent. */
void relay_close(struct enter_relay *r, int i);
/* Free the memory once every handle is closed (session_free). */
void relay_free(struct enter_relay *r);

/* session.c: one exec session. */
/* The session's record: session.c's, and detached.c's for exec -d. */
/* Where the session is. Its process may exit (exited) and its client may
 * go (gone) in any phase but S_ENDED: those are flags beside it. */
enum session_phase {
	S_STARTING, /* the spawner and the status pipe have not both answered */
	S_RUNNING,  /* exec'd: STARTED sent, output relayed until the end */
	S_FAILED,   /* it never ran: the ERROR waits for the handles to close */
	S_ENDED,    /* EXIT or ERROR sent (or the server killed it) */
};

struct enter_session {
	struct enter_conn *c;
	const struct enter_box *box;
	bool tty, want_stdin;
	bool detached; /* exec -d: its connection ends at STARTED (detached.c) */

	struct inbox_wait *wait; /* until the spawner has answered */
	pid_t pid; /* host pid, 0 until then; the process group id once it called setsid */
	int pidfd;
	uv_poll_t pid_watch;
	int status_fd;
	uv_poll_t status_watch;
	uint8_t status_buf[INBOX_STATUS_MAX + 1];
	size_t status_len;
	struct enter_relay *relay;
	uv_pipe_t in;
	uv_shutdown_t in_shut;
	uv_timer_t timer;
	size_t owed[2]; /* bytes still to relay of what was buffered at exit */

	uv_timer_t deadline; /* exec --timeout: SIGTERM, then SIGKILL */
	uint32_t timeout_sec;
	bool timed_out;
	/* which handles are open */
	bool pid_open, status_open, in_open, timer_open, deadline_open;

	enum session_phase phase;
	bool exited;	     /* the leader is reaped (or was never there) */
	bool gone;	     /* the client is: nothing more is sent */
	bool hangup_pending; /* gone before the exit: SIGKILL still due */
	bool grace_armed;    /* the exit grace for stragglers' output runs */
	bool eof_rcvd;	     /* STDIN_EOF came from the client */
	bool in_eof;	     /* ... and the stdin pipe's shutdown was asked */
	/* S_ENDED after S_RUNNING: how the leader ended */
	bool signaled;
	int code; /* exit code or signal */
	/* S_FAILED: what the client is told; codes PE_NOT_FOUND ..
	 * PE_EXEC_FAILED mark the session process's word (box_msg) */
	uint32_t fail_status;
	enum proto_err fail_code;
	const char *fail_msg;
	struct strbuf box_msg;
	char spawn_err[PERR_MSG_MAX];

	struct session_audit audit;
};

/* Spawn x's process for connection c (x stays the caller's). On failure the
 * session is attached but finished: the caller reports e and ends c. */
int session_start(struct enter_conn *c, const struct proto_exec *x, struct perr *e);
/* A frame from the client during the session; -1 = protocol error (e). */
int session_frame(struct enter_session *s, const struct proto_frame *f, struct perr *e);
/* The client socket is closed (EOF, error, or a protocol error). */
void session_client_gone(struct enter_session *s);
/* The client's write queue went down: resume reading the process. */
void session_client_drained(struct enter_session *s);
/* The server is closing: SIGKILL the process group, reap the leader (waiting
 * until deadline_ns at most), close every handle. No callback afterwards. */
void session_kill(struct enter_session *s, unsigned long long deadline_ns);
/* Still open: neither ended nor abandoned by its client (status); a
 * detached session until its process ends. */
bool session_open(const struct enter_session *s);

/* detached.c: exec -d. STARTED is out: end the connection, not the
 * process. */
void detached_started(struct enter_session *s);
bool session_detached(const struct enter_session *s);
/* Detached sessions still running (status: sessions_detached). */
unsigned enter_server_detached(const struct enter_server *srv);
/* Free the memory once every handle is closed. */
void session_free(struct enter_session *s);

/* server.c, conn.c: the server and its connections.
 *
 * A connection's life:
 *   accept        peer credentials (SO_PEERCRED, SO_PEERGROUPS): root or a
 *                 member of [enter] group, else an ERROR and close
 *                 (C_REFUSED: the refusal, once the request's version is
 *                 known, then what the peer sends is read and dropped until
 *                 it closes, so that the refusal is never lost to a reset)
 *   C_NEW         the first complete frame must arrive within HANDSHAKE_MS
 *   (STATUS)      reply, flush, close
 *   C_STOP        acknowledge, start the halt, stay open: the close at the
 *                 end of the halt is the client's "box is gone"
 *   C_SESSION     frames go to the session until it ends
 *   C_ENDING      flushing the last frames before the close */
enum conn_state { C_NEW, C_REFUSED, C_STOP, C_SESSION, C_OP, C_EVENTS, C_ENDING };

struct enter_server {
	uv_loop_t *loop;
	const struct enter_box *box;
	uv_pipe_t listener;
	uv_timer_t retry; /* accept again after an allocation failure */
	char *path;
	dev_t sock_dev;
	ino_t sock_ino;
	struct inbox_spawner *spawner; /* NULL until started, or after it died */
	struct enter_group group; /* who may connect besides root */
	struct enter_group monitor; /* ... and make the read-only requests */
	unsigned max_sessions;
	struct enter_conn *conns;
	unsigned n_conns, n_sessions;
	unsigned refs; /* listener, retry timer, connections */
	bool closing;
	bool box_paused; /* planet pause: the box's cgroup is frozen */
	struct enter_events *events;
};

struct enter_conn {
	struct enter_server *srv;
	struct enter_conn *prev, *next;
	uv_pipe_t sock;
	uv_timer_t timer; /* handshake deadline */
	uv_shutdown_t shut;
	enum conn_state state;
	struct ucred peer;
	enum enter_right right; /* the peer's, from its credentials at accept */
	uint8_t *part; /* an incomplete frame */
	size_t part_len, part_cap;
	unsigned refs;
	bool paused, held, reading, sock_closing;
	uint16_t version; /* the request's (its ERROR layout); 0 until known */
	bool version_refused; /* ... a version the server does not speak */
	struct conn_refusal *refusal; /* C_REFUSED only */
	bool events_json;	   /* C_EVENTS: JSON lines, else text */
	unsigned long events_lost; /* C_EVENTS: dropped while it lagged */
	struct enter_session *sess;
	unsigned long long wait_t0; /* conn_wait */
	void *job;		    /* binds.c's helper while it runs */
	void (*job_cancel)(void *job, struct enter_conn *c); /* NULL: a bind's */
};

/* A new connection on srv (one server reference), or NULL. */
struct enter_conn *conn_new(struct enter_server *srv);
/* Accepted and let in: start the handshake deadline and reading. */
void conn_begin(struct enter_conn *c);
/* Read the socket unless the connection's state says not to. */
void conn_read_on(struct enter_conn *c);
/* refuse.c: accepted and not let in (code PE_DENIED or PE_LIMIT): the
 * refusal msg goes out in the version the peer's request asks for, and
 * the connection lingers until the peer closes (bounded). */
void conn_refuse(struct enter_conn *c, enum proto_err code, const char *msg);
/* What a refused peer sent (n bytes at p), or its EOF or error (n < 0). */
void conn_refused_read(struct enter_conn *c, const uint8_t *p, ssize_t n);
void conn_close_sock(struct enter_conn *c);
/* A connection or handle of the server is gone: the last one frees it. */
void server_unref(struct enter_server *srv);

/* The connection's server; a timer on the connection (it has no other
 * use once the first frame is in) that calls cb every ms until stopped,
 * and how long ago conn_wait started it. */
struct enter_server *conn_server(const struct enter_conn *c);
void conn_wait(struct enter_conn *c, void (*cb)(struct uv_timer_s *), unsigned ms);
unsigned long long conn_waited_ms(const struct enter_conn *c);

/* ops.c: an OP request (the connection's first frame). */
void ops_request(struct enter_conn *c, const struct proto_frame *f);
/* server.c: "running", "paused" or "stopping"; pause state. */
const char *enter_server_state(const struct enter_server *s);
bool enter_server_paused(const struct enter_server *s);
int enter_server_set_paused(struct enter_server *s, bool on, struct perr *e);

/* events.c: the event stream. emit: type, then key, value, ... NULL
 * (values that are all digits are JSON numbers). */
struct enter_events;
#define ENTER_EVENTS_LISTENERS_MAX 256 /* listen fails (-1) beyond it */
struct enter_events *enter_events_new(void);
void enter_events_free(struct enter_events *ev);
void enter_events_emitv(struct enter_events *ev, const char *type, va_list ap);
int enter_events_listen(struct enter_events *ev, struct enter_conn *c, bool since_start);
void enter_events_unlisten(struct enter_events *ev, const struct enter_conn *c);
bool conn_events_json(const struct enter_conn *c);
unsigned long conn_events_lost(const struct enter_conn *c);
void conn_events_set_lost(struct enter_conn *c, unsigned long n);

/* binds.c: live bind mounts (OP bind, unbind); STATUS lists them. */
void binds_bind(struct enter_conn *c, const char *args);
void binds_unbind(struct enter_conn *c, const char *args);
void binds_describe(struct strbuf *b);
void binds_forget(void);
void binds_job_cancel(void *job);
void *conn_job(const struct enter_conn *c);
void conn_set_job(struct enter_conn *c, void *job);
/* A job of another kind: cancel(c, job) runs if the connection closes
 * while it is set. */
void conn_set_job_fn(struct enter_conn *c, void *job, void (*cancel)(void *job, struct enter_conn *c));

/* devices.c: live devices (OP device-add, device-remove); STATUS lists them. */
void devices_add(struct enter_conn *c, const char *args);
void devices_remove(struct enter_conn *c, const char *args);
void devices_describe(struct strbuf *b);
void devices_forget(void);

#endif
