/* The session spawner: a small process that already sits where every
 * session process must go, so that starting one costs a fork and nothing
 * else.
 *
 * Why: moving a process into a cgroup (a write to cgroup.procs) takes the
 * kernel's cgroup_threadgroup_rwsem for writing, which waits for an RCU
 * grace period unless another writer came just before: ~8-15 ms for a lone
 * `planet exec` on this kind of host (docs/BENCHMARKS.md, Finding 1). A
 * fork inherits every cgroup and takes no such lock. So the supervisor
 * forks one spawner per box, right after init (when a migration has just
 * happened and the next one is cheap), and the spawner:
 *
 *   joins the box's cgroups         on cgroup v2 the leaf <box>/planet-enter,
 *                                   always: a process in the box's own cgroup
 *                                   would stop systemd inside from enabling
 *                                   controllers for its children
 *   sets pid_for_children to the    setns(CLONE_NEWPID) on init's pidfd; the
 *   box's pid namespace             spawner itself stays outside it, unseen
 *                                   by the box's ps
 *   joins mnt|uts|ipc|net|cgroup    once, instead of once per session
 *
 * and then serves one request at a time on a socketpair: a session's
 * request (the EXEC payload, re-encoded) plus its descriptors (SCM_RIGHTS;
 * internal only, the client socket never carries any). It clones the
 * session process with CLONE_PARENT, so the process is the *supervisor's*
 * child (pidfd, waitid, reaping stay where they were), and answers with its
 * pid. The session process then runs inbox_child_main.
 *
 * Lifetime: the supervisor's child, with PDEATHSIG SIGKILL; killed and
 * reaped when the enter server closes (before the box's cgroups go). One
 * that dies meanwhile (only the host's root can kill it) is reaped and
 * replaced by the next session, or reaped when the server closes. */
#include "enter/enter.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* fd numbers inside the spawner */
#define SPAWNER_SOCK 3
/* the supervisor waits this long for an answer before it gives up on a
 * spawner (it answers in well under a millisecond; only a process the host
 * stopped or a box whose cgroup is frozen can keep it longer) */
#define REPLY_TIMEOUT_MS 5000
#define REQ_FDS 4 /* stdin?, stdout, stderr, status pipe */

enum { REQ_STDIN = 1, REQ_TTY = 2 };

struct spawn_hdr {
	uint32_t len;  /* of the EXEC payload that follows */
	uint32_t flags;
};
struct spawn_reply {
	int32_t pid; /* > 0, or -errno */
	char msg[512]; /* the whole message, errno's text included */
};

struct inbox_spawner {
	pid_t pid;
	int pidfd;
	int sock;
};

/* ---- inside the spawner ---------------------------------------------------- */

static int recv_request(int sock, uint8_t **payload, struct spawn_hdr *h, int fds[REQ_FDS],
			size_t *nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * REQ_FDS)];
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

static void reply(int sock, int32_t pid, const char *msg)
{
	struct spawn_reply r = { .pid = pid };
	if (msg)
		memcpy(r.msg, msg, strnlen(msg, sizeof r.msg - 1));
	(void)write_all(sock, &r, sizeof r);
}

