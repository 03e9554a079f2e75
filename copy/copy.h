/* copy: the tar streams of `planet cp`, built on libarchive, the same code
 * on both sides of the socket. The box's session process packs or unpacks
 * inside the box (it has the box's root, so every path and every absolute
 * symlink resolves there); the client does the other half on the host.
 *
 * Destination rules (cp(1), docker cp), applied by copy_unpack:
 *   DST an existing directory      the entry lands inside it (DST/NAME)
 *   DST anything else              the entry takes DST's name, in DST's
 *                                  parent (which must exist); a directory
 *                                  never replaces a non-directory
 *   COPY_STREAM (SRC was "-")      the tar goes into the directory DST as
 *                                  it is, entry names unchanged
 * Extraction never follows a symlink below DST, never writes outside it
 * ("..", absolute names), and writes each file under a temporary name
 * renamed into place once complete, so that an interrupted copy leaves no
 * partial file under the target's name. */
#ifndef PLANET_COPY_H
#define PLANET_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/base.h"

/* The same values as proto.h's PCOPY_* flags (they travel in COPY). */
enum {
	COPY_ARCHIVE = 0x01, /* -a: owners, modes, times kept; else cp(1)'s defaults */
	COPY_FOLLOW = 0x02,  /* -L: symlinks on the source side followed */
	COPY_STREAM = 0x04,  /* unpack the tar into DST as it is (SRC "-") */
};

/* Where the tar goes or comes from. read: a pointer to the next bytes
 * (valid until the next call), 0 at the end, -1 with errno; write: all of
 * len, 0 or -1 with errno. The other one is unused. */
struct copy_io {
	ssize_t (*read)(void *ctx, const void **buf);
	int (*write)(void *ctx, const void *buf, size_t len);
	void *ctx;
};

/* A tar of src (a file, a directory and all below it, a symlink) whose
 * entries are named after src's last component. */
int copy_pack(const char *src, unsigned flags, const struct copy_io *io, struct perr *e);
/* Extract the tar read from io at dst by the rules above. The process's
 * working directory is changed while it runs, and put back. */
int copy_unpack(const char *dst, unsigned flags, const struct copy_io *io, struct perr *e);
/* SIGHUP (a session's client went away), SIGTERM and SIGINT: the file
 * copy_unpack is writing, if any, removed, then _exit(128 + sig), so that
 * nothing is left under a temporary name either;
 * SIGPIPE ignored (a closed peer is an EPIPE to report). For both sides. */
void copy_signals_catch(void);

#endif
