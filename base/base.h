/* base: what every planet module shares.
 *
 * - struct perr: an error that carries errno plus a message, with context
 *   prepended as it travels up the stack ("mount /proc: Permission denied").
 * - cleanup attributes for fds, heap memory and FILE streams.
 * - rootfs-confined path access: every path inside a rootfs is resolved with
 *   openat2(RESOLVE_IN_ROOT), so a symlink in the rootfs can never point a
 *   write at the host.
 * - small I/O helpers (write everything, read a bounded file, atomic replace).
 * - signal names <-> numbers.
 * - the box's users and groups, read from its own /etc/passwd and /etc/group
 *   (passwd.c), for enter sessions and for init_user.
 *
 * Nothing here allocates behind the caller's back except where a function
 * returns an allocated buffer, and nothing here exits the process. */
#ifndef PLANET_BASE_H
#define PLANET_BASE_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define PERR_MSG_MAX 1024
/* A box id: a UUID's 36 characters and the NUL (box/, enter/). */
#define BOX_ID_SIZE 37

struct perr {
	int errnum; /* errno of the root cause, 0 when it was not a syscall */
	char msg[PERR_MSG_MAX];
};

/* Record an error. errnum != 0 appends ": strerror(errnum)". Returns -1 so
 * callers can write `return perr_set(e, errno, "open %s", p);`. e may be NULL. */
int perr_set(struct perr *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix context to an existing error: "ctx: previous message". Returns -1. */
int perr_wrap(struct perr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void cleanup_fdp(int *fd);
void cleanup_freep(void *p);
void cleanup_filep(FILE **f);
void cleanup_dirp(DIR **d);
struct strbuf;
void cleanup_strbufp(struct strbuf *b);
/* A child of ours that must not outlive the scope: SIGKILL and reaped
 * (waitpid), unless the variable was set to -1 (take it with take_pid). */
void cleanup_childp(pid_t *pid);
/* sig to every process whose session id is sid (a shell's jobs that made
 * process groups of their own): only for a sid known to be one's own. */
void kill_session(pid_t sid, int sig);
#define _cleanup_fd_ __attribute__((cleanup(cleanup_fdp)))
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_file_ __attribute__((cleanup(cleanup_filep)))
#define _cleanup_dir_ __attribute__((cleanup(cleanup_dirp)))
#define _cleanup_strbuf_ __attribute__((cleanup(cleanup_strbufp)))
#define _cleanup_child_ __attribute__((cleanup(cleanup_childp)))

/* Hand ownership out of a cleanup variable. */
static inline int take_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
static inline pid_t take_pid(pid_t *p)
{
	pid_t r = *p;
	*p = -1;
	return r;
}
static inline void *take_ptr(void *pp)
{
	void **p = (void **)pp;
	void *r = *p;
	*p = NULL;
	return r;
}

/* openat2(dirfd, path, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): `path` is
 * resolved as if dirfd were "/", symlinks included. */
int root_open(int rootfd, const char *path, int flags, mode_t mode, struct perr *e);
/* Read a whole regular file inside root (at most max bytes). A FIFO, a
 * device node or a directory there is refused (EINVAL) without blocking
 * and without reading it: a rootfs must not make the supervisor hang on a
 * FIFO or read a host device through a node it planted. */
int root_read_regular(int rootfd, const char *path, size_t max, char **out, size_t *outlen,
		      struct perr *e);
/* mkdir -p inside the root; every component resolved in the root. Returns an
 * O_PATH|O_DIRECTORY fd of the last directory. */
int root_mkdir_p(int rootfd, const char *path, mode_t mode, struct perr *e);
/* Make sure `path` exists inside root as an empty regular file (mount target
 * for a file bind); parents are created. Returns an O_PATH fd of it. */
int root_touch(int rootfd, const char *path, mode_t mode, struct perr *e);
/* Write a whole file inside root atomically: temp file in the same directory,
 * then renameat over `path`. Parents are created. */
int root_write_file(int rootfd, const char *path, const void *data, size_t len,
		    mode_t mode, struct perr *e);
/* The same, the file owned by uid:gid ((uid_t)-1 / (gid_t)-1: unchanged)
 * before it is renamed into place. */
int root_write_file_owned(int rootfd, const char *path, const void *data, size_t len,
			  mode_t mode, uid_t uid, gid_t gid, struct perr *e);

/* Write all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Read at most `max` bytes of a file (dirfd-relative, AT_FDCWD ok) into a
 * NUL-terminated heap buffer. Larger files are an error (EFBIG). */
int read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *outlen,
		 struct perr *e);
/* Read an open fd to EOF, same limits. */
int read_fd_all(int fd, size_t max, char **out, size_t *outlen, struct perr *e);
/* Atomic replace of a host file (state file): tmp + rename (no fsync:
 * runtime state, see core.c). */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      struct perr *e);

