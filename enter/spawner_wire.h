/* The socketpair between the supervisor and its session spawner: internal
 * to enter/, shared by spawner.c (supervisor side) and spawner_proc.c.
 *
 *   supervisor -> spawner   once: u32 length + the box's proxy env file
 *                           path; then per session: spawn_hdr, the EXEC
 *                           payload, SCM_RIGHTS with the session's stdio
 *                           ends and the status pipe's write end
 *   spawner -> supervisor   per session, in order: spawn_reply, with the
 *                           new process's pidfd (SCM_RIGHTS) when err == 0
 *
 * The box can steal the spawner's end (it can reach a freshly cloned
 * session process for a few instructions), so the supervisor treats every
 * reply as untrusted: see spawner.c. */
#ifndef PLANET_ENTER_SPAWNER_WIRE_H
#define PLANET_ENTER_SPAWNER_WIRE_H

#include <stdint.h>

#define SPAWN_REQ_FDS 4 /* stdin?, stdout, stderr, status pipe */
#define SPAWN_SETUP_MAX 4096

/* NOOUT: no stdout and stderr passed (exec -d): the box's /dev/null;
 * COPY: the session process runs planet cp's copy, not a command */
enum { SPAWN_REQ_STDIN = 1, SPAWN_REQ_TTY = 2, SPAWN_REQ_NOOUT = 4, SPAWN_REQ_COPY = 8 };

struct spawn_hdr {
	uint32_t len; /* of the EXEC payload that follows */
	uint32_t flags;
};

struct spawn_reply {
	int32_t err;   /* 0, or the errno of the failure */
	char msg[508]; /* the whole message, errno's text included */
};

#endif
