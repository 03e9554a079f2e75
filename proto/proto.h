/* proto: the enter wire protocol in C (docs/PROTOCOL.md): frames, kinds,
 * limits, versions, and the encoder and decoder of every kind. Both sides
 * link it: the server (enter/) and the client commands (client/). It is the
 * only code that reads or writes wire bytes.
 *
 * No file descriptors ever cross the socket: everything is framed bytes, so
 * the socket works when forwarded (ssh -L, socat). */
#ifndef PLANET_PROTO_H
#define PLANET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* frame := u32 length (big-endian; counts kind + payload) | u8 kind | payload
 * A length of 0 or above PROTO_MAX_FRAME is a protocol error. */
/* The exit status of everything planet itself reports rather than the
 * process: refusals, protocol errors, server and connection failures. Both
 * sides use this one name. */
#define EXIT_PLANET 255
/* planet stop: the box did not halt in time and was killed at the deadline
 * (the server's ERROR status before its close; 3 is status's "not
 * running"). */
#define EXIT_STOP_KILLED 4

#define PROTO_VERSION 3	    /* the newest this side speaks: EXEC asks for it */
#define PROTO_VERSION_MIN 1 /* the oldest it still serves */
#define PROTO_VERSION_CODES 3 /* the first whose ERROR carries a code */
#define PROTO_MAX_FRAME (1u << 20) /* 1 MiB: kind + payload */
#define PROTO_MAX_DATA 65536	   /* STDIN; STDOUT, STDERR of a version 1 session */
#define PROTO_MAX_OUTPUT (512u * 1024) /* STDOUT, STDERR of a version 2 session */
#define PROTO_HDR 5
/* Not on the wire: the pipe size both sides grow a pipe to when bulk
 * output flows (the server's process pipes, the client's stdout pipe), so
 * that two maximal version 2 payloads fit in it. */
#define PROTO_PIPE_BIG (1024 * 1024)

enum proto_kind {
	/* client -> server */
	PK_EXEC = 0x01,	  /* a session request, see struct proto_exec */
	PK_STDIN = 0x02,  /* bytes for the process's stdin */
	PK_STDIN_EOF = 0x03,
	PK_RESIZE = 0x04, /* u16 rows, u16 cols */
	PK_SIGNAL = 0x05, /* u32 signal number */
	PK_STOP = 0x06,	  /* u16 version, u32 timeout seconds (0 = configured) */
	PK_STATUS = 0x07, /* u16 version */
	PK_OP = 0x08,	  /* u16 version | "VERB\n" | "key=value\n"...: an operation on
			     the running box (stats, ps, kill, pause, resume, update) */
	PK_COPY = 0x09,	  /* u16 version | u8 direction | u8 flags | path: planet cp, a
			     session whose process is planet's own tar (struct proto_copy) */
	/* server -> client */
	PK_STARTED = 0x81, /* u32 pid (as seen inside the box) */
	PK_STDOUT = 0x82,
	PK_STDERR = 0x83,
	PK_EXIT = 0x84,	       /* u8 0=exited 1=killed, u32 code or signal */
	PK_ERROR = 0x85,       /* u32 suggested exit status, [v3: u16 code], message */
	PK_STATUS_REPLY = 0x86, /* "key=value\n" lines, UTF-8 */
	PK_STOP_ACK = 0x87,    /* halt begun; the connection closes when the box is gone */
	PK_OP_REPLY = 0x88,    /* the operation's answer: lines of UTF-8 text */
};

/* Version 3: what an ERROR is about, for programs; the message stays for
 * people. The values travel as the u16 after the status; each is 1..255,
 * so the byte after the status is 0 in this layout and never in the older
 * one (whose message holds no NUL): a reader tells them apart by that byte.
 * The last three are the session process's own word from inside the box
 * (their message starts "in the box: "); the server never uses them for
 * its own failures. */
enum proto_err {
	PE_NONE = 0,	      /* an ERROR in the layout of versions 1 and 2: no code */
	PE_DENIED = 1,	      /* the peer may not connect (its credentials) */
	PE_LIMIT = 2,	      /* too many sessions, or too many connections */
	PE_BAD_REQUEST = 3,   /* a frame or request that is not valid (protocol error) */
	PE_VERSION = 4,	      /* the version asked for is not spoken here */
	PE_TIMEOUT = 5,	      /* no complete request in time; a box killed at its halt deadline */
	PE_STOPPING = 6,      /* the box is halting: the session's process was killed */
	PE_INTERNAL = 7,      /* the server failed (memory, descriptors, the spawner) */
	PE_NOT_FOUND = 8,     /* in the box: no such command (status 127) */
	PE_NOT_EXECUTABLE = 9, /* in the box: found but cannot run, or cwd refused (126) */
	PE_EXEC_FAILED = 10,  /* in the box: any other failure before exec (unknown user...) */
	PE_PAUSED = 11,	      /* the box is paused (planet pause): no new session */
};
#define PE_LAST PE_PAUSED
/* "denied", "bad-request", ...; "unknown" for a value this side does not
 * know (a client treats it as a failure with the frame's status). */
const char *proto_err_name(uint16_t code);
/* The code of what the session process reported from inside the box with
 * exit status 126, 127 or anything else. */
