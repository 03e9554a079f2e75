/* Creating the box: the console pty, the cgroup, clone3 into new
 * namespaces, and the child that builds the rootfs and execs init.
 *
 * Parent and child talk over a SOCK_SEQPACKET pair:
 *   parent -> child  one byte "go" once the child is in its cgroup (so the
 *                    cgroup namespace the child then creates is rooted at
 *                    the box's cgroup); the child builds the rest of the
 *                    mount tree meanwhile;
 *   child -> parent  nothing at all if exec succeeded (the CLOEXEC end just
 *                    closes), or one message {errno, text} saying what
 *                    failed and where.
 * With prestart hooks, one more round before the exec: the child, its box
 * complete, sends {CHILD_READY, ""} and waits; the parent runs the hooks
 * and sends a second "go" (or kills the child when one fails). */
#include "box/box.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct child_msg {
	int errnum;
	char msg[PERR_MSG_MAX];
};
#define CHILD_READY (-1) /* errnum of the message "ready for the prestart hooks" */

/* The console: a host pty whose slave becomes the box's /dev/console. */
static int console_open(struct box_run *r, char *slave, size_t len, struct perr *e)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, len) != 0) {
		int err = errno;
		if (m >= 0)
			close(m);
		return perr_set(e, err, "console pty");
	}
	/* Lines as written, no \r added; nothing is typed into the console. */
	struct termios t;
	if (tcgetattr(m, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)ONLCR;
		t.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
		tcsetattr(m, TCSANOW, &t);
	}
	r->console_master = m;
	r->console_slave = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->console_slave < 0)
		return perr_set(e, errno, "console %s", slave);
	return 0;
}

static __attribute__((noreturn)) void child_fail(int sync_fd, const struct perr *e)
{
	struct child_msg m = { .errnum = e->errnum };
	snprintf(m.msg, sizeof m.msg, "%s", e->msg);
	(void)!write(sync_fd, &m, sizeof m);
	_exit(127);
}

/* init's stdio and controlling terminal: the box's /dev/console. */
static int child_console(struct perr *e)
{
	if (setsid() < 0)
		return perr_set(e, errno, "setsid");
	int fd = open("/dev/console", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return perr_set(e, errno, "open /dev/console");
	if (ioctl(fd, TIOCSCTTY, 0) < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		return perr_set(e, errno, "console as stdio");
	close(fd);
	return 0;
}

/* Find init inside the box: a bare name is looked up on the default PATH. */
static int child_exec(const struct box_plan *p, struct perr *e)
{
	char *const *argv = p->cfg->init_argv;
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, p->init_env);
		return perr_set(e, errno, "exec init %s", argv[0]);
	}
	return perr_set(e, exec_search(argv[0], argv, p->init_env, BOX_DEFAULT_PATH),
			"exec init %s", argv[0]);
}

static __attribute__((noreturn)) void child_main(const struct box_plan *p, struct box_run *r,
						  const char *console_path, int sync_fd)
{
	struct perr e = { 0 };
	char go;
	sigset_t none;
	/* init starts with default signal dispositions and nothing blocked. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* init must not outlive the supervisor: SIGKILL from the kernel when
	 * the supervisor dies, however it dies. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (box_rootfs_prepare(p, console_path, r, &e) < 0)
		child_fail(sync_fd, &e);
	/* The parent has been moving us into the box's cgroup meanwhile. */
	if (read(sync_fd, &go, 1) != 1)
		_exit(127);
	if (unshare(CLONE_NEWCGROUP) < 0) {
		perr_set(&e, errno, "cgroup namespace");
		child_fail(sync_fd, &e);
	}
	if (box_rootfs_finish(p, r, &e) < 0 || child_console(&e) < 0 ||
	    box_apply_security(p->cfg, &e) < 0 || box_init_user_apply(p, &e) < 0)
		child_fail(sync_fd, &e);
	if (box_hooks_any(p->cfg, HOOK_PRESTART)) {
		struct child_msg m = { .errnum = CHILD_READY };
		if (write(sync_fd, &m, sizeof m) != (ssize_t)sizeof m || read(sync_fd, &go, 1) != 1)
			_exit(127);
	}
	/* Nothing of the supervisor's leaks into init. */
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	nofile_limit_restore();
	child_exec(p, &e);
	child_fail(sync_fd, &e);
	_exit(127);
}

