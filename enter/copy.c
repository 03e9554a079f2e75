/* The box side of `planet cp`: a session process that runs planet's own
 * copy routine (copy/) instead of a command. The spawner has already put
 * it in the box's namespaces, root, cgroup and filter, so every path it
 * touches, absolute symlinks included, resolves inside the box and nothing
 * it creates can be outside the rootfs.
 *
 * The session's request (proto_exec, copy set) carries the copy in its
 * argv: "planet-cp", "in" or "out", the flags in decimal, the box path.
 * IN extracts the tar that arrives on stdin (the client's STDIN frames);
 * OUT writes a tar to stdout (STDOUT frames). A failure is one line on
 * stderr and exit status 1: the client marks it as the box's word. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy/copy.h"

#define COPY_BUF (1u << 20)

/* ---- supervisor side: the request --------------------------------------- */

int copy_request_exec(const struct proto_frame *f, struct proto_exec *x, struct perr *e)
{
	struct proto_copy c;
	*x = (struct proto_exec){ 0 };
	if (proto_copy_parse(f, &c, e) < 0)
		return -1;
	char flags[4];
	snprintf(flags, sizeof flags, "%u", (unsigned)c.flags);
	const char *argv[] = { "planet-cp", c.dir == PCOPY_IN ? "in" : "out", flags, c.path };
	x->version = c.version;
	x->want_stdin = c.dir == PCOPY_IN;
	x->copy = true;
	x->argv = calloc(5, sizeof *x->argv);
	x->env = calloc(1, sizeof *x->env);
	x->user = strdup("");
	x->cwd = strdup("");
	for (size_t i = 0; x->argv && i < 4; i++)
		x->argv[i] = strdup(argv[i]);
	proto_copy_free(&c);
	if (!x->argv || !x->env || !x->user || !x->cwd || !x->argv[0] || !x->argv[1] ||
	    !x->argv[2] || !x->argv[3]) {
		proto_exec_free(x);
		return perr_set(e, ENOMEM, "COPY");
	}
	return 0;
}

/* ---- the session process, in the box ------------------------------------ */

static ssize_t fd_read(void *ctx, const void **buf)
{
	char *b = ctx;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, b, COPY_BUF);
		if (n >= 0 || errno != EINTR) {
			*buf = b;
			return n;
		}
	}
}

static int fd_write(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	const char *p = buf;
	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

_Noreturn void inbox_copy_main(const struct proto_exec *x, int status_w)
{
	struct perr e = { 0 };
	/* As an execve would: EOF on the status pipe tells the server the
	 * session's process runs. */
	close(status_w);
	copy_signals_catch();
	char **a = x->argv;
	int rc = -1;
	if (!a[0] || !a[1] || !a[2] || !a[3]) {
		perr_set(&e, 0, "copy: a malformed request");
	} else if (strcmp(a[1], "in") == 0) {
		char *buf = malloc(COPY_BUF);
		struct copy_io io = { .read = fd_read, .ctx = buf };
		/* Fewer, larger reads from the relay (what it cannot, it cannot). */
		(void)fcntl(STDIN_FILENO, F_SETPIPE_SZ, PROTO_PIPE_BIG);
		rc = buf ? copy_unpack(a[3], (unsigned)atoi(a[2]), &io, &e)
			 : perr_set(&e, ENOMEM, "copy");
		free(buf);
	} else {
		struct copy_io io = { .write = fd_write };
		(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, PROTO_PIPE_BIG);
		rc = copy_pack(a[3], (unsigned)atoi(a[2]), &io, &e);
	}
	if (rc < 0) {
		dprintf(STDERR_FILENO, "%s\n", e.msg);
		_exit(1);
	}
	_exit(0);
}