enum proto_err proto_err_in_box(uint32_t status);

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
/* The size of the frame that starts buf (4 + its length field) once the
 * length field has arrived: 1 with *total set, 0 when fewer than 4 bytes
 * are there. The value is not checked: proto_decode does that. */
int proto_frame_total(const uint8_t *buf, size_t len, size_t *total);
/* The version field of the request (EXEC, STOP, STATUS) that starts buf:
 * 1 with *v set (supported or not) once its first 7 bytes are there and
 * its header is valid, 0 when more bytes are needed, -1 when buf does not
 * start with a valid request header. */
int proto_request_version(const uint8_t *buf, size_t len, uint16_t *v);
/* The version a server answers a request of version asked in: that one
 * when it speaks it, else its newest (whose ERROR says PE_VERSION). */
uint16_t proto_reply_version(uint16_t asked);
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
	uint32_t timeout_sec; /* version 3: 0 = none, else SIGTERM at the deadline */
	bool detach; /* version 3: the session outlives its connection (exec -d) */
	bool copy; /* not on the wire: the server's session for a COPY (argv: the copy) */
};
/* payload := u16 version | u8 flags (1=tty, 2=stdin, 4=detach: v3) | u16 rows | u16 cols |
 *            u32 argc | argc x str | u32 envc | envc x str | str user | str cwd
 *            [u32 timeout_sec: version 3, only when not 0]
 * str := u32 length | bytes (no NUL inside) */
int proto_exec_parse(const uint8_t *p, uint32_t len, struct proto_exec *out, struct perr *e);
void proto_exec_free(struct proto_exec *x);

/* Encoders append one whole frame to b. They return -1 only on ENOMEM
 * (or EMSGSIZE when a frame would exceed PROTO_MAX_FRAME). */
int proto_put_exec(struct strbuf *b, const struct proto_exec *x);
int proto_put_data(struct strbuf *b, uint8_t kind, const void *data, size_t len);
int proto_put_u32(struct strbuf *b, uint8_t kind, uint32_t v);
int proto_put_resize(struct strbuf *b, uint16_t rows, uint16_t cols);
int proto_put_started(struct strbuf *b, uint32_t pid);
int proto_put_exit(struct strbuf *b, bool signaled, uint32_t v);
/* ERROR in the layout of version (the request's): from version 3 on with
 * code (which must then be 1..PE_LAST), before it without. The message
 * goes as it is: the caller has escaped what it quotes. */
int proto_put_error(struct strbuf *b, uint16_t version, uint32_t status, enum proto_err code,
		    const char *msg);
/* A payload-less frame: STDIN_EOF, STOP_ACK. */
int proto_put_empty(struct strbuf *b, uint8_t kind);
/* STATUS_REPLY: the "key=value\n" lines (no NUL). */
int proto_put_status_reply(struct strbuf *b, const char *text, size_t len);
int proto_put_stop(struct strbuf *b, uint32_t timeout_sec);
int proto_put_status(struct strbuf *b);
/* Encode a frame header for a payload of len bytes into hdr[PROTO_HDR]. */
void proto_header(uint8_t hdr[PROTO_HDR], uint8_t kind, uint32_t len);

/* Read helpers for fixed payloads (return -1 on a wrong length). */
int proto_get_u32(const struct proto_frame *f, uint32_t *v);
int proto_get_resize(const struct proto_frame *f, uint16_t *rows, uint16_t *cols);
int proto_get_exit(const struct proto_frame *f, bool *signaled, uint32_t *v);
int proto_get_stop(const struct proto_frame *f, uint32_t *timeout_sec);
/* An ERROR of either layout; code is PE_NONE for the older one. msg points
 * into the frame and is not NUL-terminated. */
struct proto_error {
	uint32_t status;
	uint16_t code;
	const char *msg;
	size_t msg_len;
};
int proto_get_error(const struct proto_frame *f, struct proto_error *out);

/* OP: an operation on the running box. verb: one word; args: "key=value"
 * lines (may be empty). The decoded verb and args point into a copy the
 * caller frees (proto_op_free). */
struct proto_op {
	uint16_t version;
	char *verb;
	char *args; /* "" when none */
	char *buf_;
};
int proto_put_op(struct strbuf *b, const char *verb, const char *args);
int proto_op_parse(const struct proto_frame *f, struct proto_op *op, struct perr *e);
void proto_op_free(struct proto_op *op);

/* COPY (planet cp): a session whose process in the box is planet's own
 * copy routine, not a command. IN: the client sends a tar as STDIN frames
 * and the box extracts it at path; OUT: the box sends a tar of path as
 * STDOUT frames. Came with version 3 (older servers refuse kind 0x09). */
enum proto_copy_dir { PCOPY_IN = 1, PCOPY_OUT = 2 };
enum {
	PCOPY_ARCHIVE = 0x01, /* -a: owners, modes, times as the tar has them */
	PCOPY_FOLLOW = 0x02,  /* -L: follow symlinks on the source side */
	PCOPY_STREAM = 0x04,  /* IN: the tar goes into the directory path as it is */
	PCOPY_FLAGS = 0x07,
};
struct proto_copy {
	uint16_t version;
	uint8_t dir;
	uint8_t flags;
	char *path; /* in the box; owned */
};
int proto_put_copy(struct strbuf *b, const struct proto_copy *c);
int proto_copy_parse(const struct proto_frame *f, struct proto_copy *c, struct perr *e);
void proto_copy_free(struct proto_copy *c);

#endif