/* cgfd >= 0: start the child directly in that cgroup (v2). Moving a
 * process between cgroups makes the kernel wait for an RCU grace period
 * after a quiet spell (~15 ms); being born there costs nothing. */
static pid_t clone_box(int *pidfd, int cgfd)
{
	struct clone_args a = {
		.flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_PIDFD,
		.pidfd = (unsigned long long)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	if (cgfd >= 0) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (unsigned long long)cgfd;
	}
	return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

/* Wait for the child's verdict: EOF means init was exec'd; 1: it waits
 * for the prestart hooks. */
static int child_result(int sync_fd, struct perr *e)
{
	struct child_msg m;
	ssize_t n;
	do
		n = read(sync_fd, &m, sizeof m);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof m)
		return perr_set(e, n < 0 ? errno : EPROTO, "box child");
	if (m.errnum == CHILD_READY)
		return 1;
	m.msg[sizeof m.msg - 1] = 0;
	e->errnum = m.errnum;
	snprintf(e->msg, sizeof e->msg, "%s", m.msg);
	return -1;
}

/* The device rules go in before the child does: it creates its /dev nodes
 * at once, and on v1 the rules are written as "deny everything" and then
 * one allow at a time. */
static int set_device_rules(struct box_run *r, const struct box_plan *p, struct perr *e)
{
	struct cg_dev_rule *rules = NULL;
	size_t n = 0;
	if (box_device_rules(p, &rules, &n) < 0)
		return perr_set(e, ENOMEM, "device rules");
	int ret = cg_box_set_devices(&r->cg, rules, n, e);
	free(rules);
	return ret;
}

