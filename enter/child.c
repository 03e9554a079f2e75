/* A session process inside the box, from its clone to execve, and the pty
 * it may get.
 *
 * The spawner (spawner_proc.c) has already done, once, what is the same
 * for every session: the box's cgroups, pid namespace (for its children),
 * mnt|uts|ipc|net|cgroup namespaces, bounding set and seccomp filter, and
 * it runs a sealed memfd copy of planet with the box's /dev/null as stdio.
 * It clones each session process with CLONE_PARENT, so the process is the
 * supervisor's own child. The process (inbox_child_main) then does the
 * rest, all of it under the box's filter:
 *
 *   status pipe: its pid in the box
 *   setsid, stdio, ctty
 *   user lookup, environment      the box's own files (passwd.c, envfile/)
 *   setgroups/setgid/setuid, chdir
 *   PATH search and execve        on the new environment's PATH
 *
 * Every failure before execve is reported on the status pipe (see enter.h)
 * with the exit status the client should use: 127 not found, 126 found but
 * not executable, 255 anything else. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroupns/cgroupns.h"
#include "config/config.h"
#include "envfile/envfile.h"

#define ENVFILE_MAX (1u << 20)

/* ---- supervisor side ---------------------------------------------------- */

int inbox_open_pty(const struct enter_box *box, uint16_t rows, uint16_t cols, int *master,
		   int *slave, struct perr *e)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/root", (int)box->init_pid);
	_cleanup_fd_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return perr_set(e, errno, "open the box's root");
	/* init still alive now means /proc/<pid> above was init, not a recycled pid. */
	if (pidfd_send_signal(box->init_pidfd, 0, NULL, 0) < 0)
		return perr_set(e, errno, "the box's init");
	/* /dev/pts resolved inside the box's own tree and only looked at (a
	 * symlink planted there cannot hand us the host's devpts), then ptmx
	 * opened right beneath it: a devpts holds no node the box could have
	 * made, so what is opened is the box's own ptmx and nothing else. */
	_cleanup_fd_ int pts = root_open(root, "/dev/pts", O_PATH | O_DIRECTORY, 0, e);
	if (pts < 0)
		return -1;
	struct statfs sfs;
	if (fstatfs(pts, &sfs) < 0)
		return perr_set(e, errno, "stat the box's /dev/pts");
	if (sfs.f_type != DEVPTS_SUPER_MAGIC)
		return perr_set(e, 0, "the box's /dev/pts is not a devpts");
	struct open_how how = { .flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS };
	_cleanup_fd_ int m = (int)syscall(SYS_openat2, pts, "ptmx", &how, sizeof how);
	if (m < 0)
		return perr_set(e, errno, "open the box's /dev/pts/ptmx");
	struct stat st;
	if (fstat(m, &st) < 0)
		return perr_set(e, errno, "stat the box's /dev/pts/ptmx");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
		return perr_set(e, 0, "the box's /dev/pts/ptmx is not a devpts ptmx");
	int unlock = 0;
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || (rows && cols && ioctl(m, TIOCSWINSZ, &ws) < 0))
		return perr_set(e, errno, "set up the pty");
	/* TIOCGPTPEER opens the slave through the master's own devpts mount,
	 * with no path lookup at all. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return perr_set(e, errno, "open the pty slave");
	*slave = s;
	*master = take_fd(&m);
	return 0;
}

/* ---- child side: never returns to the loop ------------------------------- */

void inbox_signals_reset(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL); /* glibc-reserved ones fail: fine */
}

/* Put fds[i] on i for i in 0..2, whatever numbers they have now (a
 * supervisor started with a closed stdout may hand us fd 1 as a pipe end). */
