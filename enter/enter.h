/* enter: the enter server, which the supervisor runs on its libuv loop:
 * the listening socket, connections, exec sessions and their output relay,
 * the session spawner and the session process inside the box. box/ hosts
 * it; the wire protocol is proto/'s, the client commands are client/'s. */
#ifndef PLANET_ENTER_H
#define PLANET_ENTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/base.h"

struct uv_loop_s;
struct box_config;
struct cg_box;

/* What the server needs to know about the running box. Owned by box/. */
struct enter_box {
	const struct box_config *cfg;
	struct cg_box *cg; /* enter/devices.c changes its device rules */
	pid_t init_pid;
	int init_pidfd;
	char box_id[BOX_ID_SIZE];
	unsigned long long started_unix; /* seconds since the epoch */
	/* Set by box/ when the staged halt begins (planet stop, a signal to
	 * the supervisor): STATUS then says state=stopping until the box is
	 * gone and the server with it. */
	bool halting;
	/* Set by box/ when the halt's deadline passed and the box was killed:
	 * a waiting `planet stop` gets ERROR EXIT_STOP_KILLED before the close. */
	bool killed;
	/* Drop the box's capability bounding set and load its seccomp filter
	 * in the calling process (provided by box/): the session spawner takes
	 * them before it clones any session process. */
	int (*apply_security)(const struct box_config *cfg, struct perr *e);
	/* `planet stop`: begin the staged halt (timeout 0 = configured). */
	void (*request_stop)(void *ctx, unsigned timeout_sec);
	void *ctx;
};

/* Who may connect besides root: the [enter] group, a group of the host
 * (box/ resolves it at plan time, so that a missing one is bad input). */
struct enter_group {
	bool set; /* a group is configured */
	gid_t gid;
};
/* name "" or NULL: no group. A name the host does not know may be a gid. */
int enter_group_resolve(const char *name, struct enter_group *g, struct perr *e);
/* The same for another group (what: "monitor group", in the message). */
int enter_group_resolve_as(const char *what, const char *name, struct enter_group *g,
			   struct perr *e);

struct enter_server;
/* Create, bind and listen on cfg->socket_path (0660 root:group, or 0600),
 * served on loop. A stale socket file is replaced. */
int enter_server_start(struct uv_loop_s *loop, const struct enter_box *box,
		       struct enter_server **out, struct perr *e);
/* One event to every `planet events` listener (and kept for
 * --since-start): type ("state", "oom", "pressure", "limits", "session", "init"),
 * then key, value, ... NULL. s may be NULL. */
void enter_server_event(struct enter_server *s, const char *type, ...);
#define EVENT_END ((const char *)0) /* ends enter_server_event's pairs */
/* A halt thaws a paused box first (its init must run to halt). */
void enter_server_resume(struct enter_server *s);
/* Number of open sessions (status). */
unsigned enter_server_sessions(const struct enter_server *s);
/* Close the listener and every session (SIGKILL to their processes), and
 * unlink the socket. Safe to call once; frees s when the loop has closed
 * its handles. */
void enter_server_close(struct enter_server *s);

/* `planet-spawner BOXID`: the session spawner after its re-exec (argv[0]
 * names it; only the supervisor starts it). */
int planet_spawner_main(int argc, char **argv);

#endif
