/* The session spawner process (the supervisor's side is spawner.c).
 *
 * Every process it clones is in the box's pid namespace from its first
 * instruction, so root in the box can pidfd_getfd, ptrace and read
 * /proc/PID of it before it execs. Nothing such a process holds may be a
 * host resource (CVE-2016-9962, CVE-2019-5736 for runc), so the spawner
 * makes itself box-shaped before it clones anything:
 *
 *   forked from the supervisor      joins the box's cgroups (host paths),
 *                                   pid_for_children, drops the box's
 *                                   bounding set, loads its seccomp filter
 *   execs a sealed memfd copy       no host binary behind /proc/PID/exe, no
 *   of planet, empty environment    supervisor memory, no host environment
 *   as `planet-spawner BOXID`       fd 3 its request socket, fd 4 init's pidfd
 *   joins mnt|uts|ipc|net|cgroup    after the exec: /proc must still be the
 *                                   host's while the new image starts (ASan
 *                                   reads /proc/self/maps)
 *   stdio from the box's /dev/null  not the supervisor's log or /dev/null
 *
 * Then, per request: clone(CLONE_PARENT | CLONE_PIDFD), so the session
 * process is the supervisor's child; the child closes the socket as its
 * first act; the pidfd goes back to the supervisor (SCM_RIGHTS), which
 * checks it rather than trusting a pid. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroupns/cgroupns.h"
#include "config/config.h"
#include "enter/spawner_wire.h"

#define SPAWNER_SOCK 3
#define SPAWNER_INIT 4
#define BOX_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

/* ---- requests ------------------------------------------------------------ */

static int recv_request(int sock, uint8_t **payload, struct spawn_hdr *h, int fds[SPAWN_REQ_FDS],
			size_t *nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SPAWN_REQ_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = h, .iov_len = sizeof *h };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof ctl.buf };
	ssize_t n;
	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof *h)
		return -1; /* the supervisor is gone */
	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			*nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), *nfds * sizeof(int));
		}
	if (h->len > PROTO_MAX_FRAME || !(*payload = malloc(h->len ? h->len : 1)))
		return -1;
	for (size_t got = 0; got < h->len;) {
		n = read(sock, *payload + got, h->len - got);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			return -1;
		got += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* The answer: the pidfd rides on the reply, which carries the message. */
static void reply(int sock, int err, int pidfd, const char *msg)
{
	struct spawn_reply r = { .err = err };
	if (msg)
		memcpy(r.msg, msg, strnlen(msg, sizeof r.msg - 1));
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = { 0 };
	struct iovec iov = { &r, sizeof r };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (pidfd >= 0) {
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof ctl.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
	}
	ssize_t n;
	while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n >= 0 && (size_t)n < sizeof r)
		(void)write_all(sock, (const char *)&r + n, sizeof r - (size_t)n);
}

/* Clone the session process. The child's first act is to drop the request
 * socket: it is the one thing of the spawner's it must not keep. */
static void clone_session(int sock, struct inbox_child *c)
{
	int pidfd = -1;
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | CLONE_PIDFD | SIGCHLD), 0,
			   &pidfd, 0, 0);
	if (pid == 0) {
		close(SPAWNER_SOCK);
		inbox_child_main(c);
	}
	if (pid < 0) {
		int err = errno;
		struct perr e = { 0 };
		/* ENOMEM: the box's pid namespace has no init any more. */
		perr_set(&e, err, err == ENOMEM ? "fork into the box (is it stopping?)" : "fork");
		reply(sock, err, -1, e.msg);
		return;
	}
	reply(sock, 0, pidfd, NULL);
	close(pidfd);
}

/* One request. A spawner that could not join the box answers each with
 * why (broken), rather than dying: the supervisor would only start another
 * one that fails the same way. */