/* One request: build the session's inbox_req and clone its process. */
static void serve_one(const struct enter_box *box, int sock, const struct perr *broken)
{
	_cleanup_free_ uint8_t *payload = NULL;
	struct spawn_hdr h;
	int fds[REQ_FDS] = { -1, -1, -1, -1 };
	size_t nfds = 0;
	if (recv_request(sock, &payload, &h, fds, &nfds) < 0)
		_exit(0);
	struct proto_exec x;
	struct perr e = { 0 };
	size_t want = (h.flags & REQ_TTY) ? 2 : (h.flags & REQ_STDIN) ? 4 : 3;
	if (broken->msg[0]) {
		reply(sock, -(broken->errnum ? broken->errnum : EIO), broken->msg);
	} else if (nfds != want || proto_exec_parse(payload, h.len, &x, &e) < 0) {
		reply(sock, -EPROTO, nfds != want ? "spawner: wrong descriptors" : e.msg);
	} else {
		struct inbox_req r = { .box = box, .x = &x, .tty = (h.flags & REQ_TTY) != 0 };
		size_t k = 0;
		r.stdio[0] = r.tty || (h.flags & REQ_STDIN) ? fds[k++] : -1;
		r.stdio[1] = r.tty ? r.stdio[0] : fds[k++];
		r.stdio[2] = r.tty ? r.stdio[0] : fds[k++];
		r.status_w = fds[k];
		/* A plain fork, except that the child's parent is the
		 * supervisor: the raw syscall, as glibc has no fork with flags. */
		long pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), 0, 0, 0, 0);
		if (pid == 0)
			inbox_child_main(&r);
		int err = errno;
		proto_exec_free(&x);
		if (pid < 0) {
			/* ENOMEM: the box's pid namespace has no init any more. */
			perr_set(&e, err, err == ENOMEM ? "fork into the box (is it stopping?)" : "fork");
			reply(sock, -err, e.msg);
		} else
			reply(sock, (int32_t)pid, NULL);
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

static _Noreturn void spawner_main(const struct enter_box *box, int sock, pid_t supervisor)
{
	inbox_signals_reset();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Never outlive the supervisor (it may have died before the prctl). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != supervisor)
		_exit(1);
	(void)prctl(PR_SET_NAME, "planet-spawner");
	/* A failure to join is reported to every request rather than by
	 * dying: the supervisor would only start another one that fails. */
	struct perr broken = { 0 };
	if (inbox_join_box(box, &broken) < 0 && !broken.msg[0])
		perr_set(&broken, EIO, "join the box");
	/* Only the request socket stays: nothing of the supervisor's (its
	 * loop, clients, the console, init's pidfd) may reach a session. */
	if (dup2(sock, SPAWNER_SOCK) < 0)
		_exit(1);
	(void)close_range(SPAWNER_SOCK + 1, ~0u, 0);
	for (;;)
		serve_one(box, SPAWNER_SOCK, &broken);
}

/* ---- supervisor side ----------------------------------------------------- */