/* "SIGTERM", "TERM", "15", "SIGRTMIN+3", "RTMIN+3", "RTMAX-2" -> number, or
 * -1 if it names no signal. */
int signal_parse(const char *s);
/* Canonical name ("SIGTERM", "SIGRTMIN+3") into buf. */
const char *signal_name(int sig, char *buf, size_t len);

/* The supervisor holds a few descriptors per session: raise its own soft
 * RLIMIT_NOFILE to the hard limit at start, and put the original back in
 * every child before it execs (select()-based programs inside the box must
 * not see a soft limit above 1024 they did not ask for). */
void nofile_limit_raise(void);
void nofile_limit_restore(void);

/* Monotonic clock in nanoseconds. */
unsigned long long now_ns(void);

/* A growable string buffer for building file contents. Functions return -1
 * with errno=ENOMEM on allocation failure and leave the buffer usable. */
struct strbuf {
	char *s;
	size_t len, cap;
};
int sb_append(struct strbuf *b, const char *s, size_t n);
int sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct strbuf *b);

/* log.c: planet's own lines (lifecycle, errors, the enter audit).
 *
 * Each line is one record: to the journal's native socket when it exists
 * (SYSLOG_IDENTIFIER=planet or planet-audit, PRIORITY=<syslog level>,
 * MESSAGE=...), and to stderr as "planet: MSG" or "planet-audit: MSG"
 * unless stderr is the journal's stream already (JOURNAL_STREAM, as under
 * planet.service); on stderr always in one write ending in "\n", so that
 * no other output can land inside it. Control characters in the message are escaped C-style (\n,
 * \t, \x1b), so one record is always one line.
 *
 * The box's console is not logged here: box/supervise.c relays it to
 * stdout, each line prefixed with "console: ", which these lines never
 * carry. See docs/LOGGING.md. */
#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO */

/* The journal's socket, when a record opened it: closed at exit. */
void log_close(void);
/* A lifecycle or error line of the supervisor (identifier "planet"). */
void plog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An audit record of the enter API (identifier "planet-audit"). */
void plog_audit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* While set, a line bound for stderr is handed to sink instead (the whole
 * line, "\n" included), so that the supervisor can queue it in order with
 * the console relay when stdout and stderr are one file. NULL: write it. */
void log_set_stderr_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx);


/* text.c: the one C-style escaper. Control characters and DEL always
 * become \n \t \r or \xNN; the flags add '"' (ESC_DQUOTE), '\'
 * (ESC_BACKSLASH) and bytes >= 0x80 (ESC_HIGH, for text that must be
 * ASCII; without it UTF-8 passes). out gets at most size-1 bytes and a
 * NUL; a value that does not fit ends in "..." . Returns the length. */
enum { ESC_DQUOTE = 1, ESC_BACKSLASH = 2, ESC_HIGH = 4 };
size_t str_escape(char *out, size_t size, const char *s, size_t n, unsigned flags);
/* s[0..n) in double quotes, escaped (ESC_DQUOTE|ESC_BACKSLASH), for an
 * error message naming a value: into buf (bounded, "..." marks a cut). */
const char *str_quote(char *buf, size_t size, const char *s, size_t n);
/* Whether s is one or more ASCII digits and nothing else. */
bool str_is_digits(const char *s);
/* The value of key in "key=value\n" lines (the OP requests and replies,
 * STATUS), copied into buf; NULL when absent or longer than buf. */
const char *kv_get(const char *text, const char *key, char *buf, size_t len);
/* The same appended to b, at most max bytes, and bytes >= 0x80 escaped
 * too (ESC_HIGH), so that a line that quotes an argv, a user name or a path
 * is ASCII whatever bytes a client sent. 0, or -1 on ENOMEM. */
int sb_quote(struct strbuf *b, const char *s, size_t max);

/* exec.c: the search path of a box's processes (init, and sessions whose
 * environment sets none). */
#define BOX_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* execve(file) on each element of path in turn (an empty element is ".",
 * as POSIX says), never the caller's own PATH. Returns only on failure,
 * with the errno to report: EACCES when a candidate was found but denied,
 * the error that stopped the search (ENOEXEC...), else ENOENT. */
int exec_search(const char *file, char *const argv[], char *const envp[], const char *path);

/* passwd.c: a user as the box knows it (its own /etc/passwd, /etc/group),
 * read as files below a root fd, never through the host's NSS. Used by the
 * enter session child (already in the box) and by box/ for --init-user. */
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

#endif
