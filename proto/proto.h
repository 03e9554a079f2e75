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
	PK_OP = 0x08,	  /* u16 version | "VERB\n" | "key=value\n"...: an operation on
			     the running box (stats, ps, kill, pause, resume, update) */
	/* server -> client */
	PK_STARTED = 0x81, /* u32 pid (as seen inside the box) */
	PK_STDOUT = 0x82,
	PK_STDERR = 0x83,
	PK_EXIT = 0x84,	       /* u8 0=exited 1=killed, u32 code or signal */
	PK_ERROR = 0x85,       /* u32 suggested exit status, UTF-8 message */
	PK_STATUS_REPLY = 0x86, /* "key=value\n" lines, UTF-8 */
	PK_STOP_ACK = 0x87,    /* halt begun; the connection closes when the box is gone */
	PK_OP_REPLY = 0x88,    /* the operation's answer: lines of UTF-8 text */
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

#endif