static void serve_one(int sock, const char *env_file, const struct perr *broken)
{
	_cleanup_free_ uint8_t *payload = NULL;
	struct spawn_hdr h;
	int fds[SPAWN_REQ_FDS] = { -1, -1, -1, -1 };
	size_t nfds = 0;
	if (recv_request(sock, &payload, &h, fds, &nfds) < 0)
		_exit(0);
	struct proto_exec x;
	struct perr e = { 0 };
	bool out = !(h.flags & SPAWN_REQ_NOOUT);
	size_t want = (h.flags & SPAWN_REQ_TTY) ? 2 : 1 + !!(h.flags & SPAWN_REQ_STDIN) + 2 * out;
	if (broken->msg[0]) {
		reply(sock, broken->errnum ? broken->errnum : EIO, -1, broken->msg);
	} else if (nfds != want || proto_exec_parse(payload, h.len, &x, &e) < 0) {
		reply(sock, EPROTO, -1, nfds != want ? "spawner: wrong descriptors" : e.msg);
	} else {
		x.copy = (h.flags & SPAWN_REQ_COPY) != 0;
		struct inbox_child c = { .x = &x, .env_file = env_file,
					 .tty = (h.flags & SPAWN_REQ_TTY) != 0 };
		size_t k = 0;
		c.stdio[0] = c.tty || (h.flags & SPAWN_REQ_STDIN) ? fds[k++] : -1;
		c.stdio[1] = c.tty ? c.stdio[0] : out ? fds[k++] : -1;
		c.stdio[2] = c.tty ? c.stdio[0] : out ? fds[k++] : -1;
		c.status_w = fds[k];
		clone_session(sock, &c);
		proto_exec_free(&x);
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

static _Noreturn void serve(int sock, const char *env_file, const struct perr *broken)
{
	for (;;)
		serve_one(sock, env_file, broken);
}

/* ---- before the exec: in the supervisor's fork ---------------------------- */

/* Descriptors for the exec: 0-2 the host's /dev/null for the moment (the
 * box's once its mount namespace is joined), 3 the socket, 4 init's pidfd;
 * everything else closes at the exec, the memfd last. */
static int fds_for_exec(int sock, int init_pidfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (dup2(null, i) < 0)
			return -1;
	/* Out of the way of 3 and 4 before putting them there. */
	int s = fcntl(sock, F_DUPFD_CLOEXEC, 10), p = fcntl(init_pidfd, F_DUPFD_CLOEXEC, 10);
	if (s < 0 || p < 0 || dup2(s, SPAWNER_SOCK) < 0 || dup2(p, SPAWNER_INIT) < 0)
		return -1;
	return close_range(SPAWNER_INIT + 1, ~0u, CLOSE_RANGE_CLOEXEC);
}

_Noreturn void spawner_proc_start(const struct enter_box *box, int sock, int exe_memfd,
				  pid_t supervisor)
{
	inbox_signals_reset();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Never outlive the supervisor (it may have died before the prctl);
	 * the setting survives the exec. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != supervisor)
		_exit(1);
	(void)prctl(PR_SET_NAME, "planet-spawner");
	struct perr broken = { 0 };
	if (cg_box_join(box->cg, &broken) < 0 ||
	    (setns(box->init_pidfd, CLONE_NEWPID) < 0 &&
	     perr_set(&broken, errno, "join the box's pid namespace")) ||
	    (box->apply_security && box->apply_security(box->cfg, &broken) < 0)) {
		if (!broken.msg[0])
			perr_set(&broken, EIO, "join the box");
		if (dup2(sock, SPAWNER_SOCK) < 0)
			_exit(1);
		(void)close_range(SPAWNER_SOCK + 1, ~0u, 0);
		serve(SPAWNER_SOCK, NULL, &broken);
	}
	/* The box's descriptor limit from here on: sessions inherit it. */
	nofile_limit_restore();
	char path[32], *argv[] = { "planet-spawner", (char *)box->box_id, NULL }, *envp[] = { NULL };
	snprintf(path, sizeof path, "/proc/self/fd/%d", exe_memfd);
	if (fds_for_exec(sock, box->init_pidfd) < 0)
		_exit(1);
	execve(path, argv, envp);
	_exit(1);
}

/* ---- after the exec: planet-spawner --------------------------------------- */

/* The box's /dev/null on 0-2, checked to be one: a box may have planted
 * anything at that path. A pipe with no writer otherwise. */
static void stdio_from_box(void)
{
	int fd = open("/dev/null", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))) {
		close(fd);
		fd = -1;
	}
	int p[2] = { -1, -1 };
	if (fd < 0 && pipe2(p, O_CLOEXEC) == 0) {
		close(p[1]);
		fd = p[0];
	}
	for (int i = 0; fd >= 0 && i < 3; i++)
		(void)dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* The supervisor's first message: the box's proxy env file. */
static char *read_setup(int sock)
{
	uint32_t len = 0;
	if (read(sock, &len, sizeof len) != (ssize_t)sizeof len || len > SPAWN_SETUP_MAX)
		return NULL;
	char *s = calloc(1, len + 1);
	for (size_t got = 0; s && got < len;) {
		ssize_t n = read(sock, s + got, len - got);
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			free(s);
			return NULL;
		}
		got += n > 0 ? (size_t)n : 0;
	}
	return s;
}

int planet_spawner_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* Only as the supervisor's own re-exec: fd 3 must be our socket. */
	int type = 0;
	socklen_t tl = sizeof type;
	if (getsockopt(SPAWNER_SOCK, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
		return 2;
	(void)fcntl(SPAWNER_SOCK, F_SETFD, FD_CLOEXEC);
	(void)prctl(PR_SET_NAME, "planet-spawner");
	char *env_file = read_setup(SPAWNER_SOCK);
	if (!env_file)
		return 1;
	struct perr broken = { 0 };
	if (setns(SPAWNER_INIT, BOX_NS) < 0 &&
	    (errno != EINVAL || setns(SPAWNER_INIT, BOX_NS & ~CLONE_NEWCGROUP) < 0))
		perr_set(&broken, errno, "join the box's namespaces");
	close(SPAWNER_INIT);
	stdio_from_box();
	serve(SPAWNER_SOCK, env_file, &broken);
}
