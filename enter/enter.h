/* enter: the enter API. The wire protocol (docs/PROTOCOL.md), the server the
 * supervisor runs on its libuv loop, the in-box spawn of session processes,
 * the box's own passwd/group lookup, and the client commands
 * (planet exec / enter / stop / status).
 *
 * No file descriptors ever cross the socket: everything is framed bytes, so
 * the socket works when forwarded (ssh -L, socat). */
#ifndef PLANET_ENTER_H
#define PLANET_ENTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

/* ---- wire protocol ------------------------------------------------------
 * frame := u32 length (big-endian; counts kind + payload) | u8 kind | payload
 * A length of 0 or above PROTO_MAX_FRAME is a protocol error. */
#define PROTO_VERSION 2	    /* the newest this side speaks: EXEC asks for it */
#define PROTO_VERSION_MIN 1 /* the oldest it still serves */
#define PROTO_MAX_FRAME (1u << 20) /* 1 MiB: kind + payload */
#define PROTO_MAX_DATA 65536	   /* STDIN; STDOUT, STDERR of a version 1 session */
#define PROTO_MAX_OUTPUT (512u * 1024) /* STDOUT, STDERR of a version 2 session */
#define PROTO_HDR 5

enum proto_kind {
	/* client -> server */
	PK_EXEC = 0x01,	  /* a session request, see struct proto_exec */
	PK_STDIN = 0x02,  /* bytes for the process's stdin */
	PK_STDIN_EOF = 0x03,
	PK_RESIZE = 0x04, /* u16 rows, u16 cols */
	PK_SIGNAL = 0x05, /* u32 signal number */
	PK_STOP = 0x06,	  /* u16 version, u32 timeout seconds (0 = configured) */
	PK_STATUS = 0x07, /* u16 version */
	/* server -> client */
	PK_STARTED = 0x81, /* u32 pid (as seen inside the box) */
	PK_STDOUT = 0x82,
	PK_STDERR = 0x83,
	PK_EXIT = 0x84,	       /* u8 0=exited 1=killed, u32 code or signal */
	PK_ERROR = 0x85,       /* u32 suggested exit status, UTF-8 message */
	PK_STATUS_REPLY = 0x86, /* "key=value\n" lines, UTF-8 */
	PK_STOP_ACK = 0x87,    /* halt begun; the connection closes when the box is gone */
};

struct proto_frame {
	uint8_t kind;
	const uint8_t *payload; /* points into the decoded buffer */
	uint32_t len;		/* payload length */
};

/* Decode one frame from the front of buf. Returns 1 and fills *f and
 * *consumed when a whole frame is there, 0 when more bytes are needed, and
 * -1 with a message in e for a frame that can never be valid (length 0 or
 * over the limit, unknown kind, wrong fixed size for its kind). Pure: no
 * allocation, no I/O. */
int proto_decode(const uint8_t *buf, size_t len, struct proto_frame *f, size_t *consumed,
		 struct perr *e);
/* "EXEC", "STDOUT", ... for messages and logs; "UNKNOWN" for other bytes. */
const char *proto_kind_name(uint8_t kind);

/* The session request. Strings are owned by the struct after parsing. */
struct proto_exec {
	uint16_t version; /* encoding: 0 = PROTO_VERSION */
	bool tty;
	bool want_stdin;
	uint16_t rows, cols;
	char **argv; /* NULL-terminated, argc >= 1 */
	char **env;  /* NULL-terminated "K=V" */
	char *user;  /* "" = root; "name", "uid", "name:group", "uid:gid" */
	char *cwd;   /* "" = the user's home, else an absolute path */
};
/* payload := u16 version | u8 flags (1=tty, 2=stdin) | u16 rows | u16 cols |
 *            u32 argc | argc x str | u32 envc | envc x str | str user | str cwd
 * str := u32 length | bytes (no NUL inside) */
int proto_exec_parse(const uint8_t *p, uint32_t len, struct proto_exec *out, struct perr *e);
void proto_exec_free(struct proto_exec *x);