static int stdio_install(const int fds[3], struct perr *e)
{
	int tmp[3] = { -1, -1, -1 };
	for (int i = 0; i < 3; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return perr_set(e, errno, "stdio");
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			return perr_set(e, errno, "stdio");
	return 0;
}

static int stdio_setup(const struct inbox_child *r, struct perr *e)
{
	if (r->tty) {
		/* We are a fresh session leader: the slave becomes our ctty. */
		if (ioctl(r->stdio[0], TIOCSCTTY, 0) < 0)
			return perr_set(e, errno, "make the pty the controlling terminal");
		int fds[3] = { r->stdio[0], r->stdio[0], r->stdio[0] };
		return stdio_install(fds, e);
	}
	/* What was not passed (no stdin wanted; exec -d's output) is the
	 * box's /dev/null: we are in its mount namespace. */
	_cleanup_fd_ int null = -1;
	int fds[3] = { r->stdio[0], r->stdio[1], r->stdio[2] };
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			continue;
		if (null < 0 && (null = open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
			return perr_set(e, errno, "open the box's /dev/null");
		fds[i] = null;
	}
	return stdio_install(fds, e);
}

/* The proxy env file lives in the box; a missing one is fine. */
static int env_file_read(const char *path, struct envlist *l, struct perr *e)
{
	if (!path || !*path)
		return 0;
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : perr_set(e, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return perr_set(e, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return perr_set(e, 0, "%s is not a regular file", path);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (read_fd_all(fd, ENVFILE_MAX, &buf, &len, e) < 0 ||
	    envfile_parse(buf, len, l, e) < 0)
		return perr_wrap(e, "env file %s", path);
	return 0;
}

static int env_defaults(struct envlist *l, const struct box_user *u, bool tty)
{
	if (envlist_set(l, "PATH", BOX_DEFAULT_PATH) < 0 || envlist_set(l, "HOME", u->home) < 0 ||
	    envlist_set(l, "SHELL", u->shell) < 0)
		return -1;
	if (u->name && (envlist_set(l, "USER", u->name) < 0 || envlist_set(l, "LOGNAME", u->name) < 0))
		return -1;
	if (tty && envlist_set(l, "TERM", "xterm") < 0)
		return -1;
	return 0;
}

/* Later wins: defaults, then the proxy env file, then the request. */
static char **env_build(const struct inbox_child *r, const struct box_user *u, struct envlist *l,
			struct perr *e)
{
	if (env_defaults(l, u, r->tty) < 0) {
		perr_set(e, ENOMEM, "environment");
		return NULL;
	}
	if (env_file_read(r->env_file, l, e) < 0)
		return NULL;
	for (char **kv = r->x->env; kv && *kv; kv++) {
		char *eq = strchr(*kv, '=');
		if (!eq)
			continue; /* the codec already refuses these */
		*eq = 0;
		int rc = envlist_set(l, *kv, eq + 1);
		*eq = '=';
		if (rc < 0) {
			perr_set(e, ENOMEM, "environment");
			return NULL;
		}
	}
	char **envp = calloc(l->n + 1, sizeof *envp);
	for (size_t i = 0; envp && i < l->n; i++)
		if (asprintf(&envp[i], "%s=%s", l->v[i].key, l->v[i].value) < 0) {
			perr_set(e, ENOMEM, "environment");
			return NULL;
		}
	if (!envp)
		perr_set(e, ENOMEM, "environment");
	return envp;
}

static int become_user(const struct box_user *u, bool tty, struct perr *e)
{
	/* The pty slave belongs to whoever uses it, as login(1) does it. */
	if (tty && (fchown(STDIN_FILENO, u->uid, (gid_t)-1) < 0 || fchmod(STDIN_FILENO, 0620) < 0))
		return perr_set(e, errno, "chown the pty");
	if (setgroups(u->n_groups, u->groups) < 0)
		return perr_set(e, errno, "setgroups");
	if (setgid(u->gid) < 0)
		return perr_set(e, errno, "setgid %u", (unsigned)u->gid);
	if (setuid(u->uid) < 0)
		return perr_set(e, errno, "setuid %u", (unsigned)u->uid);
	return 0;
}

/* After setuid, so the user's own permissions decide. An explicit
 * directory that cannot be entered is 126 (docs/PROTOCOL.md); the home
 * directory falls back to /. Returns 0 or the exit status. */
static int change_dir(const char *cwd, const char *home, struct perr *e)
{
	if (cwd && *cwd)
		return chdir(cwd) < 0 ? (perr_set(e, errno, "chdir %s", cwd), 126) : 0;
	if (chdir(home) == 0 || chdir("/") == 0)
		return 0;
	return perr_set(e, errno, "chdir /"), 255;
}

static int exec_failed(const char *what, int err, struct perr *e)
{
	perr_set(e, err, "exec %s", what);
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

/* No login shell was named (`planet enter`): the user's shell, as a login
 * shell ("-sh"), falling back to /bin/sh when the passwd one is missing. */
static int exec_login_shell(char **argv, const struct box_user *u, char **envp, struct perr *e)
{
	const char *shell = u->shell && *u->shell ? u->shell : "/bin/sh";
	size_t argc = 0;
	while (argv[argc])
		argc++;
	char **nargv = calloc(argc + 1, sizeof *nargv);
	if (!nargv)
		return perr_set(e, ENOMEM, "exec"), 255;
	memcpy(nargv, argv, argc * sizeof *nargv);
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *base = strrchr(shell, '/');
		if (asprintf(&nargv[0], "-%s", base ? base + 1 : shell) < 0)
			return perr_set(e, ENOMEM, "exec"), 255;
		execve(shell, nargv, envp);
		if (errno != ENOENT || strcmp(shell, "/bin/sh") == 0)
			break;
		shell = "/bin/sh";
	}
	return exec_failed(shell, errno, e);
}

/* Our own PATH walk: execvpe would search the PATH of the caller's
 * environment, which is the spawner's, not the box user's. */
static int exec_command(char **argv, const struct envlist *l, const struct box_user *u,
			char **envp, struct perr *e)
{
	if (!argv[0][0])
		return exec_login_shell(argv, u, envp, e);
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return exec_failed(argv[0], errno, e);
	}
	const char *path = envlist_get(l, "PATH");
	if (!path)
		path = BOX_DEFAULT_PATH;
	int err = exec_search(argv[0], argv, envp, path);
	if (err != ENOENT)
		return exec_failed(argv[0], err, e);
	perr_set(e, 0, "exec %s: not found in PATH=%s", argv[0], path);
	return 127;
}

/* Everything from the fresh fork to execve. Returns only on failure, with
 * the exit status to report. */
static int child_run(const struct inbox_child *r, struct perr *e)
{
	uint32_t box_pid = (uint32_t)getpid(); /* we live in the box's pid ns */
	if (write_all(r->status_w, &box_pid, sizeof box_pid) < 0)
		return perr_set(e, errno, "status pipe"), 255;
	if (setsid() < 0)
		return perr_set(e, errno, "setsid"), 255;
	if (stdio_setup(r, e) < 0)
		return 255;
	_cleanup_fd_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return perr_set(e, errno, "open the box's root"), 255;
	struct box_user u;
	if (box_user_lookup(root, r->x->user, &u, e) < 0)
		return 255;
	struct envlist l = { 0 };
	char **envp = env_build(r, &u, &l, e);
	if (!envp)
		return 255;
	/* Nothing of the spawner's may reach the command: close-on-exec on
	 * everything past stdio (the status pipe already is). */
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		return perr_set(e, errno, "close_range"), 255;
	if (become_user(&u, r->tty, e) < 0)
		return 255;
	int rc = change_dir(r->x->cwd, u.home, e);
	if (rc)
		return rc;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (r->x->copy)
		inbox_copy_main(r->x, r->status_w);
	return exec_command(r->x->argv, &l, &u, envp, e);
}

_Noreturn void inbox_child_main(const struct inbox_child *r)
{
	struct perr e = { 0 };
	int status = child_run(r, &e);
	struct {
		uint32_t status;
		char msg[INBOX_STATUS_MAX - 8];
	} rec = { .status = (uint32_t)status };
	size_t n = strnlen(e.msg, sizeof rec.msg);
	memcpy(rec.msg, e.msg, n);
	/* One write below PIPE_BUF: it arrives whole or not at all. */
	(void)write_all(r->status_w, &rec, sizeof rec.status + n);
	_exit(status);
}