void inbox_spawner_stop(struct inbox_spawner *sp)
{
	if (!sp)
		return;
	if (sp->pidfd >= 0) {
		(void)pidfd_send_signal(sp->pidfd, SIGKILL, NULL, 0);
		siginfo_t si;
		while (waitid(P_PIDFD, (id_t)sp->pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(sp->pidfd);
	}
	if (sp->sock >= 0)
		close(sp->sock);
	free(sp);
}

bool inbox_spawner_reap(struct inbox_spawner *sp)
{
	siginfo_t si = { 0 };
	return waitid(P_PIDFD, (id_t)sp->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0;
}

struct inbox_spawner *inbox_spawner_start(const struct enter_box *box, struct perr *e)
{
	struct inbox_spawner *sp = calloc(1, sizeof *sp);
	if (!sp) {
		perr_set(e, ENOMEM, "session spawner");
		return NULL;
	}
	sp->pidfd = sp->sock = -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perr_set(e, errno, "session spawner socket");
		free(sp);
		return NULL;
	}
	/* Signals blocked across the fork: libuv's handlers must never run in
	 * the child, which shares the loop's signal pipe. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t self = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		spawner_main(box, sv[1], self);
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	sp->sock = sv[0];
	if (pid < 0) {
		inbox_spawner_stop(sp);
		perr_set(e, err, "fork the session spawner");
		return NULL;
	}
	sp->pid = pid;
	/* A spawner the host stopped must not hang the loop on a big request. */
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_MS / 1000 };
	(void)setsockopt(sp->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	sp->pidfd = pidfd_open(pid, 0);
	if (sp->pidfd < 0) {
		err = errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		inbox_spawner_stop(sp);
		perr_set(e, err, "pidfd_open");
		return NULL;
	}
	return sp;
}

static int send_request(struct inbox_spawner *sp, const struct inbox_req *r, struct perr *e)
{
	struct strbuf b = { 0 };
	if (proto_put_exec(&b, r->x) < 0) {
		sb_free(&b);
		return perr_set(e, errno, "session request");
	}
	struct spawn_hdr h = { .len = (uint32_t)(b.len - PROTO_HDR),
			       .flags = (r->tty ? REQ_TTY : 0) | (r->stdio[0] >= 0 ? REQ_STDIN : 0) };
	int fds[REQ_FDS];
	size_t n = 0;
	if (r->tty) {
		fds[n++] = r->stdio[0];
	} else {
		for (int i = 0; i < 3; i++)
			if (r->stdio[i] >= 0)
				fds[n++] = r->stdio[i];
	}
	fds[n++] = r->status_w;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * REQ_FDS)];
	} ctl = { 0 };
	struct iovec iov[2] = { { &h, sizeof h }, { b.s + PROTO_HDR, h.len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	size_t total = sizeof h + h.len;
	ssize_t w;
	while ((w = sendmsg(sp->sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	/* The rest of a big request (the socket buffer takes ~200 KiB at once). */
	if (w >= 0 && (size_t)w < total)
		w = write_all(sp->sock, (const char *)b.s + PROTO_HDR + ((size_t)w - sizeof h),
			      total - (size_t)w) < 0
			    ? -1
			    : (ssize_t)total;
	int err = errno;
	sb_free(&b);
	return w < 0 ? perr_set(e, err, "session spawner") : 0;
}

static int read_reply(struct inbox_spawner *sp, struct spawn_reply *rep, struct perr *e)
{
	size_t got = 0;
	while (got < sizeof *rep) {
		struct pollfd p = { .fd = sp->sock, .events = POLLIN };
		int rc = poll(&p, 1, REPLY_TIMEOUT_MS);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return perr_set(e, rc ? errno : ETIMEDOUT, "session spawner");
		ssize_t n = read(sp->sock, (char *)rep + got, sizeof *rep - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return perr_set(e, n ? errno : EPIPE, "session spawner");
		got += (size_t)n;
	}
	return 0;
}

/* One request to a live spawner. 1 = the spawner failed (start another),
 * 0 = done (*pid set), -1 = the request failed (e). */
static int ask(struct inbox_spawner *sp, const struct inbox_req *r, pid_t *pid, struct perr *e)
{
	struct spawn_reply rep = { 0 };
	if (send_request(sp, r, e) < 0 || read_reply(sp, &rep, e) < 0)
		return 1;
	if (rep.pid <= 0) {
		rep.msg[sizeof rep.msg - 1] = 0;
		perr_set(e, 0, "%s", rep.msg);
		e->errnum = -rep.pid;
		return -1;
	}
	*pid = rep.pid;
	return 0;
}

int inbox_spawn(const struct inbox_req *r, pid_t *pidp, int *pidfdp, struct perr *e)
{
	struct inbox_spawner **spp = r->spawner;
	pid_t pid = 0;
	int rc = 1;
	/* A spawner that died or hung is replaced once, then we give up. */
	for (int attempt = 0; rc == 1 && attempt < 2; attempt++) {
		if (*spp && inbox_spawner_reap(*spp)) {
			inbox_spawner_stop(*spp);
			*spp = NULL;
		}
		if (!*spp && !(*spp = inbox_spawner_start(r->box, e)))
			return -1;
		rc = ask(*spp, r, &pid, e);
		if (rc == 1) {
			inbox_spawner_stop(*spp);
			*spp = NULL;
		}
	}
	if (rc)
		return -1;
	/* pid is our child (CLONE_PARENT) and only we reap it: it cannot be
	 * recycled before this pidfd_open, even if it already exited. */
	int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		int err = errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return perr_set(e, err, "pidfd_open");
	}
	*pidp = pid;
	*pidfdp = pidfd;
	return 0;
}