/* Encoders append one whole frame to b. They return -1 only on ENOMEM
 * (or EMSGSIZE when a frame would exceed PROTO_MAX_FRAME). */
int proto_put_exec(struct strbuf *b, const struct proto_exec *x);
int proto_put_data(struct strbuf *b, uint8_t kind, const void *data, size_t len);
int proto_put_u32(struct strbuf *b, uint8_t kind, uint32_t v);
int proto_put_resize(struct strbuf *b, uint16_t rows, uint16_t cols);
int proto_put_exit(struct strbuf *b, bool signaled, uint32_t v);
int proto_put_error(struct strbuf *b, uint32_t status, const char *msg);
int proto_put_stop(struct strbuf *b, uint32_t timeout_sec);
int proto_put_status(struct strbuf *b);
/* Encode a frame header for a payload of len bytes into hdr[PROTO_HDR]. */
void proto_header(uint8_t hdr[PROTO_HDR], uint8_t kind, uint32_t len);

/* Read helpers for fixed payloads (return -1 on a wrong length). */
int proto_get_u32(const struct proto_frame *f, uint32_t *v);
int proto_get_resize(const struct proto_frame *f, uint16_t *rows, uint16_t *cols);
int proto_get_exit(const struct proto_frame *f, bool *signaled, uint32_t *v);
int proto_get_stop(const struct proto_frame *f, uint32_t *timeout_sec);

/* ---- the server (runs on the supervisor's loop) ------------------------ */
struct uv_loop_s;
struct box_config;
struct cg_box;

/* What the server needs to know about the running box. Owned by box/. */
struct enter_box {
	const struct box_config *cfg;
	const struct cg_box *cg;
	pid_t init_pid;
	int init_pidfd;
	char box_id[37];
	unsigned long long started_unix; /* seconds since the epoch */
	/* Set by box/ when the staged halt begins (planet stop, a signal to
	 * the supervisor): STATUS then says state=stopping until the box is
	 * gone and the server with it. */
	bool halting;
	/* Set by box/ when the halt's deadline passed and the box was killed:
	 * a waiting `planet stop` gets ERROR EXIT_STOP_KILLED before the close. */
	bool killed;
	/* Drop the box's capability bounding set and load its seccomp filter
	 * in a child about to exec (provided by box/). */
	int (*apply_security)(const struct box_config *cfg, struct perr *e);
	/* `planet stop`: begin the staged halt (timeout 0 = configured). */
	void (*request_stop)(void *ctx, unsigned timeout_sec);
	void *ctx;
};

struct enter_server;
/* Create, bind and listen on cfg->socket_path (0660 root:group, or 0600),
 * served on loop. A stale socket file is replaced. */
int enter_server_start(struct uv_loop_s *loop, const struct enter_box *box,
		       struct enter_server **out, struct perr *e);
/* Number of open sessions (status). */
unsigned enter_server_sessions(const struct enter_server *s);
/* Close the listener and every session (SIGKILL to their processes), and
 * unlink the socket. Safe to call once; frees s when the loop has closed
 * its handles. */
void enter_server_close(struct enter_server *s);

/* Where the audit lines go: the supervisor queues them on its stdout in
 * order with the console relay, between two console lines, never blocking
 * its loop. NULL: straight to stdout. */
void enter_set_log_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx);

/* ---- client commands ---------------------------------------------------
 * argv[0] is the command name ("exec", "enter", "stop", "status"). They
 * return the process exit status to use (255 when planet itself failed). */
int planet_exec_main(int argc, char **argv);

int planet_enter_main(int argc, char **argv);
int planet_stop_main(int argc, char **argv);
int planet_status_main(int argc, char **argv);

/* ==== internal to enter/ ==================================================
 * Shared by server.c, access.c, control.c, io.c, session.c, inbox.c,
 * passwd.c and the client*.c files; nothing outside enter/ may use what
 * follows. */
/* passwd.c: a user as the box knows it (its own /etc/passwd, /etc/group). */
struct box_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups, the primary one included */
	size_t n_groups;
	char *name;    /* NULL for a uid the box does not list */
	char *home;
	char *shell;
};
/* spec: "" (root), "name", "uid", "name:group", "uid:gid" (any mix). The
 * files are opened below rootfd with RESOLVE_IN_ROOT. An unknown name is an
 * error; an unknown numeric uid runs with gid 0 and HOME=/ (as docker). */