/* On a pure v2 host the child can be cloned straight into its cgroup. */
static int unified_cgroup_fd(const struct box_run *r)
{
	if (r->cg.layout != CG_UNIFIED || r->cg.n_hier != 1 || !r->cg.hier[0].v2)
		return -1;
	return open(r->cg.hier[0].path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static pid_t start_child(struct box_run *r, bool *in_cgroup)
{
	_cleanup_fd_ int cgfd = unified_cgroup_fd(r);
	pid_t pid = clone_box(&r->init_pidfd, cgfd);
	*in_cgroup = cgfd >= 0 && pid >= 0;
	if (pid < 0 && cgfd >= 0)
		pid = clone_box(&r->init_pidfd, -1); /* e.g. EBUSY: attach later */
	return pid;
}

/* The box's cgroup name: box-<first 8 of the box id>-<8 random hex>. The
 * id alone is not unique on the host (it comes from the rootfs's
 * machine-id, and two copies of one image share it); the random part,
 * chosen anew for every boot, is. */
static int cgroup_name(char *buf, size_t len, const char *box_id, struct perr *e)
{
	uint32_t rnd;
	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return perr_set(e, errno, "random cgroup name");
	snprintf(buf, len, "box-%.8s-%08x", box_id, (unsigned)rnd);
	return 0;
}

/* The state file names every path of the cgroup before the first mkdir: a
 * supervisor SIGKILLed from here on leaves a record of whatever it made,
 * and the next start removes it. Recorded only once made, box-* cgroups
 * leaked (h-faults: 1 in 20 random start-up kills in the ASan build, 6 of
 * 10 kills inside cg_box_create). A name that exists already is someone
 * else's (cg_box_make leaves it alone): drop it from the record and try
 * another. */
static int cgroup_make(struct box_run *r, const struct box_plan *p, struct perr *e)
{
	for (int attempt = 0;; attempt++) {
		char name[32];
		if (cgroup_name(name, sizeof name, p->box_id, e) < 0 ||
		    cg_box_plan(&r->cg, name, e) < 0)
			return -1;
		if (r->state && box_state_write(r->state, p, 0, &r->cg, e) < 0) {
			cg_box_free(&r->cg); /* nothing made: nothing for teardown */
			return -1;
		}
		if (cg_box_make(&r->cg, e) == 0)
			return 0;
		/* cg is empty now: record that, never a path that is not ours */
		if (r->state)
			(void)box_state_write(r->state, p, 0, &r->cg, NULL);
		if (e->errnum != EEXIST || attempt >= 2)
			return -1;
	}
}

/* The box is complete, init not yet exec'd: the prestart hooks, then the
 * last "go". A failed hook aborts the start (the caller kills the child). */
static int prestart(const struct box_plan *p, const struct box_run *r, int sync_fd,
		    struct perr *e)
{
	const char *dir = r->state ? r->state->dir : p->cfg->state_dir;
	struct hook_state hs = { p->box_id, "created", r->init_pid, p->cfg->rootfs, dir };
	if (box_hooks_run(p->cfg, HOOK_PRESTART, &hs, e) < 0)
		return -1;
	if (write(sync_fd, "g", 1) != 1)
		return perr_set(e, errno, "box child");
	int ret = child_result(sync_fd, e);
	return ret == 1 ? perr_set(e, EPROTO, "box child") : ret;
}

int box_spawn(struct box_run *r, const struct box_plan *p, struct perr *e)
{
	char console_path[64];
	int sv[2];
	r->init_pid = -1;
	r->init_pidfd = -1;
	if (console_open(r, console_path, sizeof console_path, e) < 0)
		return -1;
	if (cgroup_make(r, p, e) < 0)
		return -1;
	if (set_device_rules(r, p, e) < 0)
		return -1;
	/* The limits too: init is born under them. */
	if (cg_box_set_limits(&r->cg, &p->cfg->limits, e) < 0)
		return -1;
	if (box_volumes_clone(r, p, e) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return perr_set(e, errno, "socketpair");
	r->started_ns = now_ns();
	r->started_unix = (unsigned long long)time(NULL);
	bool in_cgroup;
	pid_t pid = start_child(r, &in_cgroup);
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return perr_set(e, errno, "clone3 into new namespaces");
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(p, r, console_path, sv[1]);
	}
	close(sv[1]);
	r->init_pid = pid;
	int ret = in_cgroup ? 0 : cg_box_attach(&r->cg, pid, e);
	if (ret == 0) {
		/* The child may already have failed and said why: read that
		 * rather than report the failed write. */
		bool sent = write(sv[0], "g", 1) == 1;
		ret = child_result(sv[0], e);
		if (ret == 0 && !sent)
			ret = perr_set(e, EPIPE, "box child");
		if (ret == 1)
			ret = prestart(p, r, sv[0], e);
	}
	close(sv[0]);
	box_volumes_release(r); /* attached by now, or never to be */
	if (ret < 0) {
		cleanup_childp(&pid);
		r->init_pid = -1;
	}
	return ret;
}

void box_run_teardown(struct box_run *r)
{
	struct perr e;
	cleanup_childp(&r->init_pid);
	box_volumes_release(r);
	if (cg_box_destroy(&r->cg, &e) < 0)
		plog(LOG_ERR, "%s", e.msg);
	cg_box_free(&r->cg);
	if (r->init_pidfd >= 0)
		close(r->init_pidfd);
	if (r->console_master >= 0)
		close(r->console_master);
	if (r->console_slave >= 0)
		close(r->console_slave);
	if (r->notify_fd >= 0)
		close(r->notify_fd);
	r->init_pidfd = r->console_master = r->console_slave = r->notify_fd = -1;
}
