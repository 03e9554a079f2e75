/* The session spawner, supervisor side: starting it, asking it for session
 * processes without ever blocking the loop, and trusting none of its
 * answers. The process itself is spawner_proc.c.
 *
 * Why a spawner: moving a process into a cgroup (a write to cgroup.procs)
 * takes the kernel's cgroup_threadgroup_rwsem for writing, which waits for
 * an RCU grace period unless another writer came just before: ~8-15 ms for
 * a lone `planet exec` on this kind of host (docs/BENCHMARKS.md). A fork
 * inherits every cgroup and takes no such lock. So each box has one
 * process that already sits where every session process must go, and a
 * session costs a fork.
 *
 * Why asynchronous: the spawner sits in the box's cgroups, and the box can
 * freeze them. A request is written without waiting (the socket's buffer
 * holds several maximal requests), its answer is read when the socket is
 * readable, and a spawner that has not answered within REPLY_TIMEOUT_MS is
 * killed, thawed and replaced by the next request; its pending requests
 * fail. status, stop and other sessions never wait.
 *
 * Why the answers are checked: the box can reach a session process for
 * the few instructions between its clone and its closing of the socket,
 * so a reply may be forged. It must carry a pidfd (never a bare pid) of a
 * process that is this supervisor's own child (waitid on the pidfd), at
 * the box's pid-namespace depth, and neither init nor the spawner. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "cgroupns/cgroupns.h"
#include "config/config.h"
#include "enter/spawner_wire.h"

#define REPLY_TIMEOUT_MS 5000
#define SNDBUF (4 * PROTO_MAX_FRAME) /* several maximal requests at once */
#define STOP_POLL_MS 100
#define STOP_TRIES 10

struct inbox_wait {
	struct inbox_wait *next;
	uv_loop_t *loop;
	const struct enter_box *box;
	struct inbox_spawner **slot;
	struct strbuf req; /* spawn_hdr + EXEC payload */
	int fds[SPAWN_REQ_FDS];
	size_t nfds;
	inbox_spawned_cb cb; /* NULL once cancelled */
	void *ctx;
};

struct inbox_spawner {
	uv_loop_t *loop;
	const struct enter_box *box;
	struct inbox_spawner **slot; /* the server's pointer to us */
	pid_t pid;
	int pidfd, sock;
	uv_poll_t watch;
	uv_timer_t timer;
	struct inbox_wait *head, *tail; /* sent, answers due in this order */
	uint8_t buf[sizeof(struct spawn_reply)];
	size_t got;
	int got_fd;
	int handles;
	bool retired;
};

/* ---- the binary the spawner runs ------------------------------------------ */

/* A sealed memfd copy of our own binary, made once: what the spawner and
 * every session process run until their exec, so that /proc/PID/exe of a
 * process the box can see is no file of the host's. */
static int exe_fd = -1;

