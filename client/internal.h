/* client: what only the module's own files share. */
#ifndef PLANET_CLIENT_INTERNAL_H
#define PLANET_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/client.h"
#include "proto/proto.h"

/* commands.c: one command's options. */
struct client_opts {
	const char *cmd; /* "exec", ... for messages */
	const char *socket; /* --socket; once located, the socket to use */
	const char *host;   /* -H after the command */
	const char *state_dir_opt, *config; /* --state-dir, --config */
	char *located_socket, *state_dir;   /* config_locate's answer */
	bool tty, interactive, json;
	bool detach;	      /* exec -d */
	bool all, tree;	      /* kill --all, ps --tree */
	bool since_start;     /* events --since-start */
	bool archive, follow; /* cp -a, cp -L */
	unsigned watch_sec;   /* stats --watch[=SEC]; 0 = once */
	struct strbuf limits; /* update: "key=value\n" lines */
	const char *user, *workdir;
	uint32_t timeout;
	struct strbuf envs; /* NUL-separated K=V entries */
	size_t nenv;
	char **argv; /* the command, into the caller's argv */
	int argc;
};
/* The socket the command uses: as `planet start` would place it, from
 * --config/PLANET_CONFIG, PLANET_STATE_DIR, PLANET_SOCKET, --state-dir and
 * --socket (config_locate); commands.c sets o->socket to it. */
const char *client_socket_path(const char *opt);

/* remote.c: -H URLs and the ssh transport. */
#define REMOTE_PATH_MAX 108 /* sockaddr_un's sun_path */
struct remote_url {
	enum { REMOTE_UNIX, REMOTE_SSH } kind;
	char user[64], host[256], port[6];
	char path[REMOTE_PATH_MAX]; /* "" for ssh: the remote's default */
};
/* unix:///PATH or ssh://[USER@]HOST[:PORT][/PATH] (HOST may be [IPv6]);
 * 0, or -1 for anything else (the caller names the value). */
int remote_url_parse(const char *url, struct remote_url *u);
/* Which box the command talks to: -H (after or before the command), else
 * PLANET_HOST unless --socket, --config or --state-dir was given. 0: none
 * (the local lookup applies); 1: o->socket set (for ssh, to the URL, and
 * client_dial goes over ssh from now on); -1: a bad URL or -H with
 * --socket, said on stderr (exit 2). */
int client_remote_resolve(struct client_opts *o);
bool client_remote_active(void);
/* A connected stream to the remote box: ssh running `planet dial-stdio`. */
int client_remote_dial(struct perr *e);
/* conn.c tells what it read: a byte from the server (heard), or the end
 * of the connection (lost). Lost before anything was heard: the reason
 * ssh gives, in one line, and exit 255 (the terminal restored). */
void client_remote_heard(int fd);
void client_remote_lost(int fd);
/* For a control request (status, stop, OP verbs): when dial-stdio found no
 * box at the remote socket (its exit 3), lost returns quietly and
 * client_remote_no_box says so afterwards, so that the command answers as
 * it does locally when no box runs (status: running=no, exit 3). */
void client_remote_no_box_answers(int fd);
bool client_remote_no_box(int fd);

/* exec.c: run an exec/enter session; returns the exit status. */
int client_exec_session(const struct client_opts *o);
/* control.c: planet stop, planet status; return the exit status. */
int client_stop_box(const struct client_opts *o);
int client_status_box(const struct client_opts *o);
/* Ask quietly whether the box at path still runs: 1 with its state
 * ("running", "stopping") in state, 0 when no box answers there, -1 when
 * the question failed. */
int client_box_state(const char *path, char *state, size_t len);
struct client_rx;
/* control.c: one request, its one answer (a frame of kind want). 1 with f
 * (fd and rx open), 0 when no box answers at path, -1 with *status set and
 * the reason printed. */
int client_control_exchange(const char *path, struct strbuf *req, uint8_t want,
			   const char *before, int *fd, struct client_rx *rx, struct proto_frame *f,
			   int *status);
/* One STATUS: 1 with its reply in f (free rx after), 0 when no box
 * answers at path, -1 with *status set and the reason printed. */
int client_status_query(const char *path, struct client_rx *rx, struct proto_frame *f,
			int *status);
/* s[0..n) as a JSON string on stdout. */
void client_json_string(const char *s, size_t n);
/* ops.c: planet stats, metrics, ps, kill, pause, resume, update, list. */
int client_stats(const struct client_opts *o, bool prometheus);
int client_ps(const struct client_opts *o);
int client_kill(const struct client_opts *o);
int client_simple_op(const struct client_opts *o, const char *verb, const char *args);
int client_list(const struct client_opts *o);
int client_events(const struct client_opts *o);
/* cp.c: planet cp SRC DST (argv[0], argv[1], one of them box:PATH). */
int client_cp(const struct client_opts *o);
/* leftovers.c: when no box answers, one line on stderr about a state file
 * in state_dir that a dead (or unreachable) supervisor left. */
void client_leftovers(const char *state_dir, const char *socket);

/* tty.c: the client's terminal and signals. */
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

/* conn.c: the connection to the server, shared by the commands. */
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
