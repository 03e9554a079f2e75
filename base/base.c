#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int perr_set(struct perr *e, int errnum, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < sizeof e->msg)
		snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
	e->errnum = errnum;
	return -1;
}

int perr_wrap(struct perr *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	char prev[PERR_MSG_MAX];
	memcpy(prev, e->msg, sizeof prev);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof e->msg)
		snprintf(e->msg + n, sizeof e->msg - n, ": %s", prev);
	return -1;
}

void cleanup_fdp(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

void cleanup_freep(void *p)
{
	free(*(void **)p);
}

void cleanup_dirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

void cleanup_strbufp(struct strbuf *b)
{
	sb_free(b);
}

void cleanup_childp(pid_t *pid)
{
	if (*pid <= 0)
		return;
	int err = errno;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = -1;
	errno = err;
}

void cleanup_filep(FILE **f)
{
	if (*f)
		fclose(*f);
}

int root_open(int rootfd, const char *path, int flags, mode_t mode, struct perr *e)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0)
		return perr_set(e, errno, "open %s in rootfs", path);
	return fd;
}

int root_read_regular(int rootfd, const char *path, size_t max, char **out, size_t *outlen,
		      struct perr *e)
{
	*out = NULL;
	_cleanup_fd_ int fd = root_open(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, e);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return perr_set(e, errno, "stat %s in rootfs", path);
	if (!S_ISREG(st.st_mode))
		return perr_set(e, EINVAL, "%s in rootfs is not a regular file", path);
	if (read_fd_all(fd, max, out, outlen, e) < 0)
		return perr_wrap(e, "%s in rootfs", path);
	return 0;
}

/* mkdirat one component at a time, each relative to a directory fd that was
 * itself resolved inside the root: a symlinked component (even an absolute
 * one) is followed only within the rootfs. */
int root_mkdir_p(int rootfd, const char *path, mode_t mode, struct perr *e)
{
	_cleanup_fd_ int dir = root_open(rootfd, "/", O_PATH | O_DIRECTORY, 0, e);
	if (dir < 0)
		return -1;
	_cleanup_free_ char *prefix = strdup(path);
	if (!prefix)
		return perr_set(e, ENOMEM, "mkdir %s", path);
	size_t n = strlen(prefix);
	for (size_t i = 0; i < n;) {
		while (i < n && prefix[i] == '/')
			i++;
		if (i == n)
			break;
		size_t j = i;
		while (j < n && prefix[j] != '/')
			j++;
		char saved = prefix[j];
		prefix[j] = 0;
		if (mkdirat(dir, prefix + i, mode) < 0 && errno != EEXIST)
			return perr_set(e, errno, "mkdir %s in rootfs", prefix);
		int next = root_open(rootfd, prefix, O_PATH | O_DIRECTORY, 0, e);
		if (next < 0)
			return -1;
		prefix[j] = saved;
		close(dir);
		dir = next;
		i = j;
	}
	return take_fd(&dir);
}

static int split_parent(const char *path, char **parent, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	*parent = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!*parent)
		return -1;
	if (!**parent) {
		free(*parent);
		*parent = strdup("/");
	}
	return *parent ? 0 : -1;
}