static int exe_memfd(struct perr *e)
{
	if (exe_fd >= 0)
		return exe_fd;
	_cleanup_fd_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return perr_set(e, errno, "open /proc/self/exe");
	_cleanup_fd_ int fd = memfd_create("planet", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return perr_set(e, errno, "memfd_create");
	ssize_t n;
	while ((n = sendfile(fd, src, NULL, 1 << 20)) > 0)
		;
	if (n < 0)
		return perr_set(e, errno, "copy /proc/self/exe");
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return perr_set(e, errno, "seal the spawner's binary");
	exe_fd = take_fd(&fd);
	return exe_fd;
}

/* ---- reaping without waiting ------------------------------------------------ */

struct reaper {
	uv_poll_t poll;
	int pidfd;
	struct reaper *next; /* the list of reapers still waiting */
};

static struct reaper *reapers;

static void reaper_closed(uv_handle_t *h)
{
	struct reaper *r = h->data;
	close(r->pidfd);
	free(r);
}

/* Done waiting (reaped, or given up at the server's close): off the list,
 * and freed by its close callback, which the loop runs before it ends. */
static void reaper_done(struct reaper *r)
{
	for (struct reaper **pp = &reapers; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	uv_close((uv_handle_t *)&r->poll, reaper_closed);
}

static bool reap(int pidfd)
{
	siginfo_t si = { 0 };
	return !(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0);
}

static void reaper_ready(uv_poll_t *h, int status, int events)
{
	struct reaper *r = h->data;
	if (reap(r->pidfd))
		reaper_done(r);
}

/* SIGKILL to a child of ours, reaped as soon as it is gone (a frozen one
 * may take until its thaw): a zombie of ours in the box's pid namespace
 * would keep its init from ever finishing its exit. Takes pidfd. */
static void kill_and_reap(uv_loop_t *loop, int pidfd)
{
	(void)pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	struct reaper *r = malloc(sizeof *r);
	if (r && uv_poll_init(loop, &r->poll, pidfd) == 0) {
		r->poll.data = r;
		r->pidfd = pidfd;
		r->next = reapers;
		reapers = r;
		uv_poll_start(&r->poll, UV_READABLE, reaper_ready);
		return;
	}
	free(r);
	(void)reap(pidfd);
	close(pidfd);
}

/* The server's close: every killed child still unreaped gets until the
 * deadline (thawing the box now and then: a frozen task ignores SIGKILL
 * on v1), then its reaper is closed whatever happened. */
static void reapers_finish(const struct cg_box *cg)
{
	for (int i = 0; reapers && i < STOP_TRIES; i++) {
		for (struct reaper *r = reapers, *next; r; r = next) {
			next = r->next;
			if (reap(r->pidfd))
				reaper_done(r);
		}
		if (!reapers)
			break;
		struct pollfd p = { .fd = reapers->pidfd, .events = POLLIN };
		(void)poll(&p, 1, STOP_POLL_MS);
		cg_box_thaw(cg);
	}
	while (reapers)
		reaper_done(reapers);
}

/* ---- pending requests -------------------------------------------------------- */

static void wait_free(struct inbox_wait *w)
{
	for (size_t i = 0; i < w->nfds; i++)
		close(w->fds[i]);
	sb_free(&w->req);
	free(w);
}

static void wait_done(struct inbox_wait *w, pid_t pid, int pidfd, const struct perr *e)
{
	if (w->cb)
		w->cb(w->ctx, pid, pidfd, e);
	else if (pidfd >= 0)
		kill_and_reap(w->loop, pidfd);
	wait_free(w);
}

void inbox_spawn_cancel(struct inbox_wait *w)
{
	if (w)
		w->cb = NULL;
}

/* ---- checking an answer ---------------------------------------------------- */

/* "Pid:" and the number of "NSpid:" levels of a pidfd, from its fdinfo. */
static int pidfd_info(int pidfd, pid_t *pid, int *levels)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (read_file_at(AT_FDCWD, path, 4096, &buf, &len, NULL) < 0)
		return -1;
	const char *p = strstr(buf, "\nPid:"), *ns = strstr(buf, "\nNSpid:");
	if (!p || !ns)
		return -1;
	*pid = (pid_t)strtol(p + 5, NULL, 10);
	*levels = 0;
	for (const char *q = ns + 7; *q && *q != '\n';) {
		q += strspn(q, " \t");
		if (*q < '0' || *q > '9')
			break;
		(*levels)++;
		q += strspn(q, "0123456789");
	}
	return 0;
}

static int reply_check(const struct inbox_spawner *sp, int pidfd, pid_t *pid, struct perr *e)
{
	pid_t init_pid;
	int levels, init_levels;
	siginfo_t si = { 0 };
	if (pidfd < 0)
		return perr_set(e, 0, "session spawner: an answer without a process");
	if (pidfd_info(pidfd, pid, &levels) < 0 ||
	    pidfd_info(sp->box->init_pidfd, &init_pid, &init_levels) < 0)
		return perr_set(e, errno, "session spawner: read the process's pidfd");
	if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return perr_set(e, 0, "session spawner: pid %d is not the supervisor's child",
				(int)*pid);
	if (*pid <= 1 || *pid == init_pid || *pid == sp->pid || levels != init_levels)
		return perr_set(e, 0, "session spawner: pid %d is not a new session process",
				(int)*pid);
	return 0;
}

/* ---- the spawner's lifetime ------------------------------------------------ */

static void spawner_closed(uv_handle_t *h)
{
	struct inbox_spawner *sp = h->data;
	if (--sp->handles == 0) {
		close(sp->sock);
		free(sp);
	}
}

/* Take a spawner out of service: killed, then thawed (the box may have
 * frozen it: the kill is pending before it can run again, so it cannot
 * clone anything more). What it still owed fails: it may have cloned the
 * process already, and a command must never run twice. */
static void retire(struct inbox_spawner *sp, const char *why)
{
	if (sp->retired)
		return;
	sp->retired = true;
	if (sp->slot && *sp->slot == sp)
		*sp->slot = NULL;
	if (sp->got_fd >= 0)
		close(sp->got_fd);
	kill_and_reap(sp->loop, sp->pidfd);
	cg_box_thaw(sp->box->cg);
	uv_close((uv_handle_t *)&sp->watch, spawner_closed);
	uv_close((uv_handle_t *)&sp->timer, spawner_closed);
	struct inbox_wait *w = sp->head;
	sp->head = sp->tail = NULL;
	while (w) {
		struct inbox_wait *next = w->next;
		struct perr e = { 0 };
		perr_set(&e, 0, "session spawner: %s", why);
		wait_done(w, 0, -1, &e);
		w = next;
	}
}

static void answer(struct inbox_spawner *sp, int pidfd)
{
	struct spawn_reply rep;
	memcpy(&rep, sp->buf, sizeof rep);
	rep.msg[sizeof rep.msg - 1] = 0;
	struct inbox_wait *w = sp->head;
	pid_t pid = 0;
	struct perr e = { 0 };
	if (!w) {
		/* A forged answer took this one's place: the process is ours
		 * all the same, and must be reaped (a zombie of ours in the box
		 * keeps its init from ever finishing its exit). */
		if (pidfd >= 0 && reply_check(sp, pidfd, &pid, &e) == 0)
			kill_and_reap(sp->loop, pidfd);
		else if (pidfd >= 0)
			close(pidfd);
		retire(sp, "an answer nobody asked for");
		return;
	}
	if (!(sp->head = w->next))
		sp->tail = NULL;
	if (sp->head)
		uv_timer_again(&sp->timer);
	else
		uv_timer_stop(&sp->timer);
	if (rep.err) {
		if (pidfd >= 0)
			close(pidfd);
		perr_set(&e, 0, "session spawner: %s", rep.msg);
		e.errnum = rep.err;
		wait_done(w, 0, -1, &e);
	} else if (reply_check(sp, pidfd, &pid, &e) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		wait_done(w, 0, -1, &e);
		retire(sp, "a forged answer");
	} else {
		wait_done(w, pid, pidfd, NULL);
	}
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct inbox_spawner *sp = h->data;
	while (!sp->retired) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct iovec iov = { sp->buf + sp->got, sizeof sp->buf - sp->got };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				    .msg_controllen = sizeof ctl.buf };
		ssize_t n = recvmsg(sp->sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			retire(sp, n ? strerror(errno) : "it died");
			return;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int *fds = (int *)CMSG_DATA(c);
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				if (sp->got_fd < 0)
					sp->got_fd = fds[i];
				else
					close(fds[i]);
			}
		}
		if ((sp->got += (size_t)n) < sizeof sp->buf)
			continue;
		int fd = sp->got_fd;
		sp->got = 0;
		sp->got_fd = -1;
		answer(sp, fd);
	}
}