int box_user_lookup(int rootfd, const char *spec, struct box_user *u, struct perr *e);
void box_user_free(struct box_user *u);

/* inbox.c, spawner.c: one process started inside the box. */
struct inbox_spawner;
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
 * after the pid means execve succeeded. */
#define INBOX_STATUS_MAX (8 + 1024)
/* Have the box's spawner clone the child (our direct child, in the box's
 * pid namespace and cgroups) and return its host pid and a pidfd. The
 * child's own errors arrive on the status pipe, never here. */
int inbox_spawn(const struct inbox_req *r, pid_t *pid, int *pidfd, struct perr *e);
/* The spawner process (spawner.c): started with the server (right after
 * init's cgroup migration, when its own is cheap), stopped (SIGKILL, reaped)
 * when the server closes; start returns NULL with e on failure. reap: true
 * once it has exited (and is then reaped). */
struct inbox_spawner *inbox_spawner_start(const struct enter_box *box, struct perr *e);
void inbox_spawner_stop(struct inbox_spawner *sp);
bool inbox_spawner_reap(struct inbox_spawner *sp);
/* Used by the spawner: join the box's cgroups (v2: the planet-enter leaf)
 * and namespaces (pid: for children). */
int inbox_join_box(const struct enter_box *box, struct perr *e);
/* Every signal back to its default disposition (nothing of libuv's). */
void inbox_signals_reset(void);
/* A session process, from its clone to execve; reports on r->status_w. */
_Noreturn void inbox_child_main(const struct inbox_req *r);
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
/* Queue one frame for the client. Bytes are copied only when the socket
 * cannot take them at once. A failed write closes the connection; the
 * session learns it through session_client_gone. */
int conn_send(struct enter_conn *c, uint8_t kind, const void *payload, size_t len);
/* Bytes that continue a frame whose start went to the socket by other means
 * (relay.c's splice); same queueing and failure handling as conn_send. */
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
/* Send an ERROR frame (status, msg), then end the connection. */
void conn_fail(struct enter_conn *c, uint32_t status, const char *msg);
/* The connection's memory (and its session's) lives while references are
 * held: one per open libuv handle. */
void conn_ref(struct enter_conn *c);
void conn_unref(struct enter_conn *c);

/* io.c: helpers of the server side. */
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
/* One line on the supervisor's stdout (the journal). */
void enter_audit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Quote s for a log line: printable ASCII as is, the rest as \xNN; at
 * most max bytes are appended ("..." marks a cut). */
void enter_quote(struct strbuf *b, const char *s, size_t max);

/* Attach a session to its connection: the connection frees it (and counts
 * it in enter_server_sessions) from then on. */
void conn_attach(struct enter_conn *c, struct enter_session *s);

/* access.c: who may connect: root, and members of the [enter] group. */
struct enter_group {
	bool set; /* a group is configured */
	gid_t gid;
};
/* name "" or NULL: no group. A name the host does not know may be a gid. */
int enter_group_resolve(const char *name, struct enter_group *g, struct perr *e);
/* Create the socket at path (replacing a stale one, refusing a live one),
 * bound, 0600, or root:group 0660 with a group. Returns its fd (not yet
 * listening); *dev, *ino identify the socket file. */
int enter_socket_bind(const char *path, const struct enter_group *g, dev_t *dev, ino_t *ino,
		      struct perr *e);
/* May the peer on fd (uid, gid from SO_PEERCRED) connect? */
bool enter_peer_allowed(int fd, uid_t uid, gid_t gid, const struct enter_group *g);
/* The message a refused peer gets. */
void enter_peer_refusal(char *msg, size_t len, uid_t uid, const struct enter_group *g,
			const char *group_name);

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
/* Still open: neither ended nor abandoned by its client (status). */
bool session_open(const struct enter_session *s);
/* Free the memory once every handle is closed. */
void session_free(struct enter_session *s);