int root_touch(int rootfd, const char *path, mode_t mode, struct perr *e)
{
	int fd = root_open(rootfd, path, O_PATH, 0, NULL);
	if (fd >= 0)
		return fd;
	_cleanup_free_ char *parent = NULL;
	const char *base;
	if (split_parent(path, &parent, &base) < 0)
		return perr_set(e, ENOMEM, "create %s", path);
	_cleanup_fd_ int dir = root_mkdir_p(rootfd, parent, 0755, e);
	if (dir < 0)
		return -1;
	/* O_PATH dirs cannot be used for creation through openat; reopen. */
	_cleanup_fd_ int wdir = root_open(rootfd, parent, O_RDONLY | O_DIRECTORY, 0, e);
	if (wdir < 0)
		return -1;
	int nfd = openat(wdir, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (nfd < 0)
		return perr_set(e, errno, "create %s in rootfs", path);
	close(nfd);
	return root_open(rootfd, path, O_PATH, 0, e);
}

int root_write_file(int rootfd, const char *path, const void *data, size_t len,
		    mode_t mode, struct perr *e)
{
	return root_write_file_owned(rootfd, path, data, len, mode, (uid_t)-1, (gid_t)-1, e);
}

int root_write_file_owned(int rootfd, const char *path, const void *data, size_t len,
			  mode_t mode, uid_t uid, gid_t gid, struct perr *e)
{
	_cleanup_free_ char *parent = NULL;
	const char *base;
	if (split_parent(path, &parent, &base) < 0)
		return perr_set(e, ENOMEM, "write %s", path);
	_cleanup_fd_ int pdir = root_mkdir_p(rootfd, parent, 0755, e);
	if (pdir < 0)
		return -1;
	_cleanup_fd_ int dir = root_open(rootfd, parent, O_RDONLY | O_DIRECTORY, 0, e);
	if (dir < 0)
		return -1;
	char tmp[512];
	snprintf(tmp, sizeof tmp, ".%s.planet-%d", base, (int)getpid());
	/* The name is ours, and the same at every boot (the child is pid 1
	 * of its namespace): one left by a supervisor killed between create
	 * and rename must not make every later start fail with EEXIST
	 * (h-rootfs). unlinkat removes a planted symlink itself, never its
	 * target; if it fails (a directory, a read-only rootfs), openat
	 * below reports the error that matters. */
	(void)unlinkat(dir, tmp, 0);
	_cleanup_fd_ int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return perr_set(e, errno, "create %s in rootfs", path);
	/* Owner before mode: fchown clears set-id bits. */
	if (write_all(fd, data, len) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) ||
	    fchmod(fd, mode) < 0) {
		int err = errno;
		unlinkat(dir, tmp, 0);
		return perr_set(e, err, "write %s in rootfs", path);
	}
	/* renameat replaces a symlink named `base` itself, never its target. */
	if (renameat(dir, tmp, dir, base) < 0) {
		int err = errno;
		unlinkat(dir, tmp, 0);
		return perr_set(e, err, "replace %s in rootfs", path);
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int read_fd_all(int fd, size_t max, char **out, size_t *outlen, struct perr *e)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return perr_set(e, ENOMEM, "read");
	for (;;) {
		if (len == cap) {
			if (cap >= max)
				return perr_set(e, EFBIG, "read");
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				return perr_set(e, ENOMEM, "read");
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return perr_set(e, errno, "read");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	*out = take_ptr(&buf);
	if (outlen)
		*outlen = len;
	return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *outlen,
		 struct perr *e)
{
	_cleanup_fd_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return perr_set(e, errno, "open %s", path);
	if (read_fd_all(fd, max, out, outlen, e) < 0)
		return perr_wrap(e, "%s", path);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      struct perr *e)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= sizeof tmp)
		return perr_set(e, ENAMETOOLONG, "write %s", path);
	_cleanup_fd_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return perr_set(e, errno, "write %s", tmp);
	/* No fsync: this is runtime state (under /run), meaningless after a
	 * power loss; rename alone keeps readers from a half-written file. */
	if (write_all(fd, data, len) < 0 || rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		return perr_set(e, err, "write %s", path);
	}
	return 0;
}

static const struct {
	const char *name;
	int sig;
} signames[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	    { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT },   { "BUS", SIGBUS },	 { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 },   { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM },   { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP },   { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG },	    { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR },   { "SYS", SIGSYS },
};

static int parse_small_int(const char *s, int *out)
{
	if (!*s)
		return -1;
	int v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

int signal_parse(const char *s)
{
	int n;
	if (!s)
		return -1;
	if (parse_small_int(s, &n) == 0)
		return n >= 1 && n <= SIGRTMAX ? n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
		if (strcasecmp(s, signames[i].name) == 0)
			return signames[i].sig;
	if (strncasecmp(s, "RTMIN", 5) == 0) {
		if (!s[5])
			return SIGRTMIN;
		if (s[5] == '+' && parse_small_int(s + 6, &n) == 0 && SIGRTMIN + n <= SIGRTMAX)
			return SIGRTMIN + n;
		return -1;
	}
	if (strncasecmp(s, "RTMAX", 5) == 0) {
		if (!s[5])
			return SIGRTMAX;
		if (s[5] == '-' && parse_small_int(s + 6, &n) == 0 && SIGRTMAX - n >= SIGRTMIN)
			return SIGRTMAX - n;
		return -1;
	}
	return -1;
}

const char *signal_name(int sig, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
		if (signames[i].sig == sig) {
			snprintf(buf, len, "SIG%s", signames[i].name);
			return buf;
		}
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "%d", sig);
	return buf;
}

static struct rlimit nofile_orig;
static bool nofile_raised;

void nofile_limit_raise(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur >= r.rlim_max)
		return;
	nofile_orig = r;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) == 0)
		nofile_raised = true;
}

void nofile_limit_restore(void)
{
	if (nofile_raised)
		setrlimit(RLIMIT_NOFILE, &nofile_orig);
}

unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int sb_append(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			errno = ENOMEM;
			return -1;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

int sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	char *tmp = malloc((size_t)n + 1);
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int r = sb_append(b, tmp, (size_t)n);
	free(tmp);
	return r;
}

void sb_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* The session id is a pid that stays allocated while any member of the
 * session lives: a verified sid names no stranger. comm may hold anything,
 * so /proc/PID/stat is parsed from its last ')'. */
void kill_session(pid_t sid, int sig)
{
	_cleanup_dir_ DIR *d = opendir("/proc");
	for (struct dirent *de; d && (de = readdir(d));) {
		char path[64], buf[512];
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
		if (n <= 0)
			continue;
		buf[n] = 0;
		char *rp = strrchr(buf, ')');
		int ppid, pgrp, session;
		char state;
		if (rp && sscanf(rp + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) == 4 &&
		    session == sid)
			kill(pid, sig);
	}
}