static void on_timeout(uv_timer_t *t)
{
	retire(t->data, "no answer within 5 s (is the box frozen?)");
}

static int setup_send(int sock, const struct enter_box *box)
{
	const char *f = box->cfg->proxy_env_file ? box->cfg->proxy_env_file : "";
	uint32_t len = (uint32_t)strnlen(f, SPAWN_SETUP_MAX);
	if (write_all(sock, &len, sizeof len) < 0 || write_all(sock, f, len) < 0)
		return -1;
	return 0;
}

static int spawner_fork(struct inbox_spawner *sp, int memfd, struct perr *e)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return perr_set(e, errno, "session spawner socket");
	/* Signals blocked across the fork: libuv's handlers must never run in
	 * the child, which shares the loop's signal pipe. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t self = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		spawner_proc_start(sp->box, sv[1], memfd, self);
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	sp->sock = sv[0];
	if (pid < 0)
		return perr_set(e, err, "fork the session spawner");
	sp->pid = pid;
	if ((sp->pidfd = pidfd_open(pid, 0)) < 0) {
		err = errno;
		cleanup_childp(&pid);
		return perr_set(e, err, "pidfd_open");
	}
	int size = SNDBUF;
	(void)setsockopt(sp->sock, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
	if (setup_send(sp->sock, sp->box) < 0 || fcntl(sp->sock, F_SETFL, O_NONBLOCK) < 0)
		return perr_set(e, errno, "session spawner socket");
	return 0;
}

struct inbox_spawner *inbox_spawner_start(uv_loop_t *loop, const struct enter_box *box,
					  struct inbox_spawner **slot, struct perr *e)
{
	int memfd = exe_memfd(e);
	if (memfd < 0)
		return NULL;
	struct inbox_spawner *sp = calloc(1, sizeof *sp);
	if (!sp) {
		perr_set(e, ENOMEM, "session spawner");
		return NULL;
	}
	*sp = (struct inbox_spawner){ .loop = loop, .box = box, .slot = slot, .pidfd = -1,
				      .sock = -1, .got_fd = -1 };
	int err = 0;
	if (spawner_fork(sp, memfd, e) < 0 ||
	    (err = uv_poll_init(loop, &sp->watch, sp->sock)) < 0) {
		if (err)
			perr_set(e, -err, "session spawner");
		if (sp->pidfd >= 0)
			kill_and_reap(loop, sp->pidfd);
		if (sp->sock >= 0)
			close(sp->sock);
		free(sp);
		return NULL;
	}
	uv_timer_init(loop, &sp->timer);
	sp->watch.data = sp->timer.data = sp;
	sp->handles = 2;
	uv_poll_start(&sp->watch, UV_READABLE, on_readable);
	return sp;
}

/* At the server's close, before the box's cgroups go: the spawner is in
 * them. Bounded: a spawner the host itself stopped is left behind. */