/* ---- client*.c: the client commands ---------------------------------------- */
/* Every status planet makes up itself (connection, refusal, protocol). */
#define EXIT_PLANET 255
/* planet stop: the box did not halt in time and was killed at the deadline
 * (3 is status's "not running"). */
#define EXIT_STOP_KILLED 4

/* client.c: one command's options. */
struct client_opts {
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
/* --socket, else $PLANET_SOCKET, else the default path. */
const char *client_socket_path(const char *opt);

/* client_exec.c: run an exec/enter session; returns the exit status. */
int client_exec_session(const struct client_opts *o);
/* client_control.c: planet stop, planet status; return the exit status. */
int client_stop_box(const struct client_opts *o);
int client_status_box(const struct client_opts *o);
/* Ask quietly whether the box at path still runs: 1 with its state
 * ("running", "stopping") in state, 0 when no box answers there, -1 when
 * the question failed. */
int client_box_state(const char *path, char *state, size_t len);

/* client_tty.c: the client's terminal and signals. */
/* The window size of fd 0, 1 or 2 (the first that has one); 0, 0 unknown. */
void client_winsize(uint16_t *rows, uint16_t *cols);
/* Put stdin, when it is a terminal, in raw mode; restore puts back the mode
 * saved then (a no-op when none was changed). */
void client_term_raw(void);
void client_term_restore(void);
/* Block the signals a session forwards (and SIGWINCH, SIGTSTP, SIGCONT); a
 * non-blocking signalfd that reads them, or -1. */
int client_signals_fd(void);
/* A signal read from that signalfd. SIGTSTP puts the saved terminal mode
 * back and stops the client (as the shell's job control expects); SIGCONT
 * makes the terminal raw again when the session wants it and the client is
 * in the foreground. Returns what the session does with it: forward it to
 * the process, send a resize with the current window size (after WINCH,
 * CONT, or a stop that was never carried out), or nothing. */
enum client_sig { CSIG_FORWARD, CSIG_RESIZE, CSIG_NONE };
enum client_sig client_tty_signal(int signo);

/* client_conn.c: the connection to the server, shared by the commands. */
/* Print s with control characters (newlines too, unless kept) as '?'. */
void client_print_clean(FILE *out, const uint8_t *s, size_t n, bool keep_newlines);
/* Write everything, waiting out EAGAIN and EINTR. 0 or -1 (errno). */
int client_write_full(int fd, const void *buf, size_t len);
/* Connect to the socket at path; the fd (close-on-exec), or -1 with e. */
int client_dial(const char *path, struct perr *e);
/* Received bytes: frames are decoded in place, consumed from `off`, and the
 * remainder moved to the front before the next read. Never more than one
 * maximal frame is held. */
struct client_rx {
	uint8_t *buf;
	size_t len, off;
};
/* Room for one maximal frame: 0, or -1 (errno). free is safe after a
 * failed init and on a zeroed client_rx. */
int client_rx_init(struct client_rx *r);
void client_rx_free(struct client_rx *r);
int client_rx_next(struct client_rx *r, struct proto_frame *f, struct perr *e);
ssize_t client_rx_fill(struct client_rx *r, int fd);
/* The same, reading at most max bytes: leaves a large payload in the socket
 * for splice. */
ssize_t client_rx_fill_upto(struct client_rx *r, int fd, size_t max);
/* After client_rx_next returned 0 (so a header held has been checked): 1
 * with the frame's kind, its payload length (*total) and the part of the
 * payload held (f->payload, f->len); 0 when not even the header is held. */
int client_rx_begun(const struct client_rx *r, struct proto_frame *f, size_t *total);
/* Forget everything held (after taking a begun frame's part). */
void client_rx_drop(struct client_rx *r);
int client_rx_wait(struct client_rx *r, int fd, struct proto_frame *f, struct perr *e);
/* Print the server's ERROR frame; the exit status to use, never 0. */
int client_report_error(const struct proto_frame *f);
/* Report a frame of a kind not expected `when`; returns EXIT_PLANET. */
int client_unexpected(const struct proto_frame *f, const char *when);

#endif