void inbox_spawner_stop(struct inbox_spawner *sp, const struct enter_box *box)
{
	if (sp)
		retire(sp, "the box is stopping");
	reapers_finish(box->cg);
	/* made again for the next boot's spawner */
	if (exe_fd >= 0)
		close(exe_fd);
	exe_fd = -1;
}

/* ---- requests ------------------------------------------------------------- */

static int request_encode(struct inbox_wait *w, const struct inbox_req *r, struct perr *e)
{
	struct spawn_hdr h = { .flags = (r->tty ? SPAWN_REQ_TTY : 0) |
					(r->stdio[0] >= 0 ? SPAWN_REQ_STDIN : 0) |
					(!r->tty && r->stdio[1] < 0 ? SPAWN_REQ_NOOUT : 0) |
					(r->x->copy ? SPAWN_REQ_COPY : 0) };
	if (sb_append(&w->req, (const char *)&h, sizeof h) < 0 || proto_put_exec(&w->req, r->x) < 0)
		return perr_set(e, ENOMEM, "session request");
	/* The frame header goes: the spawner reads the bare EXEC payload. */
	size_t plen = w->req.len - sizeof h - PROTO_HDR;
	memmove(w->req.s + sizeof h, w->req.s + sizeof h + PROTO_HDR, plen);
	w->req.len = sizeof h + plen;
	h.len = (uint32_t)plen;
	memcpy(w->req.s, &h, sizeof h);
	int fds[SPAWN_REQ_FDS];
	size_t n = 0;
	if (r->tty) {
		fds[n++] = r->stdio[0];
	} else {
		for (int i = 0; i < 3; i++)
			if (r->stdio[i] >= 0)
				fds[n++] = r->stdio[i];
	}
	fds[n++] = r->status_w;
	for (size_t i = 0; i < n; i++) {
		if ((w->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return perr_set(e, errno, "session request");
		w->nfds = i + 1;
	}
	return 0;
}

/* All of it at once or not at all: a spawner that cannot take a request
 * now is not reading (frozen, stopped): the request waits for the next. */
static int request_send(struct inbox_spawner *sp, struct inbox_wait *w, struct perr *e)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SPAWN_REQ_FDS)];
	} ctl = { 0 };
	struct iovec iov = { w->req.s, w->req.len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * w->nfds) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * w->nfds);
	memcpy(CMSG_DATA(c), w->fds, sizeof(int) * w->nfds);
	ssize_t n;
	while ((n = sendmsg(sp->sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)w->req.len)
		return 0;
	int err = n < 0 ? errno : EAGAIN;
	/* Nothing or a part of it went: the spawner is not reading, or the
	 * stream is no longer in step. It cannot have acted on this request:
	 * the caller may send it to another. */
	retire(sp, n > 0 ? "a request only partly sent" : strerror(err));
	return perr_set(e, err, "session spawner");
}

static int submit(struct inbox_wait *w, struct perr *e)
{
	struct inbox_spawner *sp = *w->slot;
	if (!sp && !(sp = *w->slot = inbox_spawner_start(w->loop, w->box, w->slot, e)))
		return -1;
	if (request_send(sp, w, e) < 0)
		return -1;
	w->next = NULL;
	if (sp->tail)
		sp->tail->next = w;
	else
		sp->head = w;
	sp->tail = w;
	if (!uv_is_active((uv_handle_t *)&sp->timer))
		uv_timer_start(&sp->timer, on_timeout, REPLY_TIMEOUT_MS, REPLY_TIMEOUT_MS);
	return 0;
}

int inbox_spawn(uv_loop_t *loop, const struct inbox_req *r, inbox_spawned_cb cb, void *ctx,
		struct inbox_wait **wp, struct perr *e)
{
	struct inbox_wait *w = calloc(1, sizeof *w);
	if (!w)
		return perr_set(e, ENOMEM, "session request");
	*w = (struct inbox_wait){ .loop = loop, .box = r->box, .slot = r->spawner, .cb = cb,
				  .ctx = ctx };
	if (request_encode(w, r, e) < 0) {
		wait_free(w);
		return -1;
	}
	/* A spawner that failed to take it (it died while idle) is replaced
	 * once: the second submit goes to a new one. */
	int rc = submit(w, e);
	if (rc < 0)
		rc = submit(w, e);
	if (rc < 0) {
		wait_free(w);
		return -1;
	}
	*wp = w;
	return 0;
}
